// The consistency proof document, version 1 (docs/FORMAT.md §Consistency
// proof file; written by `merkql verify-proof --from-size`, checked by
// `merkql verify-proof --consistency`, man/merkql-verify-proof.1): a
// ConsistencyProof to JSON text and back, in this one place. The reader
// takes the document through json_document.h's bounded input, which stops
// once it crosses k_max_consistency_file_bytes (a string counted as the
// bytes it decodes to), so an untrusted file of any size costs bounded
// memory, refuses a file larger than that bound even where escapes make
// it decode to less, and parses it with the nesting limit of json_in.h; the check
// itself is the library's check_consistency. Pure code apart from read(2)
// on the given descriptor.
#pragma once

#include "json_document.h"

#include <merkql/merkql.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace merkql::cli {

constexpr uint64_t k_consistency_file_version = 1;

// Bounds of a valid document: 65 hashes (a tree of 2^64 - 1 records needs
// at most 65), and a few KiB of text that leaves room for any indentation.
constexpr size_t k_max_consistency_hashes = 65;
constexpr size_t k_max_consistency_file_bytes = 64 << 10;

// The document of proof (pretty-printed JSON, two-space indents, ending in
// a newline).
std::string write_consistency_json(const ConsistencyProof& proof);

// proof: the document's contents, not yet verified (json_document.h).
using ConsistencyRead = DocumentRead<ConsistencyProof>;

// Reads a document from fd up to its end (or the bound), or from memory.
ConsistencyRead read_consistency_fd(int fd);
ConsistencyRead read_consistency_text(std::string_view text);

} // namespace merkql::cli
