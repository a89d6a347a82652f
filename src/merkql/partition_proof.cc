// Partition's roots and proofs (partition.h): the root of any past size,
// inclusion proofs and consistency proofs, from the stored TREE nodes above
// the chunks and the leaves of at most a few chunks rehashed from the log
// (docs/FORMAT.md §Tree, §Proofs, §Consistency proof). Under the
// partition's mutex, like the rest of Partition.
#include <merkql/coding.h>
#include <merkql/format.h>
#include <merkql/partition.h>
#include <merkql/partition_meta.h>

#include <fmt/format.h>

#include <algorithm>

namespace merkql {

using namespace format;

Result<std::optional<Hash>> Partition::merkle_root()
{
  MERKQL_ASSIGN_OR_RETURN(PartitionHead h, head());
  std::lock_guard guard(m_mutex);
  MERKQL_ASSIGN_OR_RETURN(std::vector<Peak> peaks, peaks_at(h));
  return fold_peaks(peaks, m_sha);
}

Result<const std::vector<Hash>*> Partition::chunk_leaves(uint64_t chunk, uint64_t tree_size,
                                                         PartitionReader& reader)
{
  const uint64_t first = chunk * k_chunk_records;
  const uint64_t end = std::min(first + k_chunk_records, tree_size);
  // The leaves of acknowledged records never change: those of the chunk
  // proved last serve again for any tree size they cover.
  if (m_leaves_chunk == chunk && m_leaves.size() >= end - first) {
    return &m_leaves;
  }
  m_leaves_chunk = UINT64_MAX;
  m_leaves.clear();
  RecordHasher hasher(m_topic, m_id);
  MERKQL_TRY(reader.scan(first, end, [&](uint64_t offset, const StoredRecordView& v) {
    m_leaves.push_back(hasher.leaf(v, offset, m_sha));
    return true;
  }));
  if (m_leaves.size() != end - first) {
    m_leaves.clear();
    return Status::not_found(fmt::format("records {}..{} of {}/{} are no longer stored (compacted)",
                                         first, end - 1, m_topic, m_id));
  }
  m_leaves_chunk = chunk;
  return &m_leaves;
}

Result<Hash> Partition::node_hash(const NodeId& node, uint64_t tree_size, PartitionReader& reader)
{
  if (node.height >= k_chunk_height) {
    // Stored nodes of a tree no larger than the log are acknowledged and
    // never change; the high ones are shared by most proofs. Bounded: the
    // table starts over when full.
    constexpr size_t k_max_cached_nodes = 1 << 16;
    const uint64_t position = tree_position(node);
    if (auto it = m_nodes.find(position); it != m_nodes.end()) {
      return it->second;
    }
    MERKQL_ASSIGN_OR_RETURN(Hash h, stored_node(node));
    if (m_nodes.size() >= k_max_cached_nodes) {
      m_nodes.clear();
    }
    m_nodes.emplace(position, h);
    return h;
  }
  const uint64_t chunk = node.min_offset() / k_chunk_records;
  MERKQL_ASSIGN_OR_RETURN(const std::vector<Hash>* leaves, chunk_leaves(chunk, tree_size, reader));
  const uint64_t base = chunk * k_chunk_records;
  return subtree_hash(*leaves, base, static_cast<size_t>(node.min_offset() - base), node.height,
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
  PartitionReader reader(this);
  std::vector<Peak> peaks;
  for (const NodeId& node : peaks_of(tree_size)) {
    MERKQL_ASSIGN_OR_RETURN(Hash h, node_hash(node, tree_size, reader));
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
  PartitionReader reader(this);
  MERKQL_ASSIGN_OR_RETURN(Hash leaf_h, node_hash(NodeId{0, offset}, n, reader));
  return make_proof(
    offset, n, leaf_h, [&](const NodeId& node) { return node_hash(node, n, reader); }, m_sha);
}

Result<RecordProof> Partition::record_proof(uint64_t offset, uint64_t tree_size)
{
  MERKQL_ASSIGN_OR_RETURN(PartitionHead head, this->head());
  if (tree_size > head.next_offset) {
    return Status::not_found(
      fmt::format("{}/{} has {} records, not {}", m_topic, m_id, head.next_offset, tree_size));
  }
  if (offset >= tree_size) {
    return Status::not_found(
      fmt::format("offset {} is not in {}/{} ({} records)", offset, m_topic, m_id, tree_size));
  }
  std::lock_guard guard(m_mutex);
  // One reader: the record, its chunk's leaves and the chunk holding the
  // tree's last records share their blocks.
  PartitionReader reader(this);
  RecordProof p;
  std::vector<Record> records;
  MERKQL_TRY(reader.read(offset, offset + 1, 1, records).status());
  if (records.empty()) {
    return Status::not_found(
      fmt::format("offset {} of {}/{} is no longer stored", offset, m_topic, m_id));
  }
  p.record = std::move(records.front());
  MERKQL_ASSIGN_OR_RETURN(Hash leaf_h, node_hash(NodeId{0, offset}, tree_size, reader));
  MERKQL_ASSIGN_OR_RETURN(
    p.proof, make_proof(
               offset, tree_size, leaf_h,
               [&](const NodeId& node) { return node_hash(node, tree_size, reader); }, m_sha));
  // The root: the peaks below chunk height of the log's own size are HEAD's.
  std::vector<Peak> peaks;
  size_t low = 0;
  for (const NodeId& node : peaks_of(tree_size)) {
    if (node.height < k_chunk_height && tree_size == head.next_offset
        && low < head.low_peaks.size()) {
      peaks.push_back(Peak{node, head.low_peaks[low++]});
      continue;
    }
    MERKQL_ASSIGN_OR_RETURN(Hash h, node_hash(node, tree_size, reader));
    peaks.push_back(Peak{node, h});
  }
  const std::optional<Hash> root = fold_peaks(peaks, m_sha);
  if (!root) {
    return Status::corruption(fmt::format("no root for a tree of {} records", tree_size));
  }
  p.root = *root;
  p.record_hash = record_hash(p.record, m_sha);
  return p;
}

Result<ConsistencyProof> Partition::consistency_proof(uint64_t from_size,
                                                      std::optional<uint64_t> to_size)
{
  MERKQL_ASSIGN_OR_RETURN(uint64_t next, next_offset());
  const uint64_t n = to_size.value_or(next);
  if (from_size == 0) {
    return Status::invalid_argument("a consistency proof starts from a tree of at least 1 record");
  }
  if (std::max(from_size, n) > next) {
    return Status::not_found(
      fmt::format("{}/{} has {} records, not {}", m_topic, m_id, next, std::max(from_size, n)));
  }
  if (from_size > n) {
    return Status::invalid_argument(
      fmt::format("the tree of {} records cannot be a prefix of the tree of {}", from_size, n));
  }
  std::lock_guard guard(m_mutex);
  PartitionReader reader(this);
  return build_consistency_proof(
    from_size, n, [&](const NodeId& node) { return node_hash(node, n, reader); }, m_sha);
}

} // namespace merkql
