// The proof document, version 1 (docs/FORMAT.md §Proof file; written by
// `merkql verify-proof --out`, man/merkql-verify-proof.1): a RecordProof
// to JSON text and back, in this one place. The reader streams the document
// through json_document.h's bounded input and stops as soon as it crosses a
// bound no valid proof crosses, so an untrusted file of any size costs
// bounded memory; the check itself is the library's verify_record_proof. Pure code apart from
// read(2) on the given descriptor, so that it can be fuzzed.
#pragma once

#include "json_document.h"

#include <merkql/merkql.h>
#include <merkql/options.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace merkql::cli {

constexpr uint64_t k_proof_version = 1;

// Bounds of a valid proof document.
constexpr size_t k_max_proof_siblings = 64;     // a tree of 2^64 records
constexpr size_t k_max_proof_topic_bytes = 249; // the longest topic name
// Everything but the record's key and value (which together hold at most
// k_max_record_bytes): a proof's own members take a few KiB.
constexpr size_t k_max_proof_other_bytes = 1 << 20;

// The document of proof (pretty-printed JSON, two-space indents, ending in
// a newline). A key or value that is not UTF-8 (a record written by an
// earlier build) is written as "key_hex"/"value_hex".
std::string write_proof_json(const RecordProof& proof);

// proof: the document's contents, not yet verified (json_document.h).
using ProofRead = DocumentRead<RecordProof>;

// Reads a proof document from fd up to its end (or the first bound
// crossed), or from memory.
ProofRead read_proof_fd(int fd);
ProofRead read_proof_text(std::string_view text);

struct ProofVerdict {
  enum class Kind {
    valid,    // message: the one-line summary for standard output
    invalid,  // message: why the proof does not verify
    io_error, // message: the read error
  };
  Kind kind = Kind::invalid;
  std::string message;
};

// Reads the proof document and verifies it (verify_record_proof); with
// trusted_root, the proof must lead to it; with tree_size (a checkpoint's),
// it must be a proof in the tree of that many records.
ProofVerdict check_proof_fd(int fd, const std::optional<Hash>& trusted_root,
                            std::optional<uint64_t> tree_size = std::nullopt);
// The same for a document held in memory.
ProofVerdict check_proof_text(std::string_view text, const std::optional<Hash>& trusted_root,
                              std::optional<uint64_t> tree_size = std::nullopt);
// The verification of check_proof_fd for a proof already read.
ProofVerdict check_record_proof(const RecordProof& proof, const std::optional<Hash>& trusted_root,
                                std::optional<uint64_t> tree_size = std::nullopt);

} // namespace merkql::cli
