#include <merkql/coding.h>
#include <merkql/file_cache.h>
#include <merkql/filename.h>
#include <merkql/format.h>
#include <merkql/json_text.h>
#include <merkql/log_block.h>
#include <merkql/partition.h>
#include <merkql/partition_meta.h>
#include <merkql/segment.h>

#include <fmt/format.h>

#include <algorithm>
#include <system_error>
#include <thread>

namespace merkql {

using namespace format;

namespace {

// The segment's size is set ahead of the log (docs/FORMAT.md §Segment), so
// that a batch is written inside the file and its fdatasync commits no size
// change. The space set ahead grows with the segment, from 64 KiB to 4 MiB,
// so a partition holding little takes little; it is trimmed when the
// segment is rolled and when a writer closes the partition.
constexpr uint64_t k_min_preallocation = 64ull << 10;
constexpr uint64_t k_max_preallocation = 4ull << 20;

} // namespace

Partition::Partition(Env* env, std::string dir, std::string topic, uint32_t id,
                     PartitionOptions options)
  : m_env(env), m_dir(std::move(dir)), m_topic(std::move(topic)), m_id(id), m_options(options),
    m_files(m_options.file_cache ? m_options.file_cache : std::make_shared<FileCache>(env)),
    m_access(m_options.repair == Repair::never ? Access::read_only : Access::read_write),
    m_head_path(head_file(m_dir)), m_index_path(index_file(m_dir)), m_tree_path(tree_file(m_dir)),
    m_retention(m_options.retention), m_segment_bytes(m_options.segment_bytes),
    m_max_records(m_options.retention.max_records.value_or(0))
{}

RetentionConfig Partition::retention()
{
  std::lock_guard guard(m_mutex);
  return m_retention;
}

uint64_t Partition::segment_bytes()
{
  std::lock_guard guard(m_mutex);
  return m_segment_bytes;
}

void Partition::set_retention(const RetentionConfig& retention, uint64_t segment_bytes)
{
  std::lock_guard guard(m_mutex);
  m_retention = retention;
  m_segment_bytes = segment_bytes;
  m_max_records = retention.max_records.value_or(0);
}

Partition::~Partition()
{
  std::lock_guard guard(m_mutex);
  if (m_preallocated_segment != UINT32_MAX && m_tail.valid
      && m_tail.segment == m_preallocated_segment) {
    // Trim what this process set ahead of the log's end. Not while another
    // writer appends: only when the lock is free now. If another writer
    // appended since, its bytes follow m_tail's end and nothing is cut.
    std::unique_ptr<FileLock> held;
    bool locked = false;
    if (m_lock) {
      locked = m_lock->lock(LockMode::exclusive, Wait::no).is_ok();
    } else {
      auto lock = m_env->lock_file(partition_lock_file(m_dir), LockMode::exclusive, Wait::no);
      locked = lock.is_ok();
      if (locked) {
        held = std::move(*lock);
      }
    }
    if (locked) {
      release_preallocation(m_tail.segment, m_tail.segment_end);
      if (m_lock) {
        m_lock->unlock();
      }
    }
  }
  if (m_lock_kept) {
    m_files->release_lock();
  }
}

Status PartitionOptions::validate() const
{
  if (segment_bytes < k_min_segment_bytes || segment_bytes > k_max_segment_bytes) {
    return Status::invalid_argument(
      fmt::format("segment size must be between {} and {} bytes, not {}", k_min_segment_bytes,
                  k_max_segment_bytes, segment_bytes));
  }
  if (retention.max_records && *retention.max_records == 0) {
    return Status::invalid_argument("retention must keep at least one record");
  }
  if (retention.max_bytes && *retention.max_bytes == 0) {
    return Status::invalid_argument("retention must keep at least one byte");
  }
  if (retention.max_age_ms && *retention.max_age_ms > static_cast<uint64_t>(INT64_MAX / 1000000)) {
    return Status::invalid_argument(
      fmt::format("retention age must be at most {} ms", INT64_MAX / 1000000));
  }
  if (retention.max_age_ms && *retention.max_age_ms == 0) {
    return Status::invalid_argument("retention must keep records for at least 1 ms");
  }
  return Status::ok();
}

Result<std::unique_ptr<Partition>> Partition::open(Env* env, std::string dir, std::string topic,
                                                   uint32_t id, PartitionOptions options)
{
  MERKQL_TRY(options.validate());
  std::unique_ptr<Partition> p(new Partition(env, std::move(dir), std::move(topic), id, options));
  MERKQL_TRY(p->open_files());
  // Cheap consistency check; a crash leftover is repaired under the lock.
  MERKQL_ASSIGN_OR_RETURN(auto head, p->read_head());
  bool consistent = false;
  if (head) {
    MERKQL_ASSIGN_OR_RETURN(consistent, p->head_matches_files(*head));
  }
  if (!consistent && options.repair == Repair::on_open) {
    // Usually a writer in another process is mid-append; wait for it (writers
    // hold the lock only for one batch) and repair whatever is left.
    std::lock_guard guard(p->m_mutex);
    MERKQL_ASSIGN_OR_RETURN(
      auto lock, env->lock_file(partition_lock_file(p->m_dir), LockMode::exclusive, Wait::yes));
    MERKQL_TRY(p->refresh_tail());
  } else if (!consistent) {
    // Change nothing, but tell damage from what a crash leaves.
    MERKQL_TRY(p->check_log(head));
  }
  return p;
}

Status Partition::open_files()
{
  if (m_access == Access::read_only) {
    // Look only: check the headers of the files there are; a partition
    // never written has none and reads as empty.
    for (const auto& [path, magic] :
         {std::pair{&m_index_path, k_index_magic}, std::pair{&m_tree_path, k_tree_magic}}) {
      auto file = m_files->get(*path, Access::read_only);
      if (!file.is_ok() && file.status().is_not_found()) {
        continue;
      }
      MERKQL_TRY(file.status());
      MERKQL_ASSIGN_OR_RETURN(uint64_t size, (*file)->size());
      if (size >= k_file_header_size) {
        MERKQL_TRY(check_file_header(file->get(), magic));
      }
    }
    return Status::ok();
  }
  bool created = false;
  MERKQL_TRY(open_with_header(*m_files, m_index_path, k_index_magic, &created).status());
  MERKQL_TRY(open_with_header(*m_files, m_tree_path, k_tree_magic, &created).status());
  bool head_created = !m_env->exists(m_head_path);
  MERKQL_TRY(m_files->get(m_head_path, Access::read_write, Create::if_missing).status());
  if (created || head_created) {
    MERKQL_TRY(m_env->sync_dir(m_dir));
  }
  return Status::ok();
}

Result<std::shared_ptr<File>> Partition::file(const std::string& path)
{
  return m_files->get(path, m_access);
}

// The size of a file with a 16-byte header, less the header; 0 when it is
// missing (a partition that a look-only open found never written).
Result<uint64_t> Partition::entries_bytes(const std::string& path)
{
  auto f = file(path);
  if (!f.is_ok() && f.status().is_not_found() && m_access == Access::read_only) {
    return uint64_t{0};
  }
  MERKQL_TRY(f.status());
  MERKQL_ASSIGN_OR_RETURN(uint64_t size, (*f)->size());
  return size < k_file_header_size ? 0 : size - k_file_header_size;
}

Result<std::unique_ptr<FileLock>> Partition::lock()
{
  return m_env->lock_file(partition_lock_file(m_dir), LockMode::exclusive, m_options.lock_wait);
}

Result<std::optional<PartitionHead>> Partition::read_head()
{
  auto file = this->file(m_head_path);
  if (!file.is_ok() && file.status().is_not_found()) {
    return std::optional<PartitionHead>{};
  }
  MERKQL_TRY(file.status());
  char buf[2 * k_head_slot_size];
  MERKQL_ASSIGN_OR_RETURN(size_t got, (*file)->read_at(0, sizeof buf, buf));
  auto head = decode_head(std::string_view(buf, got));
  if (head) {
    uint64_t seen = m_seen_log_start.load();
    while (head->log_start > seen
           && !m_seen_log_start.compare_exchange_weak(seen, head->log_start)) {
    }
  }
  return head;
}

Status Partition::write_head()
{
  PartitionHead next;
  next.sequence = m_tail.sequence + 1;
  next.next_offset = m_tail.tree.size();
  next.segment = m_tail.segment;
  next.segment_end = m_tail.segment_end;
  next.low_peaks = low_peak_hashes(m_tail.tree.peaks());
  next.log_start = m_tail.log_start;
  MERKQL_ASSIGN_OR_RETURN(auto head, file(m_head_path));
  MERKQL_TRY(head->write_at(head_slot_position(next.sequence), encode_head_slot(next)));
  m_tail.sequence = next.sequence;
  return Status::ok();
}

Result<PartitionHead> Partition::head()
{
  MERKQL_ASSIGN_OR_RETURN(auto head, read_head());
  if (!head) {
    return PartitionHead{};
  }
  return std::move(*head);
}

Result<uint64_t> Partition::next_offset()
{
  MERKQL_ASSIGN_OR_RETURN(PartitionHead h, head());
  return h.next_offset;
}

uint64_t Partition::watermark_for(uint64_t next_offset) const
{
  const uint64_t max_records = m_max_records.load();
  const uint64_t by_count =
    max_records != 0 && next_offset > max_records ? next_offset - max_records : 0;
  return std::min(next_offset, std::max(by_count, m_seen_log_start.load()));
}

Result<uint64_t> Partition::watermark()
{
  MERKQL_ASSIGN_OR_RETURN(uint64_t next, next_offset());
  return watermark_for(next);
}

Result<uint64_t> Partition::tree_node_count()
{
  MERKQL_ASSIGN_OR_RETURN(uint64_t bytes, entries_bytes(m_tree_path));
  return bytes / k_tree_node_size;
}

Result<uint64_t> Partition::index_entry_count()
{
  MERKQL_ASSIGN_OR_RETURN(uint64_t bytes, entries_bytes(m_index_path));
  return bytes / k_index_entry_size;
}

Result<IndexEntry> Partition::index_entry(uint64_t chunk)
{
  char buf[k_index_entry_size];
  MERKQL_ASSIGN_OR_RETURN(auto index, file(m_index_path));
  MERKQL_TRY(index->read_exact(index_entry_position(chunk), sizeof buf, buf));
  return decode_index_entry(buf);
}

Result<Hash> Partition::stored_node(const NodeId& node)
{
  char buf[k_tree_node_size];
  MERKQL_ASSIGN_OR_RETURN(auto tree, file(m_tree_path));
  MERKQL_TRY(tree->read_exact(tree_byte_position(tree_position(node)), sizeof buf, buf));
  return decode_hash(buf);
}

Result<std::vector<Peak>> Partition::high_peaks(uint64_t chunks)
{
  std::vector<Peak> peaks;
  for (const NodeId& node : peaks_of(chunks * k_chunk_records)) {
    MERKQL_ASSIGN_OR_RETURN(Hash h, stored_node(node));
    peaks.push_back(Peak{node, h});
  }
  return peaks;
}

Result<std::vector<Peak>> Partition::peaks_at(const PartitionHead& head)
{
  MERKQL_ASSIGN_OR_RETURN(std::vector<Peak> peaks, high_peaks(head.next_offset / k_chunk_records));
  size_t i = 0;
  for (const NodeId& node : peaks_of(head.next_offset)) {
    if (node.height < k_chunk_height) {
      peaks.push_back(Peak{node, head.low_peaks[i++]});
    }
  }
  return peaks;
}

Result<std::shared_ptr<File>> Partition::open_active_segment(uint32_t segment, Create create)
{
  const std::string path = segment_file(m_dir, segment);
  if (m_known_segment != segment) {
    const bool existed = m_env->exists(path);
    MERKQL_ASSIGN_OR_RETURN(auto opened, m_files->get(path, Access::read_write, create));
    if (!existed) {
      MERKQL_TRY(m_env->sync_dir(m_dir));
    }
    m_known_segment = segment;
    return opened;
  }
  return m_files->get(path, Access::read_write, create);
}

void Partition::forget_segment(uint32_t segment)
{
  m_files->forget(segment_file(m_dir, segment));
  if (m_known_segment == segment) {
    m_known_segment = UINT32_MAX;
  }
}

Status Partition::sync_tree_and_index()
{
  MERKQL_ASSIGN_OR_RETURN(auto tree_file, file(m_tree_path));
  MERKQL_TRY(tree_file->sync());
  MERKQL_ASSIGN_OR_RETURN(auto index_file, file(m_index_path));
  return index_file->sync();
}

uint64_t Partition::keep_from(uint64_t next_offset, uint64_t log_start) const
{
  const uint64_t max_records = m_max_records.load();
  const uint64_t by_count =
    max_records != 0 && next_offset > max_records ? next_offset - max_records : 0;
  return std::max(by_count / k_chunk_records * k_chunk_records, log_start);
}

Status PendingAppend::sync()
{
  return m_segment_file->sync();
}

Status Partition::lock_for_append()
{
  if (!m_lock) {
    MERKQL_ASSIGN_OR_RETURN(m_lock, m_env->open_lock(partition_lock_file(m_dir)));
    m_lock_kept = m_files->try_keep_lock();
  }
  Status locked = m_lock->lock(LockMode::exclusive, m_options.lock_wait);
  if (!locked.is_ok() && !m_lock_kept) {
    m_lock.reset();
  }
  return locked;
}

void Partition::unlock_after_append()
{
  m_lock->unlock();
  if (!m_lock_kept) {
    m_lock.reset(); // no handle left to keep: open it again next time
  }
}

Result<std::vector<AppendedRecord>> Partition::append(const std::vector<AppendInput>& records)
{
  if (records.empty()) {
    return std::vector<AppendedRecord>{};
  }
  PendingAppend pending;
  MERKQL_TRY(begin_append(records, pending));
  hash_append(pending);
  Status synced = pending.sync();
  return finish_append(pending, std::move(synced));
}

Result<std::shared_ptr<File>> Partition::prepare_segment(uint32_t segment, uint64_t pos,
                                                         uint64_t bytes, bool roll)
{
  std::shared_ptr<File> active;
  if (roll) {
    MERKQL_TRY(sync_tree_and_index()); // bound recovery to the active segment
    // The closed segment ends at its last block (best effort: a size left
    // ahead reads as zero bytes, which end a segment's blocks too).
    release_preallocation(m_tail.segment, m_tail.segment_end);
    // A roll that crashed may have left this segment: HEAD acknowledges
    // nothing in it, so it starts empty.
    const std::string path = segment_file(m_dir, segment);
    const bool existed = m_env->exists(path);
    MERKQL_ASSIGN_OR_RETURN(active, m_files->get(path, Access::read_write, Create::if_missing));
    if (existed) {
      MERKQL_TRY(active->truncate(0));
    } else {
      MERKQL_TRY(m_env->sync_dir(m_dir));
    }
    m_known_segment = segment;
  } else {
    MERKQL_ASSIGN_OR_RETURN(active, open_active_segment(segment, Create::if_missing));
  }
  if (m_preallocated_segment != segment) {
    m_preallocated_segment = segment;
    m_preallocated_end = 0;
  }
  if (pos + bytes > m_preallocated_end) {
    // Best effort: space set ahead keeps fdatasync cheap, but a nearly full
    // disk may still hold this batch, so a failed reservation is no error
    // (the write itself reports a real lack of space). Never past the
    // segment size: retention's bound counts allocated space.
    uint64_t want = std::max<uint64_t>(
      bytes, std::min(std::clamp<uint64_t>(pos + bytes, k_min_preallocation, k_max_preallocation),
                      m_segment_bytes > pos ? m_segment_bytes - pos : 0));
    // The batch is then written inside the file; what lies past the log
    // reads as zero bytes, which never parse as a block.
    if (!active->preallocate(pos, want).is_ok()) {
      want = bytes;
      if (!active->preallocate(pos, want).is_ok()) {
        want = 0;
      }
    }
    m_preallocated_end = pos + want;
  }
  return active;
}

Status Partition::begin_append(const std::vector<AppendInput>& records, PendingAppend& pending)
{
  for (const AppendInput& r : records) {
    const uint64_t size = r.value.size() + (r.key ? r.key->size() : 0);
    if (size > k_max_record_bytes) {
      return Status::invalid_argument(fmt::format(
        "a record of {} bytes is larger than the {} byte limit", size, k_max_record_bytes));
    }
    // The record hash defines keys and values as UTF-8 strings
    // (docs/FORMAT.md §Record hash): other bytes could not be carried by a
    // proof, so they are refused here, where every writer passes.
    if ((r.key && !is_valid_utf8(*r.key)) || !is_valid_utf8(r.value)) {
      return Status::invalid_argument(
        fmt::format("a record's {} is not valid UTF-8 text",
                    r.key && !is_valid_utf8(*r.key) ? "key" : "value"));
    }
  }
  std::unique_lock guard(m_mutex);
  MERKQL_TRY(lock_for_append());
  Status begun = [&]() -> Status {
    MERKQL_TRY(refresh_tail());
    pending.m_first = m_tail.tree.size();
    const int64_t now = m_env->now_ns();
    std::vector<StoredRecordView>& views = pending.m_views;
    views.resize(records.size());
    for (size_t i = 0; i < records.size(); ++i) {
      views[i].key = records[i].key;
      views[i].value = records[i].value;
      views[i].timestamp = records[i].timestamp.value_or(now);
      views[i].value_is_json = records[i].value_is_json;
    }

    std::string out;
    pending.m_block_starts =
      encode_batch(views, pending.m_first, m_options.compression, m_options.block_bytes, out);
    if (out.size() > k_max_batch_bytes) {
      return Status::invalid_argument(
        fmt::format("a batch of {} bytes is larger than the 1 GiB limit", out.size()));
    }

    // Roll to a new segment when this batch would overflow the active one.
    uint32_t segment = m_tail.segment;
    uint64_t pos = m_tail.segment_end;
    const bool roll = pos > 0 && pos + out.size() > m_segment_bytes;
    if (roll) {
      if (segment >= k_max_segment) {
        return Status::invalid_argument(fmt::format("{}: no more segment numbers", m_dir));
      }
      ++segment;
      pos = 0;
    }
    MERKQL_ASSIGN_OR_RETURN(auto active, prepare_segment(segment, pos, out.size(), roll));
    pending.m_segment_file = active;
    pending.m_segment = segment;
    pending.m_pos = pos;
    pending.m_bytes = out.size();
    pending.m_roll = roll;
    pending.m_hashed = false;
    Status written = active->write_at(pos, out);
    if (!written.is_ok()) {
      take_back(pending);
    }
    return written;
  }();
  if (!begun.is_ok()) {
    unlock_after_append();
    return begun;
  }
  pending.m_guard = std::move(guard);
  return Status::ok();
}

namespace {

// Below this many records a batch is hashed on the calling thread alone: a
// thread costs ~30 us to start, the hashes of 2,048 records ~600 us.
constexpr size_t k_split_hash_records = 2048;

// Record hash and leaf hash of views[k] (offset first + k) for k in
// [begin, end), into appended[k] and leaves[k].
void hash_records(std::string_view topic, uint32_t partition,
                  const std::vector<StoredRecordView>& views, uint64_t first, size_t begin,
                  size_t end, std::vector<AppendedRecord>& appended, std::vector<Hash>& leaves)
{
  Sha256 sha;
  RecordHasher hasher(topic, partition);
  for (size_t k = begin; k < end; ++k) {
    const uint64_t offset = first + k;
    const Hash rh = hasher.hash(views[k], offset, sha);
    appended[k] = AppendedRecord{offset, views[k].timestamp, rh};
    leaves[k] = leaf_hash(rh, offset, sha); // hasher.leaf, keeping the record hash for the ack
  }
}

} // namespace

void Partition::hash_append(PendingAppend& pending)
{
  const std::vector<StoredRecordView>& views = pending.m_views;
  const uint64_t first = pending.m_first;
  std::vector<AppendedRecord>& appended = pending.m_appended;
  std::vector<Hash>& leaves = pending.m_leaves;
  appended.resize(views.size());
  leaves.resize(views.size());
  // Each record's hashes depend on that record alone, so a large batch is
  // hashed in two halves, one on a thread of its own: the writer of
  // `merkql produce` spent half its time here while the second core mostly
  // waited (1M lines of the bench workload on 2 cores: 0.62 s before, 0.49 s
  // after).
  const size_t half = views.size() >= k_split_hash_records ? views.size() / 2 : 0;
  std::thread first_half;
  if (half != 0) {
    try {
      first_half = std::thread(hash_records, std::string_view(m_topic), m_id, std::cref(views),
                               first, 0, half, std::ref(appended), std::ref(leaves));
    } catch (const std::system_error&) {
      hash_records(m_topic, m_id, views, first, 0, half, appended, leaves); // no thread
    }
  }
  hash_records(m_topic, m_id, views, first, half, views.size(), appended, leaves);
  if (first_half.joinable()) {
    first_half.join();
  }

  // Fold the leaves into the tree in order; stored nodes and index entries
  // follow the log.
  const auto& block_starts = pending.m_block_starts;
  std::string& tree_out = pending.m_tree_out;
  std::string& index_out = pending.m_index_out;
  pending.m_tree_before = m_tail.tree;
  tree_out.clear();
  index_out.clear();
  size_t block = 0;
  const auto on_node = collect_stored_nodes(tree_out);
  for (size_t k = 0; k < views.size(); ++k) {
    while (block + 1 < block_starts.size() && block_starts[block + 1].first <= k) {
      ++block;
    }
    const uint64_t offset = first + k;
    if (offset % k_chunk_records == 0) {
      put_index_entry(index_out,
                      IndexEntry{pending.m_segment, pending.m_pos + block_starts[block].second});
    }
    m_tail.tree.append(leaves[k], m_sha, on_node);
  }
  pending.m_hashed = true;
}

void Partition::take_back(PendingAppend& pending)
{
  // Not acknowledged: take the bytes back so the batch never appears. If
  // that fails too, the next append of this object retries it.
  m_tail.unacknowledged_bytes = true;
  if (pending.m_segment == m_tail.segment
      && pending.m_segment_file->truncate(pending.m_pos).is_ok()) {
    m_tail.unacknowledged_bytes = false;
  }
  m_preallocated_segment = UINT32_MAX; // the size set ahead went with them
  if (pending.m_hashed) {
    m_tail.tree = std::move(pending.m_tree_before);
    pending.m_hashed = false;
  }
}

Result<std::vector<AppendedRecord>> Partition::finish_append(PendingAppend& pending, Status synced)
{
  std::unique_lock guard(std::move(pending.m_guard));
  struct Unlock {
    Partition* p;
    ~Unlock() { p->unlock_after_append(); }
  } unlock{this};
  if (!synced.is_ok()) {
    take_back(pending);
    return synced;
  }
  if (!pending.m_hashed) {
    hash_append(pending);
  }
  // From here the batch is durable: a failure leaves it for recovery.
  Status published = [&]() -> Status {
    const uint64_t first = pending.m_first;
    if (!pending.m_tree_out.empty()) {
      MERKQL_ASSIGN_OR_RETURN(auto tree_file, file(m_tree_path));
      MERKQL_TRY(tree_file->write_at(
        tree_byte_position(tree_nodes_for_chunks(first / k_chunk_records)), pending.m_tree_out));
    }
    if (!pending.m_index_out.empty()) {
      MERKQL_ASSIGN_OR_RETURN(auto index_file, file(m_index_path));
      MERKQL_TRY(
        index_file->write_at(index_entry_position(index_entries_for(first)), pending.m_index_out));
    }
    const uint64_t chunks_before = first / k_chunk_records;
    const uint64_t chunks_after = m_tail.tree.size() / k_chunk_records;
    if (chunks_before / k_tree_sync_chunks != chunks_after / k_tree_sync_chunks) {
      MERKQL_TRY(sync_tree_and_index());
    }
    m_tail.segment = pending.m_segment;
    m_tail.segment_end = pending.m_pos + pending.m_bytes;
    return write_head();
  }();
  if (!published.is_ok()) {
    m_tail.valid = false;
    return published;
  }
  if ((pending.m_roll || m_retention_waits) && m_retention.limited()) {
    // The batch is acknowledged whatever happens here: a failure leaves
    // the segments for the next roll or compact() to remove.
    Status enforced = enforce_retention().status();
    if (!enforced.is_ok() && m_retention_error.is_ok()) {
      m_retention_error = enforced;
    }
  }
  return std::move(pending.m_appended);
}

Result<Record> Partition::read(uint64_t offset)
{
  MERKQL_ASSIGN_OR_RETURN(uint64_t next, next_offset());
  if (offset >= next) {
    return Status::not_found(
      fmt::format("offset {} is not in {}/{} ({} records)", offset, m_topic, m_id, next));
  }
  PartitionReader reader(this);
  std::vector<Record> out;
  MERKQL_TRY(reader.read(offset, offset + 1, 1, out).status());
  if (out.empty()) {
    return Status::not_found(
      fmt::format("offset {} of {}/{} is no longer stored", offset, m_topic, m_id));
  }
  return std::move(out.front());
}

} // namespace merkql
