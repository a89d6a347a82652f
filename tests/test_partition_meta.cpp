// partition_meta: HEAD's two slots, INDEX and TREE positions and counts, and
// the rule telling whether the files hold what HEAD publishes
// (docs/FORMAT.md §Head, §Index, §Tree).
#include <doctest/doctest.h>

#include <merkql/coding.h>
#include <merkql/format.h>
#include <merkql/partition_meta.h>

#include <bit>
#include <string>
#include <vector>

using namespace merkql;
using namespace merkql::format;

namespace {

Hash hash_of(uint8_t byte)
{
  Hash h;
  h.fill(byte);
  return h;
}

PartitionHead sample_head(uint64_t sequence, uint64_t next_offset)
{
  PartitionHead h;
  h.sequence = sequence;
  h.next_offset = next_offset;
  h.segment = 3;
  h.segment_end = 123456;
  for (int i = 0; i < std::popcount(next_offset % k_chunk_records); ++i) {
    h.low_peaks.push_back(hash_of(static_cast<uint8_t>(sequence + i)));
  }
  return h;
}

void check_same(const PartitionHead& a, const PartitionHead& b)
{
  CHECK(a.sequence == b.sequence);
  CHECK(a.next_offset == b.next_offset);
  CHECK(a.segment == b.segment);
  CHECK(a.segment_end == b.segment_end);
  CHECK(a.low_peaks == b.low_peaks);
}

// HEAD's 512 bytes after writing `heads` in order, each at its slot.
std::string head_file_of(const std::vector<PartitionHead>& heads)
{
  std::string file(2 * k_head_slot_size, '\0');
  for (const PartitionHead& h : heads) {
    file.replace(head_slot_position(h.sequence), k_head_slot_size, encode_head_slot(h));
  }
  return file;
}

} // namespace

TEST_SUITE_BEGIN("merkql::PartitionMeta");

TEST_CASE("a HEAD slot round-trips every field")
{
  for (uint64_t n : {uint64_t{0}, uint64_t{1}, uint64_t{63}, uint64_t{64}, uint64_t{1000003}}) {
    const PartitionHead h = sample_head(7, n);
    const std::string slot = encode_head_slot(h);
    REQUIRE(slot.size() == k_head_slot_size);
    CHECK(get_u32(slot.data()) == k_head_magic);
    CHECK(get_u32(slot.data() + k_head_slot_size - 4) == crc32c(slot.data(), k_head_slot_size - 4));
    auto back = decode_head_slot(slot);
    REQUIRE(back.has_value());
    check_same(*back, h);
  }
}

TEST_CASE("the slot of sequence s is at byte (s mod 2) * 256")
{
  CHECK(head_slot_position(0) == 0);
  CHECK(head_slot_position(1) == k_head_slot_size);
  CHECK(head_slot_position(2) == 0);
}

TEST_CASE("the valid slot with the higher sequence is the head")
{
  auto h = decode_head(head_file_of({sample_head(4, 10), sample_head(5, 20)}));
  REQUIRE(h.has_value());
  CHECK(h->sequence == 5);
  CHECK(h->next_offset == 20);
}

TEST_CASE("a torn newer slot falls back to the older")
{
  std::string file = head_file_of({sample_head(4, 10), sample_head(5, 20)});
  file[head_slot_position(5) + 17] ^= 0x40; // a bit of next_offset in the newer slot
  auto h = decode_head(file);
  REQUIRE(h.has_value());
  CHECK(h->sequence == 4);
  CHECK(h->next_offset == 10);
}

TEST_CASE("a HEAD holding only its first slot reads as that slot")
{
  const std::string file = head_file_of({sample_head(2, 9)});
  auto h = decode_head(std::string_view(file).substr(0, k_head_slot_size));
  REQUIRE(h.has_value());
  CHECK(h->sequence == 2);
}

TEST_CASE("no valid slot reads as no head")
{
  CHECK_FALSE(decode_head(std::string(2 * k_head_slot_size, '\0')).has_value());
  CHECK_FALSE(decode_head("").has_value());
  std::string slot = encode_head_slot(sample_head(1, 5));
  slot[0] ^= 1; // magic
  CHECK_FALSE(decode_head_slot(slot).has_value());
}

TEST_CASE("a slot of another format version is not valid")
{
  std::string slot = encode_head_slot(sample_head(1, 5));
  slot[4] = 2; // version 2, checksum made right again
  slot.resize(k_head_slot_size - 4);
  put_u32(slot, crc32c(slot));
  CHECK_FALSE(decode_head_slot(slot).has_value());
}

TEST_CASE("the low-peak count must equal the popcount of next_offset mod 64")
{
  PartitionHead h = sample_head(1, 5); // 5 = 0b101: two low peaks
  REQUIRE(h.low_peaks.size() == 2);
  CHECK(decode_head_slot(encode_head_slot(h)).has_value());
  h.low_peaks.push_back(hash_of(9)); // three, with a valid checksum
  CHECK_FALSE(decode_head_slot(encode_head_slot(h)).has_value());
  h.low_peaks.resize(1);
  CHECK_FALSE(decode_head_slot(encode_head_slot(h)).has_value());
}

TEST_CASE("the log start must be on a chunk boundary, less than a chunk past the end")
{
  PartitionHead h = sample_head(1, 75); // 75 = 0b1001011: low peaks of 11 records
  for (uint64_t start : {0u, 64u, 128u}) {
    h.log_start = start;
    CHECK(decode_head_slot(encode_head_slot(h)).has_value());
  }
  for (uint64_t start : {1u, 63u, 75u, 192u, 1u << 20}) {
    h.log_start = start; // with a valid checksum
    CHECK_FALSE(decode_head_slot(encode_head_slot(h)).has_value());
  }
}

TEST_CASE("HEAD keeps only the peaks below chunk height")
{
  std::vector<Peak> peaks = {Peak{NodeId{7, 0}, hash_of(1)}, Peak{NodeId{2, 32}, hash_of(2)},
                             Peak{NodeId{0, 132}, hash_of(3)}};
  CHECK(low_peak_hashes(peaks) == std::vector<Hash>{hash_of(2), hash_of(3)});
}

TEST_CASE("tree_position matches the FORMAT.md §Tree table")
{
  const std::vector<NodeId> order = {{6, 0}, {6, 1}, {7, 0}, {6, 2}, {6, 3},
                                     {7, 1}, {8, 0}, {6, 4}, {6, 5}, {7, 2}};
  for (size_t p = 0; p < order.size(); ++p) {
    CAPTURE(p);
    CHECK(tree_position(order[p]) == p);
  }
}

TEST_CASE("TREE counts follow 2c - popcount(c) and a count maps back to its chunks")
{
  CHECK(tree_nodes_for_chunks(0) == 0);
  CHECK(tree_nodes_for_chunks(1) == 1);
  CHECK(tree_nodes_for_chunks(2) == 3);
  CHECK(tree_nodes_for_chunks(3) == 4);
  CHECK(tree_nodes_for_chunks(4) == 7);
  for (uint64_t c = 0; c < 300; ++c) {
    CAPTURE(c);
    CHECK(tree_chunks_in(tree_nodes_for_chunks(c)) == c);
    // A partial run of nodes (a crash mid-write) counts only whole chunks.
    if (c > 0) {
      CHECK(tree_chunks_in(tree_nodes_for_chunks(c) - 1) == c - 1);
    }
  }
  CHECK(tree_byte_position(2) == k_file_header_size + 2 * k_tree_node_size);
}

TEST_CASE("an INDEX entry round-trips and INDEX has one entry per chunk begun")
{
  std::string out;
  put_index_entry(out, IndexEntry{7, 4096});
  REQUIRE(out.size() == k_index_entry_size);
  CHECK(decode_index_entry(out.data()) == IndexEntry{7, 4096});
  CHECK(index_entry_position(3) == k_file_header_size + 3 * k_index_entry_size);
  CHECK(index_entries_for(0) == 0);
  CHECK(index_entries_for(1) == 1);
  CHECK(index_entries_for(64) == 1);
  CHECK(index_entries_for(65) == 2);
}

TEST_CASE("file headers carry magic and version")
{
  const std::string header = file_header(k_tree_magic);
  REQUIRE(header.size() == k_file_header_size);
  CHECK(get_u32(header.data()) == k_tree_magic);
  CHECK(get_u32(header.data() + 4) == k_format_version);
  CHECK(get_u64(header.data() + 8) == 0);
}

TEST_CASE("the files match HEAD only when segment, TREE, INDEX and the next segment all agree")
{
  const PartitionHead h = sample_head(1, 130); // 2 chunks complete, 3 begun
  TailFiles files;
  files.segment_ends = true; // the file ends there, or zero bytes follow
  files.tree_nodes = tree_nodes_for_chunks(2);
  files.index_entries = 3;
  CHECK(head_matches(h, files));
  TailFiles longer = files;
  longer.segment_ends = false; // a batch written past HEAD's end, not published
  CHECK_FALSE(head_matches(h, longer));
  TailFiles short_tree = files;
  short_tree.tree_nodes -= 1;
  CHECK_FALSE(head_matches(h, short_tree));
  TailFiles extra_entry = files;
  extra_entry.index_entries += 1;
  CHECK_FALSE(head_matches(h, extra_entry));
  TailFiles rolled = files;
  rolled.next_segment_exists = true;
  CHECK_FALSE(head_matches(h, rolled));
}

TEST_SUITE_END();
