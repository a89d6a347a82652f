// SegmentReader and the segment listing: how the log reads across segment
// files and why it stops (docs/FORMAT.md §Segment, §Crash and recovery),
// in the style of leveldb's log_test catalogue.
#include "support/test_dir.h"

#include <merkql/coding.h>
#include <merkql/filename.h>
#include <merkql/format.h>
#include <merkql/merkql.h>
#include <merkql/segment.h>

#include <fmt/format.h>

#include <filesystem>
#include <string>
#include <vector>

using namespace merkql;
using merkql::test::corrupt;
using merkql::test::read_bytes;
using merkql::test::TestDir;
using merkql::test::unwrap;
using merkql::test::write_bytes;

namespace {

// One batch of n records from offset first, as blocks of at most
// block_bytes raw bytes.
std::string batch(uint64_t first, size_t n, uint32_t block_bytes = 64u << 10)
{
  std::vector<std::string> values;
  for (size_t i = 0; i < n; ++i) {
    values.push_back("value " + std::to_string(first + i));
  }
  std::vector<StoredRecordView> views;
  for (const std::string& v : values) {
    views.push_back(StoredRecordView{std::nullopt, v, 1700000000000000000, false});
  }
  std::string out;
  encode_batch(views, first, Compression::none, block_bytes, out);
  return out;
}

struct Read {
  std::vector<SegmentReader::Block> blocks;
  SegmentStop stop;
  LogPosition committed;
};

// Reads every block from start until the reader stops.
Read read_all(const std::string& dir, LogPosition start,
              std::optional<LogPosition> acknowledged_end = std::nullopt)
{
  SegmentReader reader(
    Env::posix(), dir, start,
    {.files = nullptr, .acknowledged_end = acknowledged_end, .order = BlockOrder::checked});
  Read out;
  std::string buffer;
  for (int guard = 0; guard < 10000; ++guard) {
    SegmentReader::Block block;
    if (!unwrap(reader.next(buffer, &block))) {
      break;
    }
    block.bytes = {}; // not valid past the next call
    out.blocks.push_back(block);
  }
  out.stop = reader.stop();
  out.committed = reader.committed();
  return out;
}

std::string seg(const TestDir& dir, uint32_t n)
{
  return segment_file(dir.path(), n);
}

using Kind = SegmentStop::Kind;
using Reason = SegmentStop::Reason;

} // namespace

TEST_SUITE_BEGIN("merkql::SegmentReader");

TEST_CASE("reading zero bytes past the end of the last segment is the end of the log")
{
  TestDir dir;
  const std::string log = batch(0, 10) + batch(10, 5);
  write_bytes(seg(dir, 0), log);
  Read r = read_all(dir.path(), {}, LogPosition{0, log.size()});
  REQUIRE(r.blocks.size() == 2);
  CHECK(r.blocks[0].header.first_offset == 0);
  CHECK(r.blocks[1].header.first_offset == 10);
  CHECK(r.blocks[1].at == LogPosition{0, batch(0, 10).size()});
  CHECK(r.stop.kind == Kind::end_of_log);
  CHECK(r.stop.reason == Reason::none);
  CHECK(r.stop.at == LogPosition{0, log.size()});
  CHECK_FALSE(r.stop.why().has_value());
  CHECK(r.committed == LogPosition{0, log.size()});
}

TEST_CASE("an empty segment is the end of an empty log")
{
  TestDir dir;
  write_bytes(seg(dir, 0), "");
  Read r = read_all(dir.path(), {}, LogPosition{});
  CHECK(r.blocks.empty());
  CHECK(r.stop.kind == Kind::end_of_log);
}

TEST_CASE("a short block header at the end is a torn tail")
{
  TestDir dir;
  const std::string first = batch(0, 10);
  write_bytes(seg(dir, 0), first + batch(10, 5).substr(0, 20));
  Read r = read_all(dir.path(), {}, LogPosition{0, first.size()});
  CHECK(r.blocks.size() == 1);
  CHECK(r.stop.kind == Kind::torn_tail);
  CHECK(r.stop.reason == Reason::no_header);
  CHECK(r.stop.at == LogPosition{0, first.size()});
  CHECK(r.stop.bytes == 20);
}

TEST_CASE("a short block at the end is a torn tail, with the bytes it left")
{
  TestDir dir;
  const std::string first = batch(0, 10);
  const std::string second = batch(10, 5);
  write_bytes(seg(dir, 0), first + second.substr(0, second.size() - 3));
  Read r = read_all(dir.path(), {}, LogPosition{0, first.size()});
  CHECK(r.stop.kind == Kind::torn_tail);
  CHECK(r.stop.reason == Reason::cut_short);
  CHECK(r.stop.available == second.size() - 3);
  CHECK(r.stop.bytes == second.size() - 3);
  CHECK(r.stop.why()
        == fmt::format("a block of {} bytes cut short after {}", second.size(), second.size() - 3));
}

TEST_CASE("a bad block with acknowledged data after it is damage")
{
  TestDir dir;
  const std::string first = batch(0, 10);
  const std::string log = first + batch(10, 5);
  write_bytes(seg(dir, 0), log);
  corrupt(seg(dir, 0), format::k_block_header_size + 3, 1); // in the first block's records
  Read r = read_all(dir.path(), {}, LogPosition{0, log.size()});
  CHECK(r.blocks.empty());
  CHECK(r.stop.kind == Kind::damage);
  CHECK(r.stop.reason == Reason::bad_checksum);
  CHECK(r.stop.at == LogPosition{0, 0});
  CHECK(r.stop.why() == "a block that fails its checksum");
}

TEST_CASE("a bad block past the acknowledged end is a torn tail")
{
  TestDir dir;
  const std::string first = batch(0, 10);
  const std::string second = batch(10, 5);
  write_bytes(seg(dir, 0), first + second);
  corrupt(seg(dir, 0), first.size() + format::k_block_header_size + 3, 1);
  Read r = read_all(dir.path(), {}, LogPosition{0, first.size()});
  CHECK(r.blocks.size() == 1);
  CHECK(r.stop.kind == Kind::torn_tail);
  CHECK(r.stop.reason == Reason::bad_checksum);
  CHECK(r.stop.bytes == second.size());
}

TEST_CASE("the log ending before the acknowledged end is damage")
{
  TestDir dir;
  const std::string first = batch(0, 10);
  write_bytes(seg(dir, 0), first);
  Read r = read_all(dir.path(), {}, LogPosition{0, first.size() + 100});
  CHECK(r.stop.kind == Kind::damage);
  CHECK(r.stop.reason == Reason::none);
}

TEST_CASE("without an acknowledged end every stop is damage")
{
  TestDir dir;
  write_bytes(seg(dir, 0), batch(0, 10));
  Read r = read_all(dir.path(), {});
  CHECK(r.blocks.size() == 1);
  CHECK(r.stop.kind == Kind::damage);
}

TEST_CASE("a batch missing its last block is a torn tail back to the batch's start")
{
  TestDir dir;
  const std::string first = batch(0, 10);
  const std::string split = batch(10, 200, 256); // several blocks
  write_bytes(seg(dir, 0), first + split);
  const auto blocks = read_all(dir.path(), {}).blocks;
  REQUIRE(blocks.size() > 3);
  CHECK_FALSE(blocks[1].header.is_batch_end());
  CHECK(blocks.back().header.is_batch_end());
  // Drop the batch's last block: what is left of it is no batch.
  const uint64_t cut = blocks.back().at.position;
  write_bytes(seg(dir, 0), (first + split).substr(0, cut));
  Read r = read_all(dir.path(), {}, LogPosition{0, first.size()});
  CHECK(r.blocks.size() == blocks.size() - 1);
  CHECK(r.stop.kind == Kind::torn_tail);
  CHECK(r.stop.reason == Reason::none);
  CHECK(r.committed == LogPosition{0, first.size()});
  CHECK(r.stop.bytes == cut - first.size());
}

TEST_CASE("continues into the next segment")
{
  TestDir dir;
  const std::string second = batch(10, 5);
  write_bytes(seg(dir, 0), batch(0, 10));
  write_bytes(seg(dir, 1), second);
  Read r = read_all(dir.path(), {}, LogPosition{1, second.size()});
  REQUIRE(r.blocks.size() == 2);
  CHECK(r.blocks[1].at == LogPosition{1, 0});
  CHECK(r.blocks[1].header.first_offset == 10);
  CHECK(r.stop.kind == Kind::end_of_log);
  CHECK(r.stop.at == LogPosition{1, second.size()});
}

TEST_CASE("an empty segment after the last batch is a torn tail")
{
  TestDir dir;
  const std::string first = batch(0, 10);
  write_bytes(seg(dir, 0), first);
  write_bytes(seg(dir, 1), "");
  Read r = read_all(dir.path(), {}, LogPosition{0, first.size()});
  CHECK(r.stop.kind == Kind::torn_tail);
  CHECK(r.stop.at == LogPosition{1, 0});
  CHECK(r.stop.bytes == 0);
}

TEST_CASE("a block that does not follow the one before is out of order")
{
  TestDir dir;
  const std::string first = batch(0, 10);
  const std::string log = first + batch(20, 5);
  write_bytes(seg(dir, 0), log);
  Read r = read_all(dir.path(), {}, LogPosition{0, log.size()});
  CHECK(r.blocks.size() == 1);
  CHECK(r.stop.kind == Kind::damage);
  CHECK(r.stop.reason == Reason::out_of_order);
  CHECK(r.stop.expected == 10);
  CHECK(r.stop.why() == "a block starting at offset 20 where offset 10 belongs");
}

TEST_CASE("a seek starts afresh: the next block may have any first offset")
{
  TestDir dir;
  const std::string first = batch(0, 10);
  write_bytes(seg(dir, 0), first + batch(10, 5));
  SegmentReader reader(Env::posix(), dir.path(), LogPosition{0, first.size()});
  std::string buffer;
  SegmentReader::Block block;
  REQUIRE(unwrap(reader.next(buffer, &block)));
  CHECK(block.header.first_offset == 10);
  reader.seek(LogPosition{0, 0});
  REQUIRE(unwrap(reader.next(buffer, &block)));
  CHECK(block.header.first_offset == 0);
}

TEST_CASE("a missing segment is a stop, not an error")
{
  TestDir dir;
  Read r = read_all(dir.path(), LogPosition{5, 0});
  CHECK(r.stop.reason == Reason::missing_segment);
  CHECK(r.stop.kind == Kind::damage);
  CHECK(r.stop.at == LogPosition{5, 0});
}

TEST_CASE("blocks out of order are not checked when the caller locates records by offset")
{
  TestDir dir;
  const std::string first = batch(0, 10);
  write_bytes(seg(dir, 0), first + batch(20, 5));
  SegmentReader reader(
    Env::posix(), dir.path(), {},
    {.files = nullptr, .acknowledged_end = std::nullopt, .order = BlockOrder::unchecked});
  std::string buffer;
  SegmentReader::Block block;
  REQUIRE(unwrap(reader.next(buffer, &block)));
  REQUIRE(unwrap(reader.next(buffer, &block)));
  CHECK(block.header.first_offset == 20);
}

TEST_CASE("a segment's first offset comes from its first header, checksum or not")
{
  TestDir dir;
  write_bytes(seg(dir, 3), batch(640, 10));
  CHECK(unwrap(segment_first_offset(Env::posix(), dir.path(), 3)) == 640);
  corrupt(seg(dir, 3), format::k_block_header_size + 1, 1);
  CHECK(unwrap(segment_first_offset(Env::posix(), dir.path(), 3)) == 640);
  CHECK_FALSE(unwrap(segment_first_offset(Env::posix(), dir.path(), 4)).has_value());
  write_bytes(seg(dir, 5), "");
  CHECK_FALSE(unwrap(segment_first_offset(Env::posix(), dir.path(), 5)).has_value());
}

TEST_CASE("segments are listed once, ascending, and other files ignored")
{
  TestDir dir;
  for (uint32_t s : {12u, 3u, 7u}) {
    write_bytes(seg(dir, s), "x");
  }
  write_bytes(dir.path() + "/HEAD", "");
  write_bytes(dir.path() + "/00000001.log.tmp", "");
  CHECK(unwrap(list_segments(Env::posix(), dir.path())) == std::vector<uint32_t>{3, 7, 12});
}

TEST_CASE("the bytes after a position count the rest of its segment and every later one")
{
  TestDir dir;
  write_bytes(seg(dir, 1), std::string(100, 'a'));
  write_bytes(seg(dir, 2), std::string(50, 'b'));
  write_bytes(seg(dir, 3), std::string(7, 'c'));
  const std::vector<uint32_t> segments = {1, 2, 3};
  CHECK(unwrap(log_bytes_after(Env::posix(), dir.path(), segments, {2, 20})) == 30 + 7);
  CHECK(unwrap(log_bytes_after(Env::posix(), dir.path(), segments, {3, 7})) == 0);
  CHECK(unwrap(log_bytes_after(Env::posix(), dir.path(), segments, {})) == 157);
}

TEST_CASE("compaction may remove a segment only when the next one starts at or below keep_from")
{
  TestDir dir;
  // Segments of 64 records each: 0..63, 64..127, 128..191, 192..255.
  for (uint32_t s = 0; s < 4; ++s) {
    write_bytes(seg(dir, s), batch(64 * s, 64));
  }
  const std::vector<uint32_t> all = {0, 1, 2, 3};
  auto reclaimable = [&](uint64_t keep_from, uint32_t active) {
    return unwrap(reclaimable_segments(Env::posix(), dir.path(), all, keep_from, active));
  };
  CHECK(reclaimable(0, 3) == 0);
  CHECK(reclaimable(63, 3) == 0);
  CHECK(reclaimable(64, 3) == 1);
  CHECK(reclaimable(130, 3) == 2);
  CHECK(reclaimable(192, 3) == 3);
  CHECK(reclaimable(192, 2) == 2);  // never the active segment
  CHECK(reclaimable(1000, 9) == 3); // never the last one
}

TEST_SUITE_END();
