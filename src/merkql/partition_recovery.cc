// Partition: finding the tail at open and before each write (where the
// segment's blocks end, and trimming the size set ahead past it), and the
// recovery that repairs what a crash left (docs/FORMAT.md §Crash and
// recovery). The log is read through SegmentReader, whose stop tells a torn
// tail (cut here) from damage (reported, nothing changed).
#include <merkql/file_cache.h>
#include <merkql/filename.h>
#include <merkql/format.h>
#include <merkql/log_block.h>
#include <merkql/partition.h>
#include <merkql/partition_meta.h>
#include <merkql/segment.h>

#include <fmt/format.h>

#include <algorithm>

namespace merkql {

using namespace format;

void Partition::release_preallocation(uint32_t segment, uint64_t end)
{
  // Best effort, as setting the size ahead was. Only zero bytes go: past
  // `end` lies no block unless a writer that never published left one (or
  // one published since this object's tail), and then nothing is cut.
  m_preallocated_segment = UINT32_MAX;
  m_preallocated_end = 0;
  auto file = m_files->get(segment_file(m_dir, segment), Access::read_write);
  if (file.is_ok()) {
    (void)(*file)->trim_preallocation(end);
  }
}

Result<bool> Partition::segment_ends_at(uint32_t segment, uint64_t end)
{
  auto f = file(segment_file(m_dir, segment));
  if (!f.is_ok() && f.status().is_not_found()) {
    return end == 0;
  }
  MERKQL_TRY(f.status());
  char buf[k_block_header_size];
  MERKQL_ASSIGN_OR_RETURN(size_t got, (*f)->read_at(end, sizeof buf, buf));
  if (got == 0) {
    MERKQL_ASSIGN_OR_RETURN(uint64_t size, (*f)->size());
    return size == end;
  }
  return no_block_here(std::string_view(buf, got));
}

Result<bool> Partition::head_matches_files(const PartitionHead& head)
{
  TailFiles files;
  MERKQL_ASSIGN_OR_RETURN(files.segment_ends, segment_ends_at(head.segment, head.segment_end));
  MERKQL_ASSIGN_OR_RETURN(files.tree_nodes, tree_node_count());
  MERKQL_ASSIGN_OR_RETURN(files.index_entries, index_entry_count());
  files.next_segment_exists = m_env->exists(segment_file(m_dir, head.segment + 1));
  return head_matches(head, files);
}

Status Partition::refresh_tail()
{
  MERKQL_ASSIGN_OR_RETURN(auto head, read_head());
  if (head && m_tail.valid && head->sequence == m_tail.sequence) {
    if (m_tail.unacknowledged_bytes) {
      // Nobody wrote since our failed append: its bytes are ours to drop.
      MERKQL_ASSIGN_OR_RETURN(auto active, open_active_segment(m_tail.segment, Create::no));
      MERKQL_TRY(active->truncate(m_tail.segment_end));
      m_preallocated_segment = UINT32_MAX;
      const std::string next = segment_file(m_dir, m_tail.segment + 1);
      if (m_env->exists(next)) {
        forget_segment(m_tail.segment + 1);
        MERKQL_TRY(m_env->remove(next));
      }
      m_tail.unacknowledged_bytes = false;
    }
    // HEAD is the one this object wrote last, so no other writer published
    // since. One that failed or died without publishing wrote right at
    // HEAD's end, where only zero bytes (or the file's end) may be; a
    // segment it created past this one is emptied when the log rolls there.
    MERKQL_ASSIGN_OR_RETURN(bool ends, segment_ends_at(m_tail.segment, m_tail.segment_end));
    if (ends) {
      return Status::ok();
    }
  }
  m_tail.valid = false;
  // Another process moved the tail: what this process holds open may be a
  // segment that recovery since removed, so look the files up again; and
  // the size it set ahead may have been trimmed.
  m_preallocated_segment = UINT32_MAX;
  for (uint32_t s : {m_tail.segment, head ? head->segment : m_tail.segment}) {
    forget_segment(s);
    forget_segment(s + 1);
  }
  if (head) {
    MERKQL_ASSIGN_OR_RETURN(bool matches, head_matches_files(*head));
    if (matches) {
      MERKQL_ASSIGN_OR_RETURN(std::vector<Peak> peaks, peaks_at(*head));
      m_tail.tree = MerkleAccumulator(head->next_offset, std::move(peaks));
      m_tail.sequence = head->sequence;
      m_tail.segment = head->segment;
      m_tail.segment_end = head->segment_end;
      m_tail.log_start = head->log_start;
      m_tail.unacknowledged_bytes = false;
      m_tail.valid = true;
      return Status::ok();
    }
  }
  return recover(head);
}

// Rebuilds the tail from the last point INDEX and TREE agree on, reading the
// log forward over complete batches and cutting off anything after them.
Status Partition::recover(const std::optional<PartitionHead>& head)
{
  MERKQL_TRY(check_log(head));
  MERKQL_ASSIGN_OR_RETURN(uint64_t nodes, tree_node_count());
  MERKQL_ASSIGN_OR_RETURN(uint64_t entries, index_entry_count());
  const uint64_t start_chunk = std::min(tree_chunks_in(nodes), entries > 0 ? entries - 1 : 0);
  LogPosition start;
  if (entries > 0) {
    MERKQL_ASSIGN_OR_RETURN(IndexEntry entry, index_entry(start_chunk));
    if (entry.segment > k_max_segment) {
      return Status::corruption(fmt::format(
        "{}: INDEX names segment {}, beyond the last possible one", m_dir, entry.segment));
    }
    start = LogPosition{entry.segment, entry.position};
  } else {
    MERKQL_ASSIGN_OR_RETURN(std::vector<uint32_t> segments, list_segments(m_env, m_dir));
    start.segment = segments.empty() ? 0 : segments.front();
  }
  const uint64_t start_offset = start_chunk * k_chunk_records;
  MERKQL_ASSIGN_OR_RETURN(std::vector<Peak> peaks, high_peaks(start_chunk));
  MerkleAccumulator tree(start_offset, std::move(peaks));
  MERKQL_ASSIGN_OR_RETURN(auto tree_file, file(m_tree_path));
  MERKQL_ASSIGN_OR_RETURN(auto index_file, file(m_index_path));

  const LogPosition acknowledged_end =
    head ? LogPosition{head->segment, head->segment_end} : LogPosition{};
  SegmentReader log(
    m_env, m_dir, start,
    {.files = nullptr, .acknowledged_end = acknowledged_end, .order = BlockOrder::checked});
  std::string tree_out;
  std::string index_out;
  std::vector<std::pair<LogPosition, std::string>> pending; // the batch being read
  std::string buffer;
  std::string scratch;
  std::vector<StoredRecordView> views;
  RecordHasher hasher(m_topic, m_id);
  bool read_any = false;
  for (;;) {
    SegmentReader::Block block;
    MERKQL_ASSIGN_OR_RETURN(bool more, log.next(buffer, &block));
    if (!more) {
      break;
    }
    if (!read_any && block.header.first_offset > start_offset) {
      return Status::corruption(
        fmt::format("{}: INDEX entry {} points at a block starting at offset {}", m_dir,
                    start_chunk, block.header.first_offset));
    }
    read_any = true;
    pending.emplace_back(block.at, std::string(block.bytes));
    if (!block.header.is_batch_end()) {
      continue;
    }
    // A complete batch: hash it into the tree.
    for (const auto& [at, bytes] : pending) {
      const uint64_t first = parse_block_header(bytes)->first_offset;
      MERKQL_TRY(decode_block(bytes, scratch, views));
      for (size_t i = 0; i < views.size(); ++i) {
        const uint64_t offset = first + i;
        if (offset < tree.size()) {
          continue;
        }
        if (offset % k_chunk_records == 0) {
          put_index_entry(index_out, IndexEntry{at.segment, at.position});
        }
        tree.append(hasher.leaf(views[i], offset, m_sha), m_sha, collect_stored_nodes(tree_out));
      }
    }
    pending.clear();
  }
  const SegmentStop& stop = log.stop();
  if (stop.reason == SegmentStop::Reason::missing_segment && !read_any && entries > 0) {
    return Status::corruption(fmt::format("{}: recovery must start in segment {}, which is missing",
                                          m_dir, stop.at.segment));
  }
  // Damage is reported and nothing changes; a torn tail is cut.
  if (stop.kind == SegmentStop::Kind::damage) {
    return Status::corruption(fmt::format(
      "{}: the log breaks at segment {} position {} ({}), before the end HEAD acknowledges "
      "(segment {} position {}); nothing was changed",
      m_dir, stop.at.segment, stop.at.position, stop.why().value_or("the log ends there"),
      acknowledged_end.segment, acknowledged_end.position));
  }
  log.release();
  // Cut everything after the last complete batch.
  const LogPosition committed = log.committed();
  MERKQL_ASSIGN_OR_RETURN(auto active, open_active_segment(committed.segment, Create::if_missing));
  MERKQL_ASSIGN_OR_RETURN(uint64_t seg_size, active->size());
  if (seg_size < committed.position) {
    return Status::corruption(fmt::format("{}: segment {} shrank to {} bytes during recovery",
                                          m_dir, committed.segment, seg_size));
  }
  if (seg_size != committed.position) {
    MERKQL_TRY(active->truncate(committed.position));
    MERKQL_TRY(active->sync());
  }
  bool removed = false;
  for (uint32_t s = committed.segment + 1; m_env->exists(segment_file(m_dir, s)); ++s) {
    forget_segment(s);
    MERKQL_TRY(m_env->remove(segment_file(m_dir, s)));
    removed = true;
  }
  if (removed) {
    MERKQL_TRY(m_env->sync_dir(m_dir));
  }
  // TREE and INDEX are rebuilt from the scan's start only now that the log
  // is known sound: damage found above leaves every file as it was.
  const uint64_t tree_base = tree_byte_position(tree_nodes_for_chunks(start_chunk));
  MERKQL_TRY(tree_file->truncate(tree_base));
  MERKQL_TRY(index_file->truncate(index_entry_position(start_chunk)));
  MERKQL_TRY(tree_file->write_at(tree_base, tree_out));
  MERKQL_TRY(index_file->write_at(index_entry_position(start_chunk), index_out));
  MERKQL_TRY(tree_file->sync());
  MERKQL_TRY(index_file->sync());
  m_tail.tree = std::move(tree);
  m_tail.segment = committed.segment;
  m_tail.segment_end = committed.position;
  m_tail.sequence = head ? head->sequence : 0;
  m_tail.log_start = head ? head->log_start : 0;
  m_tail.unacknowledged_bytes = false;
  m_tail.valid = true;
  m_preallocated_segment = UINT32_MAX; // cut to the log's end
  MERKQL_TRY(write_head());
  MERKQL_ASSIGN_OR_RETURN(auto head_file, this->file(m_head_path));
  return head_file->sync();
}

Result<Partition::LogStart> Partition::log_start(const PartitionHead& head,
                                                 std::vector<uint32_t>& segments)
{
  LogStart start;
  start.keep = keep_from(head.next_offset, head.log_start);
  if (segments.front() == 0) {
    start.first = 0; // nothing was ever compacted
    return start;
  }
  MERKQL_ASSIGN_OR_RETURN(start.first, lowest_segment_start(m_env, m_dir, segments));
  if (start.first && *start.first > start.keep) {
    // Compaction in another process may have acted on a newer head.
    MERKQL_ASSIGN_OR_RETURN(start.newer, read_head());
    if (start.newer) {
      start.keep =
        std::max(start.keep, keep_from(start.newer->next_offset, start.newer->log_start));
    }
  }
  return start;
}

Status Partition::check_log(const std::optional<PartitionHead>& head)
{
  MERKQL_ASSIGN_OR_RETURN(std::vector<uint32_t> segments, list_segments(m_env, m_dir));
  if (!head) {
    // HEAD gets its first slot (synced) before the first append, and keeps
    // its size from then on; so log data with no valid HEAD is damage.
    MERKQL_ASSIGN_OR_RETURN(uint64_t bytes, log_bytes_after(m_env, m_dir, segments, {}));
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
  auto size = m_env->file_size(segment_file(m_dir, head->segment));
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
  // retention removes segments, whole ones below the offsets it keeps: HEAD's
  // log_start, written and synced before any removal, or (for logs compacted
  // before log_start was recorded) the newest max_records.
  MERKQL_ASSIGN_OR_RETURN(const LogStart start, log_start(*head, segments));
  const uint32_t lowest = segments.front();
  for (uint32_t s = lowest, k = 0; s <= head->segment; ++s, ++k) {
    if (k >= segments.size() || segments[k] != s) {
      return Status::corruption(
        fmt::format("{}: segment {} is missing between segments {} and {}; nothing was changed",
                    m_dir, s, lowest, head->segment));
    }
  }
  if (!start.explained()) {
    return Status::corruption(fmt::format(
      "{}: segments below {} are missing, but HEAD's log start and the topic's retention keep "
      "offsets from {} and segment {} starts at {}; nothing was changed",
      m_dir, lowest, start.keep, lowest,
      start.first ? std::to_string(*start.first) : "no valid block"));
  }
  return Status::ok();
}

} // namespace merkql
