// A record's proof of inclusion, whole: the record, its hash, the inclusion
// proof of its leaf and the root that proof leads to, and the one check of
// the chain record → record hash → leaf hash → root (docs/FORMAT.md §Record
// hash, §Merkle tree; the file form is §Proof file). verify_record_proof is
// pure code that needs no storage, so a proof exported once can be checked
// anywhere; make_record_proof builds one from a partition through its
// public API. Thread-safe: values only, no shared state.
#pragma once

#include <merkql/merkle.h>
#include <merkql/record.h>
#include <merkql/sha256.h>
#include <merkql/status.h>

#include <cstdint>
#include <optional>

namespace merkql {

class Partition;

struct RecordProof {
  Record record;        // key, value, topic, partition, offset, timestamp
  Hash record_hash{};   // record_hash(record)
  InclusionProof proof; // of the leaf at record.offset
  Hash root{};          // the root of the tree of proof.tree_size records
};

// Ok when every link holds: the record hashes to record_hash, the leaf of
// (record_hash, record.offset) is proof.leaf_hash at index record.offset,
// the siblings lead from it to root, and root is trusted_root when one is
// given. Otherwise corruption, naming the first link that breaks.
Status verify_record_proof(const RecordProof& proof, std::optional<Hash> trusted_root = {});

// The proof of the record at offset in the tree of tree_size records (the
// partition's whole log when absent). not_found when offset is not in that
// tree or the tree is larger than the log; read errors as they come.
Result<RecordProof> make_record_proof(Partition& partition, uint64_t offset,
                                      std::optional<uint64_t> tree_size = {});

} // namespace merkql
