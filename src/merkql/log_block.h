// A log block: a run of consecutive records of one partition, optionally LZ4
// compressed, behind a checksummed header (docs/FORMAT.md §Segment). The
// writer groups a batch into blocks; readers decode one block at a time.
// Topic, partition and offset are not stored per record: they follow from
// where the block lives and its first offset. Pure code; thread-compatible.
#pragma once

#include <merkql/options.h>
#include <merkql/record.h>
#include <merkql/status.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace merkql {

struct BlockHeader {
  uint32_t crc = 0;
  uint32_t stored_size = 0; // payload bytes following the header
  uint32_t raw_size = 0;    // payload bytes after decompression
  uint32_t record_count = 0;
  uint64_t first_offset = 0;
  int64_t base_timestamp = 0;
  Compression compression = Compression::none;
  uint8_t flags = 0;

  uint64_t total_size() const;
  bool is_batch_end() const;
  bool has_json_values() const;
};

// Parses the fixed header; nullopt when magic or fields are implausible
// (e.g. zero bytes past the end of the log).
std::optional<BlockHeader> parse_block_header(std::string_view bytes);
// True when crc covers header and payload correctly.
bool block_checksum_ok(std::string_view block);

// Appends one encoded block holding `records` (first offset first_offset).
// The block's JSON flag is set when every record's value_is_json is.
void encode_block(const StoredRecordView* records, size_t count, uint64_t first_offset,
                  Compression compression, bool batch_end, std::string& out);

// Lays out a batch of records (first offset first_offset) as blocks of at
// most block_bytes raw bytes and k_max_block_records records each, a new
// block wherever value_is_json changes (so that each block's JSON flag is
// exact for every record), the last one marked as the batch's end,
// appended to out. Returns where each
// block starts: (index of its first record, byte position in out).
std::vector<std::pair<size_t, uint64_t>> encode_batch(const std::vector<StoredRecordView>& records,
                                                      uint64_t first_offset,
                                                      Compression compression, uint32_t block_bytes,
                                                      std::string& out);

// Decodes the records of a checksummed block into views over `scratch`;
// only its first max_records when fewer are asked for, decompressing (about)
// only the bytes they need.
Status decode_block(std::string_view block, std::string& scratch,
                    std::vector<StoredRecordView>& out, uint32_t max_records = UINT32_MAX);

} // namespace merkql
