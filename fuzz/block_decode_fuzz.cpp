// Fuzz target: log blocks (src/merkql/log_block.h).
// First input byte even: the rest is a block as read from a segment; it must
// be parsed, checksummed and decoded without crashing, and a block that
// decodes must re-encode to records that decode the same.
// First input byte odd: the rest describes records; each is encoded without
// and with LZ4, and must decode to exactly what was encoded; laid out as a
// batch of small blocks, they must decode the same.
#include "fuzz_support.h"

#include <merkql/coding.h>
#include <merkql/format.h>
#include <merkql/log_block.h>

#include <string>
#include <vector>

using namespace merkql;
using merkql::fuzz::FuzzInput;

namespace {

void check_same(const std::vector<StoredRecordView>& a, const std::vector<StoredRecordView>& b)
{
  MERKQL_FUZZ_CHECK(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    MERKQL_FUZZ_CHECK(a[i].key == b[i].key);
    MERKQL_FUZZ_CHECK(a[i].value == b[i].value);
    MERKQL_FUZZ_CHECK(a[i].timestamp == b[i].timestamp);
  }
}

// Encodes records as one block, checks the header says what was asked, and
// decodes it back.
void round_trip(const std::vector<StoredRecordView>& records, uint64_t first_offset,
                Compression compression, bool batch_end)
{
  std::string block;
  encode_block(records.data(), records.size(), first_offset, compression, batch_end, block);
  auto header = parse_block_header(block);
  MERKQL_FUZZ_CHECK(header.has_value());
  MERKQL_FUZZ_CHECK(header->total_size() == block.size());
  MERKQL_FUZZ_CHECK(header->record_count == records.size());
  MERKQL_FUZZ_CHECK(header->first_offset == first_offset);
  MERKQL_FUZZ_CHECK(header->is_batch_end() == batch_end);
  MERKQL_FUZZ_CHECK(block_checksum_ok(block));
  bool all_json = true;
  for (const auto& r : records) {
    all_json = all_json && r.value_is_json;
  }
  MERKQL_FUZZ_CHECK(header->has_json_values() == all_json);
  std::string scratch;
  std::vector<StoredRecordView> decoded;
  Status s = decode_block(block, scratch, decoded);
  MERKQL_FUZZ_CHECK(s.is_ok(), s.message());
  check_same(records, decoded);
}

// Lays records out as a batch of small blocks: the blocks must follow each
// other in offsets and bytes, only the last ends the batch, and together
// they decode to the records.
void batch_round_trip(const std::vector<StoredRecordView>& records, uint64_t first_offset,
                      uint32_t block_bytes)
{
  std::string out;
  const auto starts = encode_batch(records, first_offset, Compression::none, block_bytes, out);
  MERKQL_FUZZ_CHECK(!starts.empty());
  std::vector<StoredRecordView> all;
  std::vector<std::string> scratches(starts.size());
  uint64_t pos = 0;
  for (size_t b = 0; b < starts.size(); ++b) {
    MERKQL_FUZZ_CHECK(starts[b].second == pos);
    auto header = parse_block_header(std::string_view(out).substr(pos));
    MERKQL_FUZZ_CHECK(header.has_value());
    MERKQL_FUZZ_CHECK(header->first_offset == first_offset + starts[b].first);
    MERKQL_FUZZ_CHECK(header->is_batch_end() == (b + 1 == starts.size()));
    std::vector<StoredRecordView> decoded;
    const std::string_view block = std::string_view(out).substr(pos, header->total_size());
    Status s = decode_block(block, scratches[b], decoded);
    MERKQL_FUZZ_CHECK(s.is_ok(), s.message());
    all.insert(all.end(), decoded.begin(), decoded.end());
    pos += header->total_size();
  }
  MERKQL_FUZZ_CHECK(pos == out.size());
  check_same(records, all);
}

void decode_arbitrary(std::string_view bytes)
{
  auto header = parse_block_header(bytes);
  (void)block_checksum_ok(bytes);
  std::string scratch;
  std::vector<StoredRecordView> records;
  Status s = decode_block(bytes, scratch, records);
  if (!s.is_ok()) {
    MERKQL_FUZZ_CHECK(s.is_corruption(), s.message());
    return;
  }
  MERKQL_FUZZ_CHECK(header.has_value());
  MERKQL_FUZZ_CHECK(records.size() == header->record_count);
  // What decodes must survive being written again, in either compression.
  round_trip(records, header->first_offset, Compression::none, header->is_batch_end());
  round_trip(records, header->first_offset, Compression::lz4, header->is_batch_end());
}

void encode_derived(FuzzInput& in)
{
  std::vector<std::string> keys;
  std::vector<std::string> values;
  std::vector<StoredRecordView> records;
  const uint64_t first_offset = in.u64();
  const bool batch_end = in.flag();
  // Strings are reserved up front so the views into them stay valid.
  keys.reserve(64);
  values.reserve(64);
  int64_t timestamp = 1700000000000000000;
  while (!in.empty() && records.size() < 64) {
    const uint8_t shape = in.u8();
    StoredRecordView r;
    // Timestamps: a small step from the previous one, or any int64 at all.
    if (shape & 0x01) {
      timestamp = static_cast<int64_t>(in.u64());
    } else {
      timestamp = static_cast<int64_t>(static_cast<uint64_t>(timestamp)
                                       + static_cast<uint64_t>(static_cast<int8_t>(in.u8())));
    }
    r.timestamp = timestamp;
    if (shape & 0x02) {
      keys.emplace_back(in.bytes(in.u8()));
      r.key = keys.back();
    }
    // Values: bytes from the input, or a long run (compressible).
    if (shape & 0x04) {
      values.emplace_back(size_t{in.u16()} % 20000, static_cast<char>(in.u8()));
    } else {
      values.emplace_back(in.bytes(in.u8()));
    }
    r.value = values.back();
    r.value_is_json = shape & 0x08;
    records.push_back(r);
  }
  if (records.empty()) {
    return;
  }
  round_trip(records, first_offset, Compression::none, batch_end);
  round_trip(records, first_offset, Compression::lz4, batch_end);
  batch_round_trip(records, first_offset % (uint64_t{1} << 62),
                   1 + static_cast<uint32_t>(first_offset % 4096));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  if (size == 0) {
    return 0;
  }
  if (data[0] % 2 == 0) {
    decode_arbitrary(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  } else {
    FuzzInput in(data + 1, size - 1);
    encode_derived(in);
  }
  return 0;
}
