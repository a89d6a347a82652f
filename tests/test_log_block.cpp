#include "support/test_dir.h"

#include <merkql/coding.h>
#include <merkql/format.h>
#include <merkql/log_block.h>

#include <fmt/format.h>

using namespace merkql;
using merkql::test::require_ok;

namespace {

std::string block_of(const std::vector<StoredRecordView>& records, Compression c,
                     bool batch_end = true)
{
  std::string out;
  encode_block(records.data(), records.size(), 100, c, batch_end, out);
  return out;
}

std::vector<StoredRecordView> sample()
{
  static const std::string big(5000, 'z');
  return {
    {std::nullopt, R"({"temp":20.5})", 1700000000000000000},
    {std::string_view("sensor-a"), R"({"temp":21.5})", 1700000000000000001},
    {std::string_view(""), "", 1699999999999999999}, // empty key and value, time going back
    {std::nullopt, big, -5},                         // before the epoch
  };
}

// A block with the given header fields around `payload` and a correct
// checksum, as a malicious or buggy writer could make.
std::string forge_block(std::string_view payload, uint32_t raw_size, uint32_t record_count,
                        Compression c = Compression::none, int64_t base_timestamp = 0)
{
  std::string block;
  put_u32(block, 0);
  put_u32(block, static_cast<uint32_t>(payload.size()));
  put_u32(block, raw_size);
  put_u32(block, record_count);
  put_u64(block, 0);
  put_u64(block, static_cast<uint64_t>(base_timestamp));
  block.push_back(static_cast<char>(c));
  block.push_back(static_cast<char>(format::k_block_flag_batch_end));
  block.push_back(static_cast<char>(format::k_block_magic & 0xff));
  block.push_back(static_cast<char>(format::k_block_magic >> 8));
  block += payload;
  const uint32_t crc = crc32c(block.data() + 4, block.size() - 4);
  for (int i = 0; i < 4; ++i) {
    block[static_cast<size_t>(i)] = static_cast<char>(crc >> (8 * i));
  }
  return block;
}

} // namespace

TEST_SUITE_BEGIN("merkql::LogBlock");

TEST_CASE("blocks round-trip with and without compression")
{
  for (Compression c : {Compression::none, Compression::lz4}) {
    CAPTURE(compression_name(c));
    std::string block = block_of(sample(), c);
    auto header = parse_block_header(block);
    REQUIRE(header.has_value());
    CHECK(header->first_offset == 100);
    CHECK(header->record_count == 4);
    CHECK(header->is_batch_end());
    CHECK(header->total_size() == block.size());
    CHECK(block_checksum_ok(block));
    std::string scratch;
    std::vector<StoredRecordView> out;
    require_ok(decode_block(block, scratch, out));
    auto in = sample();
    REQUIRE(out.size() == in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      CHECK(out[i].key == in[i].key);
      CHECK(out[i].value == in[i].value);
      CHECK(out[i].timestamp == in[i].timestamp);
    }
  }
}

TEST_CASE("a prefix of a block decodes as the whole block's first records")
{
  // Records of varied sizes, so that the share of bytes the prefix needs
  // differs from its share of the records.
  std::vector<std::string> values;
  for (int i = 0; i < 1000; ++i) {
    values.push_back(std::string(static_cast<size_t>(i % 7 == 0 ? 300 : 20), 'a' + i % 26)
                     + std::to_string(i));
  }
  std::vector<StoredRecordView> in;
  for (size_t i = 0; i < values.size(); ++i) {
    in.push_back(StoredRecordView{std::nullopt, values[i], static_cast<int64_t>(i), false});
  }
  for (Compression c : {Compression::none, Compression::lz4}) {
    CAPTURE(compression_name(c));
    std::string block = block_of(in, c);
    std::string scratch;
    std::vector<StoredRecordView> out;
    for (uint32_t count : {1u, 64u, 500u, 999u, 1000u, 5000u}) {
      CAPTURE(count);
      require_ok(decode_block(block, scratch, out, count));
      REQUIRE(out.size() == std::min<size_t>(count, in.size()));
      for (size_t i = 0; i < out.size(); ++i) {
        CHECK(out[i].value == in[i].value);
        CHECK(out[i].timestamp == in[i].timestamp);
      }
    }
  }
}

TEST_CASE("compressible data is stored compressed, incompressible data is not")
{
  std::vector<StoredRecordView> repetitive(50, {std::nullopt, R"({"temp":20.5,"ts":1})", 7});
  auto header = parse_block_header(block_of(repetitive, Compression::lz4));
  CHECK(header->compression == Compression::lz4);
  CHECK(header->stored_size < header->raw_size / 3);
  std::string noise;
  uint32_t x = 12345;
  for (int i = 0; i < 300; ++i) {
    x = x * 1103515245 + 12345;
    noise.push_back(static_cast<char>(x >> 16));
  }
  auto noisy = parse_block_header(block_of({{std::nullopt, noise, 1}}, Compression::lz4));
  CHECK(noisy->compression == Compression::none);
}

TEST_CASE("sensor readings compress to a few bytes per record, and decode back exactly")
{
  // The layout rules' workload (docs/FORMAT.md §Segment): a batch of 1,000
  // readings is one block, which LZ4HC stores in under 7 bytes a record
  // (LZ4_compress_default needed 8.8 on these lines).
  std::vector<std::string> values;
  for (int i = 0; i < 1000; ++i) {
    values.push_back(fmt::format(R"({{"sensor":"sensor-{}","temp":{:.1f},"ts":{}}})", "abcd"[i % 4],
                                 15 + (i * 7 % 200) / 10.0, 1700000000 + i));
  }
  std::vector<StoredRecordView> records;
  for (const std::string& v : values) {
    records.push_back({std::string_view(v).substr(11, 8), v, 1700000000LL * 1000000000LL, true});
  }
  std::string out;
  const auto starts =
    encode_batch(records, 0, Compression::lz4, PartitionOptions{}.block_bytes, out);
  REQUIRE(starts.size() == 1);
  auto header = parse_block_header(out);
  REQUIRE(header);
  CHECK(header->compression == Compression::lz4);
  CHECK(out.size() < 7 * records.size());
  std::string scratch;
  std::vector<StoredRecordView> back;
  require_ok(decode_block(out, scratch, back));
  REQUIRE(back.size() == records.size());
  for (size_t i = 0; i < back.size(); ++i) {
    CHECK(back[i].key == records[i].key);
    CHECK(back[i].value == records[i].value);
    CHECK(back[i].timestamp == records[i].timestamp);
  }
}

TEST_CASE("the JSON flag is set only when the writer vouches for every value")
{
  std::vector<StoredRecordView> all_json{{std::nullopt, "{}", 1, true},
                                         {std::nullopt, "[1]", 2, true}};
  std::vector<StoredRecordView> mixed{{std::nullopt, "{}", 1, true},
                                      {std::nullopt, "text", 2, false}};
  std::string scratch;
  std::vector<StoredRecordView> out;
  std::string block = block_of(all_json, Compression::lz4);
  CHECK(parse_block_header(block)->has_json_values());
  require_ok(decode_block(block, scratch, out));
  CHECK(out[0].value_is_json);
  CHECK(out[1].value_is_json);
  block = block_of(mixed, Compression::none);
  CHECK_FALSE(parse_block_header(block)->has_json_values());
  require_ok(decode_block(block, scratch, out));
  CHECK_FALSE(out[0].value_is_json);
  CHECK_FALSE(out[1].value_is_json);
}

TEST_CASE("a batch starts a block where value_is_json changes, so each record keeps its flag")
{
  const std::vector<StoredRecordView> records{
    {std::nullopt, "{}", 1, true},    {std::nullopt, "[1]", 2, true},
    {std::nullopt, "text", 3, false}, {std::nullopt, "42", 4, false},
    {std::nullopt, "7", 5, true},
  };
  std::string out;
  const auto starts = encode_batch(records, 10, Compression::lz4, 65536, out);
  REQUIRE(starts.size() == 3);
  CHECK(starts[0].first == 0);
  CHECK(starts[1].first == 2);
  CHECK(starts[2].first == 4);
  std::string scratch;
  std::vector<StoredRecordView> decoded;
  size_t next = 0;
  for (size_t b = 0; b < starts.size(); ++b) {
    const size_t end = b + 1 < starts.size() ? starts[b + 1].second : out.size();
    const std::string_view block(out.data() + starts[b].second, end - starts[b].second);
    require_ok(decode_block(block, scratch, decoded));
    for (const StoredRecordView& r : decoded) {
      CHECK(r.value == records[next].value);
      CHECK(r.value_is_json == records[next].value_is_json);
      ++next;
    }
  }
  CHECK(next == records.size());
}

TEST_CASE("zero bytes past the end of the log are not a block")
{
  CHECK_FALSE(parse_block_header(std::string(format::k_block_header_size, '\0')).has_value());
  CHECK_FALSE(parse_block_header("short").has_value());
}

TEST_CASE("every flipped byte is caught by the checksum or the header check")
{
  const std::string good = block_of(sample(), Compression::lz4);
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    auto header = parse_block_header(bad);
    bool rejected = !header || header->total_size() != bad.size() || !block_checksum_ok(bad);
    CAPTURE(i);
    CHECK(rejected);
  }
}

TEST_CASE("a payload that lies about its lengths is corruption, not a crash")
{
  // An uncompressed block whose value length runs past the payload.
  std::string payload;
  put_varint(payload, 0);  // timestamp delta
  put_varint(payload, 0);  // no key
  put_varint(payload, 99); // value length beyond the end
  payload += "abc";
  std::string block = forge_block(payload, static_cast<uint32_t>(payload.size()), 1);
  REQUIRE(block_checksum_ok(block));
  std::string scratch;
  std::vector<StoredRecordView> out;
  CHECK(decode_block(block, scratch, out).is_corruption());
}

TEST_CASE("a block claiming more records than its bytes can hold is corruption, not an allocation")
{
  // Every record takes at least three payload bytes (three one-byte varints),
  // so a count above raw_size / 3 is a lie, whatever the compression.
  const std::string value(200, 'v');
  std::string scratch;
  std::vector<StoredRecordView> out;
  for (Compression c : {Compression::none, Compression::lz4}) {
    CAPTURE(compression_name(c));
    std::string block = block_of({{std::nullopt, value, 1}}, c);
    REQUIRE(parse_block_header(block)->compression == c);
    const uint32_t claimed = format::k_max_block_records; // the most a header may claim
    for (int i = 0; i < 4; ++i) {
      block[12 + static_cast<size_t>(i)] = static_cast<char>(claimed >> (8 * i));
    }
    const uint32_t crc = crc32c(block.data() + 4, block.size() - 4);
    for (int i = 0; i < 4; ++i) {
      block[static_cast<size_t>(i)] = static_cast<char>(crc >> (8 * i));
    }
    REQUIRE(parse_block_header(block).has_value());
    REQUIRE(parse_block_header(block)->record_count == claimed);
    REQUIRE(block_checksum_ok(block));
    CHECK(decode_block(block, scratch, out).is_corruption());
    CHECK(out.capacity() < 1024);
  }
}

TEST_CASE("an LZ4 block claiming a raw size its payload cannot expand to allocates nothing")
{
  // LZ4 expands a byte to at most 255; a 64-byte payload claiming 256 MiB is a lie.
  const std::string garbage(64, '\x55');
  for (uint32_t raw : {256u << 20, format::k_max_block_stored_size}) {
    CAPTURE(raw);
    std::string block = forge_block(garbage, raw, 1, Compression::lz4);
    REQUIRE(parse_block_header(block).has_value());
    std::string scratch;
    std::vector<StoredRecordView> out;
    CHECK(decode_block(block, scratch, out).is_corruption());
    CHECK(scratch.capacity() < (1u << 20));
  }
}

TEST_CASE("timestamps at the ends of the range round-trip without overflow")
{
  // Deltas between these overflow int64; they are stored modulo 2^64.
  std::vector<StoredRecordView> records{{std::nullopt, "a", INT64_MAX},
                                        {std::nullopt, "b", INT64_MIN},
                                        {std::nullopt, "c", INT64_MAX},
                                        {std::nullopt, "d", -1},
                                        {std::nullopt, "e", INT64_MIN + 1}};
  for (Compression c : {Compression::none, Compression::lz4}) {
    CAPTURE(compression_name(c));
    std::string block = block_of(records, c);
    std::string scratch;
    std::vector<StoredRecordView> out;
    require_ok(decode_block(block, scratch, out));
    REQUIRE(out.size() == records.size());
    for (size_t i = 0; i < records.size(); ++i) {
      CHECK(out[i].timestamp == records[i].timestamp);
    }
  }
  // A forged delta that wraps decodes to the wrapped value rather than overflowing.
  std::string payload;
  put_varint(payload, zigzag(INT64_MAX)); // INT64_MAX + INT64_MAX wraps to -2
  put_varint(payload, 0);
  put_varint(payload, 0);
  std::string block =
    forge_block(payload, static_cast<uint32_t>(payload.size()), 1, Compression::none, INT64_MAX);
  std::string scratch;
  std::vector<StoredRecordView> out;
  require_ok(decode_block(block, scratch, out));
  REQUIRE(out.size() == 1);
  CHECK(out[0].timestamp == -2);
}

TEST_CASE("a block claiming more than the most records a block may hold is not a block")
{
  // Legal by size (3 bytes per record fit), refused by count: decoding it
  // would hold a view per record.
  const uint32_t count = format::k_max_block_records + 1;
  std::string payload(static_cast<size_t>(count) * 3, '\0');
  for (size_t i = 0; i < payload.size(); i += 3) {
    payload[i + 1] = 0; // key_tag 0: no key
    payload[i + 2] = 0; // value length 0
  }
  const std::string block = forge_block(payload, static_cast<uint32_t>(payload.size()), count);
  CHECK_FALSE(parse_block_header(block).has_value());
  std::string scratch;
  std::vector<StoredRecordView> views;
  CHECK_FALSE(decode_block(block, scratch, views).is_ok());
}

TEST_SUITE_END();
