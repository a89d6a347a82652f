// The fixed-layout metadata files of a partition: HEAD's two slots
// (docs/FORMAT.md §Head), INDEX (§Index) and TREE (§Tree): their 16-byte
// file header, entry positions and counts, and the one rule telling whether
// HEAD, INDEX, TREE and the log agree. Partition and the audit call these;
// the codecs are pure functions (thread-safe), the file helpers read and
// write only the File they are given.
#pragma once

#include <merkql/env.h>
#include <merkql/merkle.h>
#include <merkql/partition.h>
#include <merkql/status.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace merkql {

class FileCache;

// --- HEAD (§Head) ----------------------------------------------------------

// One 256-byte slot holding `head` (its low_peaks as given).
std::string encode_head_slot(const PartitionHead& head);
// The head one slot holds; none when its magic, version, checksum or
// low-peak count (which must be the popcount of next_offset mod 64) is bad.
std::optional<PartitionHead> decode_head_slot(std::string_view slot);
// The valid slot with the higher sequence among the two `bytes` holds
// (fewer bytes: the slots wholly present); none when neither is valid.
std::optional<PartitionHead> decode_head(std::string_view bytes);
// Where in HEAD the slot of a sequence number lives.
uint64_t head_slot_position(uint64_t sequence);
// The peaks below chunk height among `peaks`, as HEAD stores them.
std::vector<Hash> low_peak_hashes(const std::vector<Peak>& peaks);

// --- INDEX and TREE headers (§Index, §Tree) --------------------------------

// The 16-byte header of an INDEX or TREE file.
std::string file_header(uint32_t magic);
// Corruption unless `file` begins with a header of `magic` and this version.
Status check_file_header(File* file, uint32_t magic);
// Opens a file with a header, writing the header if the file is new (then
// *created is set).
Result<std::shared_ptr<File>> open_with_header(FileCache& files, const std::string& path,
                                               uint32_t magic, bool* created);

// --- INDEX (§Index) --------------------------------------------------------

// Where the chunk's first record's block starts.
// An INDEX entry: where a chunk's first block begins.
using IndexEntry = LogPosition;

void put_index_entry(std::string& out, const IndexEntry& entry);
IndexEntry decode_index_entry(const char* p);
// The byte position in INDEX of chunk's entry.
uint64_t index_entry_position(uint64_t chunk);
// INDEX entries a log of next_offset records has: one per chunk begun.
uint64_t index_entries_for(uint64_t next_offset);

// --- TREE (§Tree) ----------------------------------------------------------

// Position of a stored node (height >= chunk height) in TREE, in nodes.
uint64_t tree_position(const NodeId& node);
// Nodes TREE holds once `chunks` chunks are complete.
uint64_t tree_nodes_for_chunks(uint64_t chunks);
// Complete chunks whose nodes fit in `nodes` stored nodes.
uint64_t tree_chunks_in(uint64_t nodes);
// The byte position in TREE of the first node past `nodes` nodes.
uint64_t tree_byte_position(uint64_t nodes);
// Appends a stored node's hash to a run of TREE bytes.
void put_tree_node(std::string& out, const Hash& hash);
// An on_node for MerkleAccumulator::append that appends to `out` every
// node TREE stores (height >= chunk height), in TREE's order.
std::function<void(const NodeId&, const Hash&)> collect_stored_nodes(std::string& out);
Hash decode_hash(const char* p);

// --- Consistency -----------------------------------------------------------

// What the files at the tail of a partition hold.
struct TailFiles {
  // HEAD's segment holds no block from segment_end on: the file ends there
  // or zero bytes follow (the size set ahead; a missing segment, when
  // segment_end is 0).
  bool segment_ends = false;
  uint64_t tree_nodes = 0;
  uint64_t index_entries = 0;
  bool next_segment_exists = false; // a segment past HEAD's
};

// True when the files hold exactly what HEAD publishes: its segment's
// blocks end where HEAD says, TREE and INDEX are complete for its records and nothing
// follows. Otherwise a crash left work behind (or the files are damaged).
bool head_matches(const PartitionHead& head, const TailFiles& files);

} // namespace merkql
