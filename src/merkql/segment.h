// The log of a partition as a sequence of blocks across its segment files
// NNNNNNNN.log (docs/FORMAT.md §Segment, §Crash and recovery). SegmentReader
// walks blocks from a (segment, position) and says why it stopped: the end
// of the log, a torn tail a crash may leave, or damage. Also the segment
// listing, a segment's first offset and which segments compaction may
// remove. Recovery, the partition's readers, compaction, usage and the audit
// all read the log through this file. A SegmentReader is used by one thread
// at a time; segment files are only read here, never written.
#pragma once

#include <merkql/env.h>
#include <merkql/log_block.h>
#include <merkql/partition.h>
#include <merkql/status.h>

#include <compare>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace merkql {

class FileCache;

// Why a SegmentReader stopped short of another valid block.
struct SegmentStop {
  enum class Kind {
    end_of_log, // the last batch read is complete and nothing follows it
    torn_tail,  // what follows the last complete batch is no batch, and lies
                // past everything acknowledged: what a crash leaves, to cut
    damage,     // the complete batches end before what is acknowledged
  };
  enum class Reason {
    none,            // no bytes here, and no later segment
    missing_segment, // the segment to read is missing
    no_header,       // no valid block header
    cut_short,       // the header claims more bytes than the file holds
    bad_checksum,    // the block fails its checksum
    out_of_order,    // the block does not start where the previous one ended
  };
  Kind kind = Kind::end_of_log;
  Reason reason = Reason::none;
  LogPosition at;
  BlockHeader header;     // cut_short, bad_checksum, out_of_order: the block's header
  uint64_t available = 0; // cut_short: bytes the file holds from `at`
  uint64_t expected = 0;  // out_of_order: the offset that belongs there
  uint64_t bytes = 0;     // torn_tail: bytes from the last complete batch to the log's end

  // Why the log stops here, in words (none at the end of the log).
  std::optional<std::string> why() const;
};

// Whether a SegmentReader requires each block to start at the offset after
// the previous one. Recovery reads the log as a sequence (checked); a
// PartitionReader finds records by the offsets block headers name, walking
// forward from where INDEX points (unchecked).
enum class BlockOrder { checked, unchecked };

struct SegmentReaderOptions {
  // Where segment files come from: shared handles (readers), or opened
  // afresh when null (recovery, which may remove segments).
  FileCache* files = nullptr;
  // A stop before it is damage; none given: every stop is.
  std::optional<LogPosition> acknowledged_end;
  BlockOrder order = BlockOrder::checked;
};

class SegmentReader {
public:
  // Reads the segments of partition directory `dir` from `start`.
  SegmentReader(Env* env, std::string dir, LogPosition start, SegmentReaderOptions options = {});
  ~SegmentReader();

  struct Block {
    LogPosition at;
    BlockHeader header;
    std::string_view bytes; // the whole block, checksum verified
  };

  // Reads the next block into *block: true. At a stop, false, and stop()
  // says why. Status errors are I/O errors. block->bytes points into `buffer`, valid until the next
  // call with it. After a stop the reader stays there.
  Result<bool> next(std::string& buffer, Block* block);
  const SegmentStop& stop() const { return m_stop; }
  // The header of the block at position() in its segment, unchecked by the
  // checksum and without moving on; none when no valid header is there,
  // not_found when the segment is missing.
  Result<std::optional<BlockHeader>> peek_header();
  // Where the next block is read.
  LogPosition position() const { return m_at; }
  // The end of the last block read that ends a batch (the start before one).
  LogPosition committed() const { return m_committed; }
  // Goes to another block start; the next block may have any first offset
  // and starts a batch.
  void seek(LogPosition at);
  // Closes the open segment file (the place is kept).
  void release();

private:
  Status open(uint32_t segment);
  bool next_segment_exists() const;
  Result<bool> stopped(SegmentStop stop);

  Env* m_env;
  std::string m_dir;
  SegmentReaderOptions m_options;
  LogPosition m_at;
  LogPosition m_committed;
  std::optional<uint64_t> m_expected; // the first offset of the next block
  std::shared_ptr<File> m_file;
  std::optional<uint32_t> m_file_segment;
  // The size of m_file, looked up once it matters and again only when a
  // block seems to pass it (a segment grows only by appends).
  std::optional<uint64_t> m_file_size;
  SegmentStop m_stop;
};

// Whether the bytes read where a block header belongs (any number, up to
// k_block_header_size) are all zero: space set ahead of the log, which ends
// the segment's blocks (docs/FORMAT.md §Segment). Zero bytes never parse as
// a header, so nothing else reads as this.
bool no_block_here(std::string_view header_bytes);

// Segment numbers present in dir, ascending.
Result<std::vector<uint32_t>> list_segments(Env* env, const std::string& dir);
// Bytes the log holds from `from` to its end, over `segments` (listed):
// up to each file's size, except that a segment holding zero bytes where
// its part would begin (space set ahead) counts nothing.
Result<uint64_t> log_bytes_after(Env* env, const std::string& dir,
                                 const std::vector<uint32_t>& segments, LogPosition from);
// The first offset a segment stores, from its first block header; none when
// the segment is missing or begins with no valid header.
Result<std::optional<uint64_t>> segment_first_offset(Env* env, const std::string& dir,
                                                     uint32_t segment);
// The first offset of the lowest segment listed in `segments` (ascending,
// not empty). Compaction in another process may remove that segment
// meanwhile: then the directory is listed again into `segments`.
Result<std::optional<uint64_t>> lowest_segment_start(Env* env, const std::string& dir,
                                                     std::vector<uint32_t>& segments);
// The newest record timestamp segment `segment` holds, reading its blocks
// (none when it holds no valid block).
Result<std::optional<int64_t>> segment_newest_timestamp(Env* env, const std::string& dir,
                                                        uint32_t segment);
// How many segments from the front of `segments` (ascending) compaction
// removes: each whose successor in the list starts at or below keep_from,
// up to the first that may not go. Segments numbered `active` or higher
// (the one HEAD appends to, and any past it) never go.
Result<size_t> reclaimable_segments(Env* env, const std::string& dir,
                                    const std::vector<uint32_t>& segments, uint64_t keep_from,
                                    uint32_t active);

} // namespace merkql
