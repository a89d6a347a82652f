#include <merkql/audit.h>
#include <merkql/format.h>
#include <merkql/json_text.h>
#include <merkql/log_block.h>
#include <merkql/partition.h>
#include <merkql/partition_meta.h>
#include <merkql/segment.h>

#include <fmt/format.h>

namespace merkql {

using namespace format;

Result<AuditReport> Partition::audit(const AuditProgress& progress)
{
  return audit_partition(*this, progress);
}

Result<AuditReport> audit_partition(Partition& p, const AuditProgress& progress)
{
  AuditReport report;
  auto fail = [&](uint64_t offset, std::string problem) {
    report.first_bad_offset = offset;
    report.problem = std::move(problem);
    return report;
  };
  MERKQL_ASSIGN_OR_RETURN(auto head, p.read_head());
  for (int attempt = 0;; ++attempt) {
    Status log = p.check_log(head);
    if (log.is_ok()) {
      break;
    }
    if (!log.is_corruption()) {
      return log;
    }
    // A writer in another thread or process may have moved on and compacted
    // away a segment our HEAD still names: damage only if HEAD stood still.
    MERKQL_ASSIGN_OR_RETURN(auto newer, p.read_head());
    if (attempt >= 1000 || !newer || !head || newer->sequence == head->sequence) {
      return fail(0, log.message());
    }
    head = newer;
  }
  if (!head) {
    return report; // an empty partition
  }
  PartitionHead h = *head;
  report.next_offset = h.next_offset;
  {
    // Bytes past HEAD's end: a batch a crash left unpublished, or torn.
    MERKQL_ASSIGN_OR_RETURN(std::vector<uint32_t> segments, list_segments(p.m_env, p.m_dir));
    MERKQL_ASSIGN_OR_RETURN(
      report.torn_tail_bytes,
      log_bytes_after(p.m_env, p.m_dir, segments, LogPosition{h.segment, h.segment_end}));
  }
  std::lock_guard guard(p.m_mutex);
  Sha256& sha = p.m_sha;
  RecordHasher hasher(p.m_topic, p.m_id);
  // Replay the whole tree: stored chunk nodes stand in for compacted records;
  // every node of height >= chunk height must equal what TREE holds, every
  // INDEX entry must point at the block holding its chunk's first record.
  MERKQL_ASSIGN_OR_RETURN(uint64_t nodes, p.tree_node_count());
  if (nodes < tree_nodes_for_chunks(h.next_offset / k_chunk_records)) {
    return fail(0, fmt::format("TREE holds {} nodes; {} records need {}", nodes, h.next_offset,
                               tree_nodes_for_chunks(h.next_offset / k_chunk_records)));
  }
  MERKQL_ASSIGN_OR_RETURN(uint64_t entries, p.index_entry_count());
  if (entries < index_entries_for(h.next_offset)) {
    return fail(0, fmt::format("INDEX holds {} entries; {} records need {}", entries, h.next_offset,
                               index_entries_for(h.next_offset)));
  }
  MerkleAccumulator tree;
  std::string mismatch;
  auto check_node = [&](const NodeId& node, const Hash& hash) {
    if (node.height < k_chunk_height || !mismatch.empty()) {
      return;
    }
    auto stored = p.stored_node(node);
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
      MERKQL_ASSIGN_OR_RETURN(Hash chunk_hash, p.stored_node(NodeId{k_chunk_height, c}));
      tree.append_subtree(Peak{NodeId{k_chunk_height, c}, chunk_hash}, sha, check_node);
    }
    return Status::ok();
  };
  // The first chunk whose records are all still stored: records below the
  // lowest segment were compacted away, which retention must allow.
  auto first_stored_chunk = [&]() -> Result<uint64_t> {
    MERKQL_ASSIGN_OR_RETURN(std::vector<uint32_t> segments, list_segments(p.m_env, p.m_dir));
    if (segments.empty()) {
      return uint64_t{0};
    }
    MERKQL_ASSIGN_OR_RETURN(const Partition::LogStart start, p.log_start(h, segments));
    if (start.newer && start.newer->next_offset > h.next_offset) {
      // Compaction acted on a newer head than ours: audit up to that one.
      h = *start.newer;
      report.next_offset = h.next_offset;
    }
    if (!start.explained()) {
      return Status::corruption(fmt::format("segments below {} are missing below offset {}, "
                                            "which retention keeps",
                                            segments.front(), start.keep));
    }
    return (*start.first + k_chunk_records - 1) / k_chunk_records;
  };
  {
    auto first_chunk = first_stored_chunk();
    if (!first_chunk.is_ok()) {
      return fail(0, first_chunk.status().message());
    }
    MERKQL_TRY(feed_chunks(*first_chunk));
  }
  PartitionReader reader(&p);
  MerkleAccumulator chunk_start = tree; // the tree at the start of the current chunk
  uint64_t checked_at_chunk_start = 0;
  for (int compactions_seen = 0;; ++compactions_seen) {
    Status scanned =
      reader.scan(tree.size(), h.next_offset, [&](uint64_t offset, const StoredRecordView& v) {
        if (offset % k_chunk_records == 0) {
          chunk_start = tree;
          checked_at_chunk_start = report.records_checked;
          const LogPosition block = reader.block_position();
          auto entry = p.index_entry(offset / k_chunk_records);
          if (!entry.is_ok() || *entry != IndexEntry{block.segment, block.position}) {
            mismatch = fmt::format("INDEX entry {} does not point at the block holding offset {} "
                                   "(segment {} position {})",
                                   offset / k_chunk_records, offset, block.segment, block.position);
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
        tree.append(hasher.leaf(v, offset, sha), sha, check_node);
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
      MERKQL_ASSIGN_OR_RETURN(auto newer, p.read_head());
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
  report.root = tree.root(sha);
  return report;
}

} // namespace merkql
