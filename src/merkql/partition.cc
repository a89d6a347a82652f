#include <merkql/coding.h>
#include <merkql/file_cache.h>
#include <merkql/filename.h>
#include <merkql/json_text.h>
#include <merkql/partition.h>
#include <merkql/record_format.h>

#include <fmt/format.h>

#include <algorithm>
#include <bit>

namespace merkql {

using namespace format;

namespace {

// Reserving disk ahead of the log keeps each batch's fdatasync from
// allocating blocks. The reservation grows with the segment, from 64 KiB to
// 4 MiB, so a partition holding little reserves little; it is released when
// the segment is rolled and when a writer closes the partition.
constexpr uint64_t k_min_preallocation = 64ull << 10;
constexpr uint64_t k_max_preallocation = 4ull << 20;

std::string file_header(uint32_t magic)
{
  std::string out;
  put_u32(out, magic);
  put_u32(out, k_format_version);
  put_u64(out, 0);
  return out;
}

Status check_file_header(File* file, uint32_t magic)
{
  char buf[k_file_header_size];
  MERKQL_TRY(file->read_exact(0, sizeof buf, buf));
  if (get_u32(buf) != magic) {
    return Status::corruption(fmt::format("{}: not a merkql file (bad magic)", file->path()));
  }
  if (get_u32(buf + 4) != k_format_version) {
    return Status::corruption(
      fmt::format("{}: unsupported format version {}", file->path(), get_u32(buf + 4)));
  }
  return Status::ok();
}

// Opens a file with a fixed header, writing the header if the file is new.
Result<std::shared_ptr<File>> open_with_header(FileCache& files, const std::string& path,
                                               uint32_t magic, bool* created)
{
  MERKQL_ASSIGN_OR_RETURN(auto file, files.get(path, Access::read_write, Create::if_missing));
  MERKQL_ASSIGN_OR_RETURN(uint64_t size, file->size());
  if (size < k_file_header_size) {
    MERKQL_TRY(file->truncate(0));
    MERKQL_TRY(file->write_at(0, file_header(magic)));
    MERKQL_TRY(file->sync());
    *created = true;
  } else {
    MERKQL_TRY(check_file_header(file.get(), magic));
  }
  return file;
}

Hash hash_from(const char* p)
{
  Hash h;
  std::memcpy(h.data(), p, 32);
  return h;
}

// Hash of the perfect subtree over leaves[first, first + 2^height).
Hash subtree_hash(const std::vector<Hash>& leaves, uint64_t base_offset, size_t first,
                  uint32_t height, Sha256& ctx)
{
  if (height == 0) {
    return leaves[first];
  }
  const size_t half = size_t{1} << (height - 1);
  Hash left = subtree_hash(leaves, base_offset, first, height - 1, ctx);
  Hash right = subtree_hash(leaves, base_offset, first + half, height - 1, ctx);
  return branch_hash(left, right, base_offset + first, base_offset + first + 2 * half - 1, ctx);
}

} // namespace

uint64_t tree_position(const NodeId& node)
{
  const uint64_t level = node.height - k_chunk_height;
  const uint64_t last_chunk = ((node.index + 1) << level) - 1;
  return 2 * last_chunk - static_cast<uint64_t>(std::popcount(last_chunk)) + level;
}

uint64_t tree_nodes_for_chunks(uint64_t chunks)
{
  return 2 * chunks - static_cast<uint64_t>(std::popcount(chunks));
}

Partition::Partition(Env* env, std::string dir, std::string topic, uint32_t id,
                     PartitionOptions options)
  : m_env(env), m_dir(std::move(dir)), m_topic(std::move(topic)), m_id(id), m_options(options),
    m_files(m_options.file_cache ? m_options.file_cache : std::make_shared<FileCache>(env)),
    m_access(m_options.repair == Repair::never ? Access::read_only : Access::read_write),
    m_head_path(head_file(m_dir)), m_index_path(index_file(m_dir)), m_tree_path(tree_file(m_dir))
{}

Partition::~Partition()
{
  if (m_preallocated_segment == UINT32_MAX) {
    return;
  }
  // Give back what this process reserved past the log's end. Trimming must
  // not race another writer's append, so only when the lock is free now.
  std::lock_guard guard(m_mutex);
  auto lock = m_env->lock_file(partition_lock_file(m_dir), LockMode::exclusive, Wait::no);
  if (lock.is_ok()) {
    release_preallocation(m_preallocated_segment);
  }
}

void Partition::release_preallocation(uint32_t segment)
{
  if (segment != m_preallocated_segment) {
    return;
  }
  auto file = m_files->get(segment_file(m_dir, segment), Access::read_write);
  if (file.is_ok()) {
    (void)(*file)->trim_preallocation(); // best effort, as the reservation was
  }
  m_preallocated_segment = UINT32_MAX;
  m_preallocated_end = 0;
}

Result<std::unique_ptr<Partition>> Partition::open(Env* env, std::string dir, std::string topic,
                                                   uint32_t id, PartitionOptions options)
{
  if (options.segment_bytes < k_min_segment_bytes || options.segment_bytes > k_max_segment_bytes) {
    return Status::invalid_argument(
      fmt::format("segment size must be between {} and {} bytes, not {}", k_min_segment_bytes,
                  k_max_segment_bytes, options.segment_bytes));
  }
  if (options.max_records && *options.max_records == 0) {
    return Status::invalid_argument("retention must keep at least one record");
  }
  std::unique_ptr<Partition> p(new Partition(env, std::move(dir), std::move(topic), id, options));
  MERKQL_TRY(p->open_files());
  // Cheap consistency check; a crash leftover is repaired under the lock.
  MERKQL_ASSIGN_OR_RETURN(auto head, p->read_head());
  bool consistent = false;
  if (head) {
    auto seg_size = env->file_size(segment_file(p->m_dir, head->segment));
    if (!seg_size.is_ok() && !seg_size.status().is_not_found()) {
      return seg_size.status();
    }
    const uint64_t log_size = seg_size.is_ok() ? *seg_size : 0;
    MERKQL_ASSIGN_OR_RETURN(uint64_t nodes, p->tree_node_count());
    MERKQL_ASSIGN_OR_RETURN(uint64_t entries, p->index_entry_count());
    const uint64_t chunks = head->next_offset / k_chunk_records;
    const uint64_t started = (head->next_offset + k_chunk_records - 1) / k_chunk_records;
    consistent = log_size == head->segment_end && nodes == tree_nodes_for_chunks(chunks)
                 && entries == started && !env->exists(segment_file(p->m_dir, head->segment + 1));
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
  std::optional<PartitionHead> best;
  for (size_t slot = 0; slot < 2; ++slot) {
    if (got < (slot + 1) * k_head_slot_size) {
      break;
    }
    const char* p = buf + slot * k_head_slot_size;
    if (get_u32(p) != k_head_magic || get_u32(p + 4) != k_format_version
        || get_u32(p + k_head_slot_size - 4) != crc32c(p, k_head_slot_size - 4)) {
      continue;
    }
    PartitionHead h;
    h.sequence = get_u64(p + 8);
    h.next_offset = get_u64(p + 16);
    h.segment = get_u32(p + 24);
    h.segment_end = get_u64(p + 32);
    const uint8_t count = static_cast<uint8_t>(p[40]);
    if (count != std::popcount(h.next_offset % k_chunk_records)) {
      continue;
    }
    for (uint8_t i = 0; i < count; ++i) {
      h.low_peaks.push_back(hash_from(p + 41 + 32 * i));
    }
    if (!best || h.sequence > best->sequence) {
      best = std::move(h);
    }
  }
  return best;
}

Status Partition::write_head()
{
  const uint64_t sequence = m_tail.sequence + 1;
  std::string slot;
  slot.reserve(k_head_slot_size);
  put_u32(slot, k_head_magic);
  put_u32(slot, k_format_version);
  put_u64(slot, sequence);
  put_u64(slot, m_tail.tree.size());
  put_u32(slot, m_tail.segment);
  put_u32(slot, 0);
  put_u64(slot, m_tail.segment_end);
  std::vector<const Peak*> low;
  for (const Peak& peak : m_tail.tree.peaks()) {
    if (peak.node.height < k_chunk_height) {
      low.push_back(&peak);
    }
  }
  slot.push_back(static_cast<char>(low.size()));
  for (const Peak* peak : low) {
    slot.append(reinterpret_cast<const char*>(peak->hash.data()), 32);
  }
  slot.resize(k_head_slot_size - 4, '\0');
  put_u32(slot, crc32c(slot));
  MERKQL_ASSIGN_OR_RETURN(auto head, file(m_head_path));
  MERKQL_TRY(head->write_at((sequence % 2) * k_head_slot_size, slot));
  m_tail.sequence = sequence;
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
  if (m_options.max_records && next_offset > *m_options.max_records) {
    return next_offset - *m_options.max_records;
  }
  return 0;
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

Result<std::pair<uint32_t, uint64_t>> Partition::index_entry(uint64_t chunk)
{
  char buf[k_index_entry_size];
  MERKQL_ASSIGN_OR_RETURN(auto index, file(m_index_path));
  MERKQL_TRY(index->read_exact(k_file_header_size + chunk * k_index_entry_size, sizeof buf, buf));
  return std::pair<uint32_t, uint64_t>{get_u32(buf), get_u32(buf + 4)};
}

Result<Hash> Partition::stored_node(const NodeId& node)
{
  char buf[32];
  MERKQL_ASSIGN_OR_RETURN(auto tree, file(m_tree_path));
  MERKQL_TRY(
    tree->read_exact(k_file_header_size + tree_position(node) * k_tree_node_size, 32, buf));
  return hash_from(buf);
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

Status Partition::refresh_tail()
{
  MERKQL_ASSIGN_OR_RETURN(auto head, read_head());
  if (head && m_tail.valid && head->sequence == m_tail.sequence) {
    if (m_tail.unacknowledged_bytes) {
      // Nobody wrote since our failed append: its bytes are ours to drop.
      MERKQL_ASSIGN_OR_RETURN(auto active, open_active_segment(m_tail.segment, Create::no));
      MERKQL_TRY(active->truncate(m_tail.segment_end));
      const std::string next = segment_file(m_dir, m_tail.segment + 1);
      if (m_env->exists(next)) {
        forget_segment(m_tail.segment + 1);
        MERKQL_TRY(m_env->remove(next));
      }
      m_tail.unacknowledged_bytes = false;
    }
    auto size = m_env->file_size(segment_file(m_dir, m_tail.segment));
    if (!size.is_ok() && !size.status().is_not_found()) {
      return size.status();
    }
    if (size.is_ok() && *size == m_tail.segment_end
        && !m_env->exists(segment_file(m_dir, m_tail.segment + 1))) {
      return Status::ok();
    }
  }
  m_tail.valid = false;
  // Another process moved the tail: what this process holds open may be a
  // segment that recovery since removed, so look the files up again.
  for (uint32_t s : {m_tail.segment, head ? head->segment : m_tail.segment}) {
    forget_segment(s);
    forget_segment(s + 1);
  }
  if (head) {
    const uint64_t chunks = head->next_offset / k_chunk_records;
    const uint64_t started = (head->next_offset + k_chunk_records - 1) / k_chunk_records;
    MERKQL_ASSIGN_OR_RETURN(uint64_t nodes, tree_node_count());
    MERKQL_ASSIGN_OR_RETURN(uint64_t entries, index_entry_count());
    auto size = m_env->file_size(segment_file(m_dir, head->segment));
    if (!size.is_ok() && !size.status().is_not_found()) {
      return size.status();
    }
    if (size.is_ok() && *size == head->segment_end && nodes == tree_nodes_for_chunks(chunks)
        && entries == started && !m_env->exists(segment_file(m_dir, head->segment + 1))) {
      MERKQL_ASSIGN_OR_RETURN(std::vector<Peak> peaks, peaks_at(*head));
      m_tail.tree = MerkleAccumulator(head->next_offset, std::move(peaks));
      m_tail.sequence = head->sequence;
      m_tail.segment = head->segment;
      m_tail.segment_end = head->segment_end;
      m_tail.valid = true;
      return Status::ok();
    }
  }
  return recover(head);
}

// Rebuilds the tail from the last point INDEX and TREE agree on, scanning the
// log forward over complete batches and cutting off anything after them.
Status Partition::recover(const std::optional<PartitionHead>& head)
{
  MERKQL_TRY(check_log(head));
  MERKQL_ASSIGN_OR_RETURN(uint64_t nodes, tree_node_count());
  MERKQL_ASSIGN_OR_RETURN(uint64_t entries, index_entry_count());
  uint64_t tree_chunks = 0;
  while (tree_nodes_for_chunks(tree_chunks + 1) <= nodes) {
    ++tree_chunks;
  }
  uint64_t start_chunk = std::min(tree_chunks, entries > 0 ? entries - 1 : 0);
  uint32_t segment = 0;
  uint64_t pos = 0;
  if (entries > 0) {
    MERKQL_ASSIGN_OR_RETURN(auto entry, index_entry(start_chunk));
    segment = entry.first;
    pos = entry.second;
  } else {
    MERKQL_ASSIGN_OR_RETURN(auto lowest, lowest_segment());
    segment = lowest.value_or(0);
  }
  const uint64_t start_offset = start_chunk * k_chunk_records;
  MERKQL_ASSIGN_OR_RETURN(std::vector<Peak> peaks, high_peaks(start_chunk));
  MerkleAccumulator tree(start_offset, std::move(peaks));
  MERKQL_ASSIGN_OR_RETURN(auto tree_file, file(m_tree_path));
  MERKQL_ASSIGN_OR_RETURN(auto index_file, file(m_index_path));

  std::string tree_out;
  std::string index_out;
  uint32_t committed_segment = segment;
  uint64_t committed_end = pos;
  std::optional<uint64_t> expected;
  struct Pending {
    uint32_t segment;
    uint64_t pos;
    std::string bytes;
  };
  std::vector<Pending> pending;
  std::string header_buf(k_block_header_size, '\0');
  std::string scratch;
  std::vector<StoredRecordView> views;

  std::unique_ptr<File> file;
  std::optional<uint32_t> file_segment; // the segment `file` holds open
  // Where the scan stopped short of a valid block, and why; the end of the
  // log when it ran out cleanly.
  std::optional<std::string> stopped_because;
  uint32_t stop_segment = 0;
  uint64_t stop_pos = 0;
  for (;;) {
    if (file_segment != segment) {
      if (segment > k_max_segment) {
        return Status::corruption(
          fmt::format("{}: INDEX names segment {}, beyond the last possible one", m_dir, segment));
      }
      auto opened = m_env->open_read_only(segment_file(m_dir, segment));
      if (!opened.is_ok()) {
        if (opened.status().is_not_found() && (expected || entries == 0)) {
          break; // the log ends in the previous segment, or is empty
        }
        if (opened.status().is_not_found()) {
          return Status::corruption(
            fmt::format("{}: recovery must start in segment {}, which is missing", m_dir, segment));
        }
        return opened.status();
      }
      file = std::move(opened).value();
      file_segment = segment;
    }
    MERKQL_ASSIGN_OR_RETURN(size_t got, file->read_at(pos, k_block_header_size, header_buf.data()));
    if (got == 0 && m_env->exists(segment_file(m_dir, segment + 1))) {
      ++segment;
      pos = 0;
      continue;
    }
    stop_segment = segment;
    stop_pos = pos;
    if (got == 0) {
      break; // the end of the log
    }
    auto header = parse_block_header(std::string_view(header_buf.data(), got));
    if (!header) {
      stopped_because = "no valid block header";
      break;
    }
    if (expected && header->first_offset != *expected) {
      stopped_because = fmt::format("a block starting at offset {} where offset {} belongs",
                                    header->first_offset, *expected);
      break;
    }
    // The header's size is checked against the file before it sizes an
    // allocation: a damaged header must not cost a gigabyte.
    MERKQL_ASSIGN_OR_RETURN(uint64_t file_size, file->size());
    if (header->total_size() > file_size - std::min(file_size, pos)) {
      stopped_because = fmt::format("a block of {} bytes cut short after {}", header->total_size(),
                                    file_size - std::min(file_size, pos));
      break;
    }
    std::string block(header->total_size(), '\0');
    MERKQL_ASSIGN_OR_RETURN(size_t block_got, file->read_at(pos, block.size(), block.data()));
    if (block_got != block.size()) {
      stopped_because =
        fmt::format("a block of {} bytes cut short after {}", block.size(), block_got);
      break;
    }
    if (!block_checksum_ok(block)) {
      stopped_because = "a block that fails its checksum";
      break;
    }
    if (!expected && header->first_offset > start_offset) {
      return Status::corruption(
        fmt::format("{}: INDEX entry {} points at a block starting at offset {}", m_dir,
                    start_chunk, header->first_offset));
    }
    expected = header->first_offset + header->record_count;
    pending.push_back(Pending{segment, pos, std::move(block)});
    pos += header->total_size();
    if (!header->is_batch_end()) {
      continue;
    }
    // A complete batch: hash it into the tree.
    for (const Pending& b : pending) {
      auto h = parse_block_header(b.bytes);
      MERKQL_TRY(decode_block(b.bytes, scratch, views));
      for (uint32_t i = 0; i < h->record_count; ++i) {
        const uint64_t offset = h->first_offset + i;
        if (offset < tree.size()) {
          continue;
        }
        if (offset % k_chunk_records == 0) {
          put_u32(index_out, b.segment);
          put_u32(index_out, static_cast<uint32_t>(b.pos));
        }
        Record r{views[i].key ? std::optional<std::string>(std::string(*views[i].key))
                              : std::nullopt,
                 std::string(views[i].value),
                 m_topic,
                 m_id,
                 offset,
                 views[i].timestamp};
        Hash leaf = leaf_hash(record_hash(r, m_sha), offset, m_sha);
        tree.append(leaf, m_sha, [&](const NodeId& node, const Hash& hash) {
          if (node.height >= k_chunk_height) {
            tree_out.append(reinterpret_cast<const char*>(hash.data()), 32);
          }
        });
      }
    }
    pending.clear();
    committed_segment = segment;
    committed_end = pos;
  }
  file.reset();

  // HEAD's end was synced before HEAD was written, so whatever stops the
  // scan before it is damage, never a crash leftover: report it and change
  // nothing. Past HEAD's end lies only what a crash can leave (a batch that
  // was synced but never published, or a torn one), which is cut.
  const std::pair<uint32_t, uint64_t> acknowledged_end =
    head ? std::pair(head->segment, head->segment_end) : std::pair(uint32_t{0}, uint64_t{0});
  if (std::pair(committed_segment, committed_end) < acknowledged_end) {
    return Status::corruption(fmt::format(
      "{}: the log breaks at segment {} position {} ({}), before the end HEAD acknowledges "
      "(segment {} position {}); nothing was changed",
      m_dir, stop_segment, stop_pos, stopped_because.value_or("the log ends there"),
      acknowledged_end.first, acknowledged_end.second));
  }
  // Cut everything after the last complete batch.
  MERKQL_ASSIGN_OR_RETURN(auto active, open_active_segment(committed_segment, Create::if_missing));
  MERKQL_ASSIGN_OR_RETURN(uint64_t seg_size, active->size());
  if (seg_size < committed_end) {
    return Status::corruption(fmt::format("{}: segment {} shrank to {} bytes during recovery",
                                          m_dir, committed_segment, seg_size));
  }
  if (seg_size != committed_end) {
    MERKQL_TRY(active->truncate(committed_end));
    MERKQL_TRY(active->sync());
  }
  bool removed = false;
  for (uint32_t s = committed_segment + 1; m_env->exists(segment_file(m_dir, s)); ++s) {
    forget_segment(s);
    MERKQL_TRY(m_env->remove(segment_file(m_dir, s)));
    removed = true;
  }
  if (removed) {
    MERKQL_TRY(m_env->sync_dir(m_dir));
  }
  // TREE and INDEX are rebuilt from the scan's start only now that the log
  // is known sound: damage found above leaves every file as it was.
  MERKQL_TRY(tree_file->truncate(k_file_header_size
                                 + tree_nodes_for_chunks(start_chunk) * k_tree_node_size));
  MERKQL_TRY(index_file->truncate(k_file_header_size + start_chunk * k_index_entry_size));
  MERKQL_TRY(tree_file->write_at(
    k_file_header_size + tree_nodes_for_chunks(start_chunk) * k_tree_node_size, tree_out));
  MERKQL_TRY(
    index_file->write_at(k_file_header_size + start_chunk * k_index_entry_size, index_out));
  MERKQL_TRY(tree_file->sync());
  MERKQL_TRY(index_file->sync());
  m_tail.tree = std::move(tree);
  m_tail.segment = committed_segment;
  m_tail.segment_end = committed_end;
  m_tail.sequence = head ? head->sequence : 0;
  m_tail.valid = true;
  MERKQL_TRY(write_head());
  MERKQL_ASSIGN_OR_RETURN(auto head_file, this->file(m_head_path));
  return head_file->sync();
}

uint64_t Partition::keep_from(uint64_t next_offset) const
{
  return watermark_for(next_offset) / k_chunk_records * k_chunk_records;
}

Result<std::vector<uint32_t>> Partition::segment_ids()
{
  MERKQL_ASSIGN_OR_RETURN(auto names, m_env->list_dir(m_dir));
  std::vector<uint32_t> ids;
  for (const std::string& name : names) {
    if (auto id = parse_segment_file_name(name)) {
      ids.push_back(*id);
    }
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

Status Partition::check_log(const std::optional<PartitionHead>& head)
{
  MERKQL_ASSIGN_OR_RETURN(std::vector<uint32_t> segments, segment_ids());
  if (!head) {
    // HEAD gets its first slot (synced) before the first append, and keeps
    // its size from then on; so log data with no valid HEAD is damage.
    uint64_t bytes = 0;
    for (uint32_t s : segments) {
      auto size = m_env->file_size(segment_file(m_dir, s));
      bytes += size.is_ok() ? *size : 0;
    }
    if (bytes > 0) {
      return Status::corruption(
        fmt::format("{}: HEAD has no valid slot, but the log holds {} bytes; nothing was changed",
                    m_dir, bytes));
    }
    return Status::ok();
  }
  if (head->next_offset == 0 && head->segment_end == 0 && segments.empty()) {
    return Status::ok();
  }
  const std::string active = segment_file(m_dir, head->segment);
  auto size = m_env->file_size(active);
  if (!size.is_ok()) {
    if (size.status().is_not_found()) {
      return Status::corruption(
        fmt::format("{}: segment {} is missing, but HEAD acknowledges {} bytes of it ({} records "
                    "in all); nothing was changed",
                    m_dir, head->segment, head->segment_end, head->next_offset));
    }
    return size.status();
  }
  if (*size < head->segment_end) {
    return Status::corruption(
      fmt::format("{}: segment {} is {} bytes, but HEAD acknowledges {} ({} records in all): the "
                  "log was cut short; nothing was changed",
                  m_dir, head->segment, *size, head->segment_end, head->next_offset));
  }
  // Segments are numbered without gaps from the lowest kept one; only
  // compaction removes segments, and only whole ones below the watermark.
  MERKQL_ASSIGN_OR_RETURN(const std::optional<uint64_t> first, lowest_segment_start(segments));
  const uint32_t lowest = segments.front();
  for (uint32_t s = lowest, k = 0; s <= head->segment; ++s, ++k) {
    if (k >= segments.size() || segments[k] != s) {
      return Status::corruption(
        fmt::format("{}: segment {} is missing between segments {} and {}; nothing was changed",
                    m_dir, s, lowest, head->segment));
    }
  }
  if (lowest > 0) {
    uint64_t keep = keep_from(head->next_offset);
    if (first && *first > keep) {
      // Compaction in another process may have acted on a newer head.
      MERKQL_ASSIGN_OR_RETURN(auto newer, read_head());
      keep = newer ? std::max(keep, keep_from(newer->next_offset)) : keep;
    }
    if (!first || *first > keep) {
      return Status::corruption(fmt::format(
        "{}: segments below {} are missing, but {}; nothing was changed", m_dir, lowest,
        m_options.max_records
          ? fmt::format("retention keeps offsets from {} and segment {} starts at {}", keep, lowest,
                        first ? std::to_string(*first) : std::string("no valid block"))
          : std::string("the topic has no retention")));
    }
  }
  return Status::ok();
}

Result<std::optional<uint64_t>> Partition::lowest_segment_start(std::vector<uint32_t>& segments)
{
  // Compaction in another process may remove the lowest segment between
  // listing and reading it: then list again.
  for (int attempt = 0;; ++attempt) {
    MERKQL_ASSIGN_OR_RETURN(auto first, segment_first_offset(segments.front()));
    if (first || attempt == 100 || m_env->exists(segment_file(m_dir, segments.front()))) {
      return first;
    }
    MERKQL_ASSIGN_OR_RETURN(std::vector<uint32_t> again, segment_ids());
    if (again.empty()) {
      return first;
    }
    segments = std::move(again);
  }
}

Result<std::optional<uint64_t>> Partition::segment_first_offset(uint32_t segment)
{
  auto file = m_env->open_read_only(segment_file(m_dir, segment));
  if (!file.is_ok()) {
    if (file.status().is_not_found()) {
      return std::optional<uint64_t>{};
    }
    return file.status();
  }
  char buf[k_block_header_size];
  MERKQL_ASSIGN_OR_RETURN(size_t got, (*file)->read_at(0, sizeof buf, buf));
  auto header = parse_block_header(std::string_view(buf, got));
  if (!header) {
    return std::optional<uint64_t>{};
  }
  return std::optional<uint64_t>{header->first_offset};
}

Result<std::optional<uint32_t>> Partition::lowest_segment()
{
  MERKQL_ASSIGN_OR_RETURN(auto names, m_env->list_dir(m_dir));
  std::optional<uint32_t> lowest;
  for (const std::string& name : names) {
    if (auto id = parse_segment_file_name(name)) {
      if (!lowest || *id < *lowest) {
        lowest = *id;
      }
    }
  }
  return lowest;
}

Result<std::vector<AppendedRecord>> Partition::append(const std::vector<AppendInput>& records)
{
  if (records.empty()) {
    return std::vector<AppendedRecord>{};
  }
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
  std::lock_guard guard(m_mutex);
  MERKQL_ASSIGN_OR_RETURN(auto lock_held, lock());
  MERKQL_TRY(refresh_tail());

  const uint64_t first = m_tail.tree.size();
  const int64_t now = m_env->now_ns();
  std::vector<StoredRecordView> views(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    views[i].key = records[i].key;
    views[i].value = records[i].value;
    views[i].timestamp = records[i].timestamp.value_or(now);
    views[i].value_is_json = records[i].value_is_json;
  }

  // Lay out blocks of at most block_bytes raw bytes each.
  std::string out;
  std::vector<std::pair<size_t, uint64_t>> block_starts; // (first record index, byte position)
  size_t i = 0;
  while (i < records.size()) {
    size_t j = i;
    size_t raw = 0;
    while (j < records.size()) {
      // At most 10 bytes of timestamp delta and 5 + 5 of lengths (records are < 2^35 B).
      size_t size = records[j].value.size() + (records[j].key ? records[j].key->size() : 0) + 20;
      if (j > i && (raw + size > m_options.block_bytes || j - i == k_max_block_records)) {
        break;
      }
      raw += size;
      ++j;
    }
    block_starts.emplace_back(i, out.size());
    encode_block(views.data() + i, j - i, first + i, m_options.compression, j == records.size(),
                 out);
    i = j;
  }
  if (out.size() > (1ull << 30)) {
    return Status::invalid_argument(
      fmt::format("a batch of {} bytes is larger than the 1 GiB limit", out.size()));
  }

  // Roll to a new segment when this batch would overflow the active one.
  uint32_t segment = m_tail.segment;
  uint64_t pos = m_tail.segment_end;
  if (pos > 0 && pos + out.size() > m_options.segment_bytes) {
    if (segment >= k_max_segment) {
      return Status::invalid_argument(fmt::format("{}: no more segment numbers", m_dir));
    }
    ++segment;
    pos = 0;
    MERKQL_TRY(sync_tree_and_index()); // bound recovery to the active segment
    release_preallocation(m_tail.segment);
  }
  MERKQL_ASSIGN_OR_RETURN(auto active, open_active_segment(segment, Create::if_missing));
  if (m_preallocated_segment != segment) {
    m_preallocated_segment = segment;
    m_preallocated_end = 0;
  }
  if (pos + out.size() > m_preallocated_end) {
    // Best effort: reserving ahead keeps fdatasync cheap, but a nearly full
    // disk may still hold this batch, so a failed reservation is no error
    // (the write itself reports a real lack of space).
    uint64_t want = std::max<uint64_t>(
      out.size(), std::clamp<uint64_t>(pos + out.size(), k_min_preallocation, k_max_preallocation));
    if (!active->preallocate(pos, want).is_ok()) {
      want = out.size();
      if (!active->preallocate(pos, want).is_ok()) {
        want = 0;
      }
    }
    m_preallocated_end = pos + want;
  }
  Status written = active->write_at(pos, out);
  if (written.is_ok()) {
    written = active->sync();
  }
  if (!written.is_ok()) {
    // Not acknowledged: take the bytes back so the batch never appears. If
    // that fails too, the next append of this object retries it.
    m_tail.unacknowledged_bytes = true;
    if (segment == m_tail.segment && active->truncate(pos).is_ok()) {
      m_tail.unacknowledged_bytes = false;
    }
    return written;
  }

  // Hash into the tree; stored nodes and index entries follow the log.
  std::vector<AppendedRecord> appended(records.size());
  std::string tree_out;
  std::string index_out;
  const uint64_t tree_base = tree_nodes_for_chunks(first / k_chunk_records);
  size_t block = 0;
  Record r;
  r.topic = m_topic;
  r.partition = m_id;
  for (size_t k = 0; k < records.size(); ++k) {
    while (block + 1 < block_starts.size() && block_starts[block + 1].first <= k) {
      ++block;
    }
    const uint64_t offset = first + k;
    if (offset % k_chunk_records == 0) {
      put_u32(index_out, segment);
      put_u32(index_out, static_cast<uint32_t>(pos + block_starts[block].second));
    }
    if (records[k].key) {
      r.key = std::string(*records[k].key);
    } else {
      r.key.reset();
    }
    r.value.assign(records[k].value);
    r.offset = offset;
    r.timestamp = views[k].timestamp;
    Hash rh = record_hash(r, m_sha);
    appended[k] = AppendedRecord{offset, r.timestamp, rh};
    m_tail.tree.append(leaf_hash(rh, offset, m_sha), m_sha,
                       [&](const NodeId& node, const Hash& hash) {
                         if (node.height >= k_chunk_height) {
                           tree_out.append(reinterpret_cast<const char*>(hash.data()), 32);
                         }
                       });
  }
  if (!tree_out.empty()) {
    MERKQL_ASSIGN_OR_RETURN(auto tree_file, file(m_tree_path));
    MERKQL_TRY(tree_file->write_at(k_file_header_size + tree_base * k_tree_node_size, tree_out));
  }
  if (!index_out.empty()) {
    const uint64_t started = (first + k_chunk_records - 1) / k_chunk_records;
    MERKQL_ASSIGN_OR_RETURN(auto index_file, file(m_index_path));
    MERKQL_TRY(index_file->write_at(k_file_header_size + started * k_index_entry_size, index_out));
  }
  const uint64_t chunks_before = first / k_chunk_records;
  const uint64_t chunks_after = m_tail.tree.size() / k_chunk_records;
  if (chunks_before / k_tree_sync_chunks != chunks_after / k_tree_sync_chunks) {
    MERKQL_TRY(sync_tree_and_index());
  }
  m_tail.segment = segment;
  m_tail.segment_end = pos + out.size();
  MERKQL_TRY(write_head());
  return appended;
}

Result<std::optional<Hash>> Partition::merkle_root()
{
  MERKQL_ASSIGN_OR_RETURN(PartitionHead h, head());
  std::lock_guard guard(m_mutex);
  MERKQL_ASSIGN_OR_RETURN(std::vector<Peak> peaks, peaks_at(h));
  return fold_peaks(peaks, m_sha);
}

Result<std::vector<Hash>> Partition::chunk_leaves(uint64_t chunk, uint64_t tree_size)
{
  const uint64_t first = chunk * k_chunk_records;
  const uint64_t end = std::min(first + k_chunk_records, tree_size);
  std::vector<Hash> leaves;
  PartitionReader reader(this);
  Record r;
  r.topic = m_topic;
  r.partition = m_id;
  MERKQL_TRY(reader.scan(first, end, [&](uint64_t offset, const StoredRecordView& v) {
    r.key = v.key ? std::optional<std::string>(std::string(*v.key)) : std::nullopt;
    r.value.assign(v.value);
    r.offset = offset;
    r.timestamp = v.timestamp;
    leaves.push_back(leaf_hash(record_hash(r, m_sha), offset, m_sha));
    return true;
  }));
  if (leaves.size() != end - first) {
    return Status::not_found(fmt::format("records {}..{} of {}/{} are no longer stored (compacted)",
                                         first, end - 1, m_topic, m_id));
  }
  return leaves;
}

Result<Hash> Partition::node_hash(const NodeId& node, uint64_t tree_size,
                                  std::vector<Hash>& leaf_cache, uint64_t& leaf_cache_chunk)
{
  if (node.height >= k_chunk_height) {
    return stored_node(node);
  }
  const uint64_t chunk = node.min_offset() / k_chunk_records;
  if (leaf_cache_chunk != chunk) {
    MERKQL_ASSIGN_OR_RETURN(leaf_cache, chunk_leaves(chunk, tree_size));
    leaf_cache_chunk = chunk;
  }
  const uint64_t base = chunk * k_chunk_records;
  return subtree_hash(leaf_cache, base, static_cast<size_t>(node.min_offset() - base), node.height,
                      m_sha);
}

Result<std::optional<Hash>> Partition::merkle_root_at(uint64_t tree_size)
{
  MERKQL_ASSIGN_OR_RETURN(uint64_t next, next_offset());
  if (tree_size > next) {
    return Status::not_found(
      fmt::format("{}/{} has {} records, not {}", m_topic, m_id, next, tree_size));
  }
  std::lock_guard guard(m_mutex);
  std::vector<Hash> cache;
  uint64_t cache_chunk = UINT64_MAX;
  std::vector<Peak> peaks;
  for (const NodeId& node : peaks_of(tree_size)) {
    MERKQL_ASSIGN_OR_RETURN(Hash h, node_hash(node, tree_size, cache, cache_chunk));
    peaks.push_back(Peak{node, h});
  }
  return fold_peaks(peaks, m_sha);
}

Result<InclusionProof> Partition::proof(uint64_t offset, std::optional<uint64_t> tree_size)
{
  MERKQL_ASSIGN_OR_RETURN(uint64_t next, next_offset());
  const uint64_t n = tree_size.value_or(next);
  if (n > next) {
    return Status::not_found(fmt::format("{}/{} has {} records, not {}", m_topic, m_id, next, n));
  }
  if (offset >= n) {
    return Status::not_found(
      fmt::format("offset {} is not in {}/{} ({} records)", offset, m_topic, m_id, n));
  }
  std::lock_guard guard(m_mutex);
  std::vector<Hash> cache;
  uint64_t cache_chunk = UINT64_MAX;
  NodeId leaf{0, offset};
  MERKQL_ASSIGN_OR_RETURN(Hash leaf_h, node_hash(leaf, n, cache, cache_chunk));
  return make_proof(
    offset, n, leaf_h, [&](const NodeId& node) { return node_hash(node, n, cache, cache_chunk); },
    m_sha);
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

Result<CompactResult> Partition::compact()
{
  std::lock_guard guard(m_mutex);
  MERKQL_ASSIGN_OR_RETURN(auto lock_held, lock());
  MERKQL_TRY(refresh_tail());
  CompactResult result;
  const uint64_t keep_from = watermark_for(m_tail.tree.size()) / k_chunk_records * k_chunk_records;
  MERKQL_ASSIGN_OR_RETURN(auto lowest, lowest_segment());
  if (!lowest || keep_from == 0) {
    return result;
  }
  // The tree, index and HEAD must be durable before the records they
  // summarise go: after power loss HEAD must not name a removed segment.
  MERKQL_TRY(sync_tree_and_index());
  MERKQL_ASSIGN_OR_RETURN(auto head_file, file(m_head_path));
  MERKQL_TRY(head_file->sync());
  for (uint32_t s = *lowest; s < m_tail.segment; ++s) {
    // Segment s may go when the next segment starts at or below keep_from.
    MERKQL_ASSIGN_OR_RETURN(auto next_first, segment_first_offset(s + 1));
    if (!next_first || *next_first > keep_from) {
      break;
    }
    const std::string path = segment_file(m_dir, s);
    auto size = m_env->file_size(path);
    if (!size.is_ok() && size.status().is_not_found()) {
      continue; // already gone
    }
    MERKQL_TRY(size.status());
    forget_segment(s);
    MERKQL_TRY(m_env->remove(path));
    result.segments_removed++;
    result.bytes_reclaimed += *size;
  }
  if (result.segments_removed) {
    MERKQL_TRY(m_env->sync_dir(m_dir));
  }
  return result;
}

Result<PartitionUsage> Partition::usage()
{
  PartitionUsage u;
  MERKQL_ASSIGN_OR_RETURN(PartitionHead h, head());
  const uint64_t keep = keep_from(h.next_offset);
  MERKQL_ASSIGN_OR_RETURN(auto names, m_env->list_dir(m_dir));
  std::vector<std::pair<uint32_t, uint64_t>> segments;
  for (const std::string& name : names) {
    auto stat = m_env->stat(m_dir + "/" + name);
    if (!stat.is_ok() || stat->type != FileStat::Type::regular) {
      continue;
    }
    u.allocated_bytes += stat->allocated_bytes;
    const uint64_t size = stat->size;
    if (auto id = parse_segment_file_name(name)) {
      u.records_bytes += size;
      segments.emplace_back(*id, size);
    } else if (name == "INDEX") {
      u.index_bytes += size;
    } else if (name == "TREE") {
      u.tree_bytes += size;
    } else {
      u.metadata_bytes += size;
    }
  }
  std::sort(segments.begin(), segments.end());
  for (size_t k = 0; k + 1 < segments.size(); ++k) {
    MERKQL_ASSIGN_OR_RETURN(auto next_first, segment_first_offset(segments[k + 1].first));
    if (!next_first || *next_first > keep) {
      break;
    }
    u.reclaimable_bytes += segments[k].second;
  }
  return u;
}

// ---------------------------------------------------------------------------

PartitionReader::PartitionReader(Partition* partition) : m_partition(partition) {}
PartitionReader::~PartitionReader() = default;

Status PartitionReader::open_segment(uint32_t segment)
{
  if (m_segment_open && m_segment == segment) {
    return Status::ok();
  }
  auto file =
    m_partition->m_files->get(segment_file(m_partition->m_dir, segment), Access::read_only);
  if (!file.is_ok()) {
    return file.status();
  }
  m_segment_file = std::move(file).value();
  m_segment = segment;
  m_segment_open = true;
  return Status::ok();
}

Status PartitionReader::load_block()
{
  MERKQL_TRY(open_segment(m_block_segment));
  char header_buf[k_block_header_size];
  MERKQL_ASSIGN_OR_RETURN(size_t got,
                          m_segment_file->read_at(m_block_pos, sizeof header_buf, header_buf));
  if (got == 0) {
    // End of this segment: the log continues in the next one.
    m_block_segment++;
    m_block_pos = 0;
    MERKQL_TRY(open_segment(m_block_segment));
    MERKQL_ASSIGN_OR_RETURN(got, m_segment_file->read_at(0, sizeof header_buf, header_buf));
  }
  auto header = parse_block_header(std::string_view(header_buf, got));
  if (!header) {
    return Status::corruption(
      fmt::format("{}: no valid block header at position {}", m_segment_file->path(), m_block_pos));
  }
  MERKQL_ASSIGN_OR_RETURN(uint64_t file_size, m_segment_file->size());
  if (header->total_size() > file_size - std::min(file_size, m_block_pos)) {
    return Status::corruption(
      fmt::format("{}: the block at position {} claims {} bytes, past the end of the file ({})",
                  m_segment_file->path(), m_block_pos, header->total_size(), file_size));
  }
  m_block_bytes.resize(header->total_size());
  MERKQL_TRY(m_segment_file->read_exact(m_block_pos, m_block_bytes.size(), m_block_bytes.data()));
  if (!block_checksum_ok(m_block_bytes)) {
    return Status::corruption(fmt::format("{}: checksum mismatch in the block at position {} "
                                          "(offsets {}..{})",
                                          m_segment_file->path(), m_block_pos, header->first_offset,
                                          header->first_offset + header->record_count - 1));
  }
  Status decoded = decode_block(m_block_bytes, m_scratch, m_records);
  if (!decoded.is_ok()) {
    return Status::corruption(fmt::format("{}: block at position {}: {}", m_segment_file->path(),
                                          m_block_pos, decoded.message()));
  }
  m_block_first = header->first_offset;
  m_block_size = header->total_size();
  m_have_block = true;
  return Status::ok();
}

Status PartitionReader::seek(uint64_t offset)
{
  if (m_have_block && offset >= m_block_first && offset < m_block_first + m_records.size()) {
    return Status::ok();
  }
  if (m_have_block && offset == m_block_first + m_records.size()) {
    m_block_pos += m_block_size;
  } else {
    MERKQL_ASSIGN_OR_RETURN(auto entry, m_partition->index_entry(offset / format::k_chunk_records));
    m_block_segment = entry.first;
    m_block_pos = entry.second;
  }
  m_have_block = false;
  for (int guard = 0;; ++guard) {
    Status loaded = load_block();
    if (loaded.is_not_found()) {
      // A missing segment: compaction removed it, or it is damage.
      MERKQL_ASSIGN_OR_RETURN(uint64_t next, m_partition->next_offset());
      const uint64_t keep = m_partition->keep_from(next);
      if (offset < keep) {
        return Status::not_found(
          fmt::format("offset {} of {}/{} is no longer stored (compacted below the retention "
                      "watermark, {})",
                      offset, m_partition->m_topic, m_partition->m_id, keep));
      }
      return Status::corruption(fmt::format(
        "{}/{}: segment {}, which holds offset {}, is missing ({})", m_partition->m_topic,
        m_partition->m_id, m_block_segment, offset,
        m_partition->m_options.max_records ? fmt::format("retention keeps offsets from {}", keep)
                                           : std::string("the topic has no retention")));
    }
    MERKQL_TRY(loaded);
    if (offset < m_block_first) {
      return Status::corruption(fmt::format("{}/{}: the index points past offset {}",
                                            m_partition->m_topic, m_partition->m_id, offset));
    }
    if (offset < m_block_first + m_records.size()) {
      return Status::ok();
    }
    m_block_pos += m_block_size;
  }
}

Status PartitionReader::scan(uint64_t offset, uint64_t end,
                             const std::function<bool(uint64_t, const StoredRecordView&)>& fn)
{
  // Between calls the reader keeps its place but no open file, so that a
  // consumer of thousands of partitions holds no descriptor for each.
  struct Release {
    PartitionReader* reader;
    ~Release()
    {
      reader->m_segment_file.reset();
      reader->m_segment_open = false;
    }
  } release{this};
  while (offset < end) {
    MERKQL_TRY(seek(offset));
    for (uint64_t k = offset - m_block_first; k < m_records.size() && offset < end; ++k) {
      if (!fn(offset, m_records[k])) {
        return Status::ok();
      }
      ++offset;
    }
  }
  return Status::ok();
}

Result<size_t> PartitionReader::read(uint64_t offset, uint64_t end, size_t max,
                                     std::vector<Record>& out)
{
  size_t count = 0;
  end = std::min(end, offset + max);
  if (end > offset && out.size() + (end - offset) > out.capacity()) {
    out.reserve(std::max(out.size() + static_cast<size_t>(end - offset), 2 * out.capacity()));
  }
  MERKQL_TRY(scan(offset, end, [&](uint64_t o, const StoredRecordView& v) {
    Record& r = out.emplace_back();
    if (v.key) {
      r.key.emplace(*v.key);
    }
    r.value.assign(v.value);
    r.topic = m_partition->m_topic;
    r.partition = m_partition->m_id;
    r.offset = o;
    r.timestamp = v.timestamp;
    r.value_is_json = v.value_is_json;
    ++count;
    return true;
  }));
  return count;
}

Result<AuditReport> Partition::audit(const std::function<void(uint64_t, uint64_t)>& progress)
{
  AuditReport report;
  auto fail = [&](uint64_t offset, std::string problem) {
    report.first_bad_offset = offset;
    report.problem = std::move(problem);
    return report;
  };
  MERKQL_ASSIGN_OR_RETURN(auto head, read_head());
  if (Status log = check_log(head); !log.is_ok()) {
    if (!log.is_corruption()) {
      return log;
    }
    return fail(0, log.message());
  }
  if (!head) {
    return report; // an empty partition
  }
  PartitionHead h = *head;
  report.next_offset = h.next_offset;
  {
    // Bytes past HEAD's end: a batch a crash left unpublished, or torn.
    MERKQL_ASSIGN_OR_RETURN(std::vector<uint32_t> segments, segment_ids());
    for (uint32_t s : segments) {
      auto size = m_env->file_size(segment_file(m_dir, s));
      if (size.is_ok() && s == h.segment && *size > h.segment_end) {
        report.torn_tail_bytes += *size - h.segment_end;
      } else if (size.is_ok() && s > h.segment) {
        report.torn_tail_bytes += *size;
      }
    }
  }
  std::lock_guard guard(m_mutex);
  // Replay the whole tree: stored chunk nodes stand in for compacted records;
  // every node of height >= chunk height must equal what TREE holds, every
  // INDEX entry must point at the block holding its chunk's first record.
  MERKQL_ASSIGN_OR_RETURN(uint64_t nodes, tree_node_count());
  if (nodes < tree_nodes_for_chunks(h.next_offset / k_chunk_records)) {
    return fail(0, fmt::format("TREE holds {} nodes; {} records need {}", nodes, h.next_offset,
                               tree_nodes_for_chunks(h.next_offset / k_chunk_records)));
  }
  MERKQL_ASSIGN_OR_RETURN(uint64_t entries, index_entry_count());
  const uint64_t started = (h.next_offset + k_chunk_records - 1) / k_chunk_records;
  if (entries < started) {
    return fail(0, fmt::format("INDEX holds {} entries; {} records need {}", entries, h.next_offset,
                               started));
  }
  MerkleAccumulator tree;
  std::string mismatch;
  auto check_node = [&](const NodeId& node, const Hash& hash) {
    if (node.height < k_chunk_height || !mismatch.empty()) {
      return;
    }
    auto stored = stored_node(node);
    if (!stored.is_ok() || *stored != hash) {
      mismatch = fmt::format("stored tree node over offsets {}..{} does not match the records",
                             node.min_offset(), node.max_offset());
      report.first_bad_offset = node.min_offset();
    }
  };
  // Feeds stored chunk nodes for the chunks before `end_chunk` that are not
  // yet in the tree (their records were compacted away).
  auto feed_chunks = [&](uint64_t end_chunk) -> Status {
    for (uint64_t c = tree.size() / k_chunk_records; c < end_chunk; ++c) {
      MERKQL_ASSIGN_OR_RETURN(Hash chunk_hash, stored_node(NodeId{k_chunk_height, c}));
      tree.append_subtree(Peak{NodeId{k_chunk_height, c}, chunk_hash}, m_sha, check_node);
    }
    return Status::ok();
  };
  // The first chunk whose records are all still stored: records below the
  // lowest segment were compacted away, which retention must allow.
  auto first_stored_chunk = [&]() -> Result<uint64_t> {
    MERKQL_ASSIGN_OR_RETURN(std::vector<uint32_t> segments, segment_ids());
    if (segments.empty() || segments.front() == 0) {
      return uint64_t{0};
    }
    MERKQL_ASSIGN_OR_RETURN(const std::optional<uint64_t> first, lowest_segment_start(segments));
    if (first && *first > keep_from(h.next_offset)) {
      // Compaction acted on a newer head than ours: audit up to that one.
      MERKQL_ASSIGN_OR_RETURN(auto newer, read_head());
      if (newer && newer->next_offset > h.next_offset) {
        h = *newer;
        report.next_offset = h.next_offset;
      }
    }
    const uint64_t keep = keep_from(h.next_offset);
    if (!first || *first > keep) {
      return Status::corruption(fmt::format("segments below {} are missing below offset {}, "
                                            "which retention keeps",
                                            segments.front(), keep));
    }
    return (*first + k_chunk_records - 1) / k_chunk_records;
  };
  {
    auto first_chunk = first_stored_chunk();
    if (!first_chunk.is_ok()) {
      return fail(0, first_chunk.status().message());
    }
    MERKQL_TRY(feed_chunks(*first_chunk));
  }
  PartitionReader reader(this);
  Record r;
  r.topic = m_topic;
  r.partition = m_id;
  MerkleAccumulator chunk_start = tree; // the tree at the start of the current chunk
  uint64_t checked_at_chunk_start = 0;
  for (int compactions_seen = 0;; ++compactions_seen) {
    Status scanned =
      reader.scan(tree.size(), h.next_offset, [&](uint64_t offset, const StoredRecordView& v) {
        if (offset % k_chunk_records == 0) {
          chunk_start = tree;
          checked_at_chunk_start = report.records_checked;
          auto entry = index_entry(offset / k_chunk_records);
          if (!entry.is_ok() || entry->first != reader.m_block_segment
              || entry->second != reader.m_block_pos) {
            mismatch = fmt::format("INDEX entry {} does not point at the block holding offset {} "
                                   "(segment {} position {})",
                                   offset / k_chunk_records, offset, reader.m_block_segment,
                                   reader.m_block_pos);
            report.first_bad_offset = offset;
            return false;
          }
        }
        if (v.value_is_json && !is_one_line_json(v.value)) {
          mismatch =
            fmt::format("the value at offset {} is marked as one line of JSON but is not", offset);
          report.first_bad_offset = offset;
          return false;
        }
        r.key = v.key ? std::optional<std::string>(std::string(*v.key)) : std::nullopt;
        r.value.assign(v.value);
        r.offset = offset;
        r.timestamp = v.timestamp;
        tree.append(leaf_hash(record_hash(r, m_sha), offset, m_sha), m_sha, check_node);
        ++report.records_checked;
        if (progress && offset % 65536 == 0) {
          progress(offset, h.next_offset);
        }
        return mismatch.empty();
      });
    if (scanned.is_not_found() && compactions_seen < 1000) {
      // Compaction removed a segment while we read: the records left are
      // below the retention watermark. Move to the newest head, go back to
      // the start of the chunk, and stand stored chunk nodes in for them.
      MERKQL_ASSIGN_OR_RETURN(auto newer, read_head());
      if (newer && newer->next_offset >= h.next_offset) {
        h = *newer;
        report.next_offset = h.next_offset;
      }
      tree = chunk_start;
      report.records_checked = checked_at_chunk_start;
      auto first_chunk = first_stored_chunk();
      if (!first_chunk.is_ok()) {
        return fail(tree.size(), first_chunk.status().message());
      }
      if (*first_chunk * k_chunk_records > h.next_offset) {
        return fail(tree.size(), scanned.message());
      }
      MERKQL_TRY(feed_chunks(*first_chunk));
      chunk_start = tree;
      checked_at_chunk_start = report.records_checked;
      continue;
    }
    if (!scanned.is_ok()) {
      return fail(tree.size(), scanned.message());
    }
    break;
  }
  if (!mismatch.empty()) {
    report.problem = mismatch;
    return report;
  }
  // The low peaks in HEAD must match the records too.
  size_t i = 0;
  for (const Peak& peak : tree.peaks()) {
    if (peak.node.height < k_chunk_height) {
      if (i >= h.low_peaks.size() || h.low_peaks[i] != peak.hash) {
        return fail(peak.node.min_offset(),
                    fmt::format("HEAD's peak over offsets {}..{} does not match the records",
                                peak.node.min_offset(), peak.node.max_offset()));
      }
      ++i;
    }
  }
  report.root = tree.root(m_sha);
  return report;
}

} // namespace merkql
