#include "merkql/proof.h"

#include "merkql/partition.h"

#include <fmt/format.h>

namespace merkql {

Status verify_record_proof(const RecordProof& p, std::optional<Hash> trusted_root)
{
  Sha256 ctx;
  if (record_hash(p.record, ctx) != p.record_hash) {
    return Status::corruption("record hash does not match the record");
  }
  if (p.proof.offset != p.record.offset) {
    return Status::corruption(fmt::format("the proof is for offset {}, not for the record's {}",
                                          p.proof.offset, p.record.offset));
  }
  if (leaf_hash(p.record_hash, p.record.offset, ctx) != p.proof.leaf_hash) {
    return Status::corruption("leaf hash does not follow from the record hash");
  }
  Result<Hash> reached = proof_root(p.proof, ctx);
  if (!reached.is_ok()) {
    return Status::corruption(reached.status().message());
  }
  if (*reached != p.root) {
    return Status::corruption("the siblings do not lead from the leaf to the root");
  }
  if (trusted_root && *trusted_root != p.root) {
    return Status::corruption(fmt::format("the proof leads to root {}, not to the given root {}",
                                          to_hex(p.root), to_hex(*trusted_root)));
  }
  return Status::ok();
}

Result<RecordProof> make_record_proof(Partition& partition, uint64_t offset,
                                      std::optional<uint64_t> tree_size)
{
  MERKQL_ASSIGN_OR_RETURN(const uint64_t next, partition.next_offset());
  const uint64_t size = tree_size.value_or(next);
  if (size > next) {
    return Status::not_found(
      fmt::format("{} records, fewer than the tree of {} asked for", next, size));
  }
  if (offset >= size) {
    return Status::not_found(
      tree_size ? fmt::format("offset {} is not in the tree of {} records", offset, size)
                : fmt::format("no offset {} (next offset is {})", offset, next));
  }
  MERKQL_ASSIGN_OR_RETURN(RecordProof p, partition.record_proof(offset, size));
  return p;
}

} // namespace merkql
