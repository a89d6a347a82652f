// Partition: retention and usage (docs/FORMAT.md §Retention). Retention
// removes whole segments, oldest first, never the active one; HEAD's
// log_start is raised and synced before the first removal, so after any
// crash the missing segments are explained by HEAD alone.
#include <merkql/file_cache.h>
#include <merkql/filename.h>
#include <merkql/format.h>
#include <merkql/partition.h>
#include <merkql/segment.h>

#include <fmt/format.h>

#include <algorithm>

namespace merkql {

using namespace format;

namespace {

uint64_t round_up_to_chunk(uint64_t offset)
{
  return (offset + k_chunk_records - 1) / k_chunk_records * k_chunk_records;
}

} // namespace

Result<std::optional<TimestampNs>> Partition::segment_newest(uint32_t segment)
{
  if (auto it = m_newest.find(segment); it != m_newest.end()) {
    return std::optional<TimestampNs>(it->second);
  }
  MERKQL_ASSIGN_OR_RETURN(auto newest, segment_newest_timestamp(m_env, m_dir, segment));
  if (newest) {
    m_newest[segment] = *newest;
  }
  return newest;
}

Result<size_t> Partition::removable_segments(const std::vector<uint32_t>& segments,
                                             uint64_t next_offset, uint64_t log_start,
                                             LogPosition end)
{
  const uint32_t active = end.segment;
  // By count (and below log_start): each segment whose successor starts at
  // or below the first kept chunk.
  MERKQL_ASSIGN_OR_RETURN(
    size_t count,
    reclaimable_segments(m_env, m_dir, segments, keep_from(next_offset, log_start), active));
  if (!m_retention.max_bytes && !m_retention.max_age_ms) {
    return count;
  }
  m_retention_waits = false;
  uint64_t total = 0;
  std::vector<uint64_t> sizes;
  for (uint32_t s : segments) {
    auto size = m_env->file_size(segment_file(m_dir, s));
    if (!size.is_ok() && !size.status().is_not_found()) {
      return size.status();
    }
    // The active segment counts up to the log's end, not the size set ahead.
    sizes.push_back(!size.is_ok() ? 0 : s == active ? std::min(*size, end.position) : *size);
    total += sizes.back();
  }
  for (size_t k = 0; k < count; ++k) {
    total -= sizes[k];
  }
  const int64_t now = m_env->now_ns();
  while (count + 1 < segments.size() && segments[count] < active) {
    bool expired = m_retention.max_bytes && total > *m_retention.max_bytes;
    if (!expired && m_retention.max_age_ms) {
      MERKQL_ASSIGN_OR_RETURN(auto newest, segment_newest(segments[count]));
      const int64_t age_ns = static_cast<int64_t>(*m_retention.max_age_ms) * 1000000;
      expired = newest && *newest < now - age_ns;
    }
    if (!expired) {
      break;
    }
    // The next segment must begin with a valid block to say where the log
    // then starts, and the log start (rounded up to a chunk) must not pass
    // the end of the log; else retention waits for the next append that
    // completes the chunk.
    MERKQL_ASSIGN_OR_RETURN(auto next_first,
                            segment_first_offset(m_env, m_dir, segments[count + 1]));
    if (!next_first || round_up_to_chunk(*next_first) > next_offset) {
      m_retention_waits = next_first.has_value();
      break;
    }
    total -= sizes[count];
    ++count;
  }
  return count;
}

Result<CompactResult> Partition::enforce_retention()
{
  CompactResult result;
  MERKQL_ASSIGN_OR_RETURN(std::vector<uint32_t> segments, list_segments(m_env, m_dir));
  if (segments.empty()) {
    return result;
  }
  MERKQL_ASSIGN_OR_RETURN(size_t removable,
                          removable_segments(segments, m_tail.tree.size(), m_tail.log_start,
                                             LogPosition{m_tail.segment, m_tail.segment_end}));
  return remove_segments(segments, removable);
}

Result<CompactResult> Partition::remove_segments(const std::vector<uint32_t>& segments,
                                                 size_t removable)
{
  CompactResult result;
  // Where the log starts once they are gone: the first chunk whose records
  // are all stored, so every record kept visible keeps its proof. A log
  // compacted before log_start was recorded gets it here too.
  uint64_t log_start = m_tail.log_start;
  if (removable > 0 || segments.front() != 0) {
    MERKQL_ASSIGN_OR_RETURN(auto first, segment_first_offset(m_env, m_dir, segments[removable]));
    if (first && round_up_to_chunk(*first) <= m_tail.tree.size()) {
      log_start = std::max(log_start, round_up_to_chunk(*first));
    }
  }
  if (removable == 0 && log_start == m_tail.log_start) {
    return result;
  }
  // The tree, index and HEAD (with the new log start) must be durable
  // before the records they summarise go: after power loss HEAD must
  // neither name a removed segment nor leave a removal unexplained.
  MERKQL_TRY(sync_tree_and_index());
  if (log_start != m_tail.log_start) {
    m_tail.log_start = log_start;
    MERKQL_TRY(write_head());
  }
  MERKQL_ASSIGN_OR_RETURN(auto head_file, file(m_head_path));
  MERKQL_TRY(head_file->sync());
  uint64_t seen = m_seen_log_start.load();
  while (log_start > seen && !m_seen_log_start.compare_exchange_weak(seen, log_start)) {
  }
  for (size_t k = 0; k < removable; ++k) {
    const std::string path = segment_file(m_dir, segments[k]);
    auto size = m_env->file_size(path);
    if (!size.is_ok() && size.status().is_not_found()) {
      continue; // already gone
    }
    MERKQL_TRY(size.status());
    forget_segment(segments[k]);
    m_newest.erase(segments[k]);
    MERKQL_TRY(m_env->remove(path));
    result.segments_removed++;
    result.bytes_reclaimed += *size;
  }
  if (result.segments_removed) {
    MERKQL_TRY(m_env->sync_dir(m_dir));
  }
  return result;
}

Result<CompactResult> Partition::compact()
{
  std::lock_guard guard(m_mutex);
  MERKQL_ASSIGN_OR_RETURN(auto lock_held, lock());
  MERKQL_TRY(refresh_tail());
  return enforce_retention();
}

Status Partition::record_log_start()
{
  std::lock_guard guard(m_mutex);
  MERKQL_ASSIGN_OR_RETURN(auto lock_held, lock());
  MERKQL_TRY(refresh_tail());
  MERKQL_ASSIGN_OR_RETURN(std::vector<uint32_t> segments, list_segments(m_env, m_dir));
  if (segments.empty()) {
    return Status::ok();
  }
  return remove_segments(segments, 0).status();
}

Status Partition::retention_error()
{
  std::lock_guard guard(m_mutex);
  return m_retention_error;
}

Result<PartitionUsage> Partition::usage()
{
  PartitionUsage u;
  MERKQL_ASSIGN_OR_RETURN(PartitionHead h, head());
  MERKQL_ASSIGN_OR_RETURN(auto names, m_env->list_dir(m_dir));
  std::vector<std::pair<uint32_t, uint64_t>> sized;
  for (const std::string& name : names) {
    auto stat = m_env->stat(m_dir + "/" + name);
    if (!stat.is_ok() || stat->type != FileStat::Type::regular) {
      continue;
    }
    u.allocated_bytes += stat->allocated_bytes;
    const uint64_t size = stat->size;
    if (auto id = parse_segment_file_name(name)) {
      u.records_bytes += size; // file sizes: the size set ahead counts
      sized.emplace_back(*id, size);
    } else if (name == "INDEX") {
      u.index_bytes += size;
    } else if (name == "TREE") {
      u.tree_bytes += size;
    } else {
      u.metadata_bytes += size;
    }
  }
  std::sort(sized.begin(), sized.end());
  std::vector<uint32_t> segments;
  for (const auto& [id, size] : sized) {
    segments.push_back(id);
  }
  std::lock_guard guard(m_mutex);
  MERKQL_ASSIGN_OR_RETURN(size_t removable,
                          removable_segments(segments, h.next_offset, h.log_start,
                                             LogPosition{h.segment, h.segment_end}));
  for (size_t k = 0; k < removable; ++k) {
    u.reclaimable_bytes += sized[k].second;
  }
  return u;
}

} // namespace merkql
