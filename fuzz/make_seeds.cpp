// Writes the seed inputs of the fuzz targets: make_seeds OUT_DIR writes
// OUT_DIR/<target>/seed-* for block_decode, topic_decode, offsets_decode,
// timestamp and directory_open. The committed corpora (fuzz/corpus/) started
// from these and grew by fuzzing; see fuzz/README.md.
#include <merkql/broker.h>
#include <merkql/group.h>
#include <merkql/log_block.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace merkql;
namespace fs = std::filesystem;

namespace {

fs::path g_out;

void seed(const std::string& target, const std::string& name, const std::string& bytes)
{
  fs::create_directories(g_out / target);
  std::ofstream(g_out / target / ("seed-" + name), std::ios::binary) << bytes;
}

void block_seeds()
{
  const std::string big(3000, 'r');
  const std::vector<StoredRecordView> records{
    {std::nullopt, R"({"temp":20.5})", 1700000000000000000, true},
    {std::string_view("sensor-a"), R"({"temp":21.5})", 1700000000000000001, true},
    {std::string_view(""), "", 1699999999999999999, false},
    {std::nullopt, big, -5, false},
  };
  const std::vector<StoredRecordView> extremes{{std::nullopt, "a", INT64_MAX},
                                               {std::string_view("k"), "b", INT64_MIN}};
  for (Compression c : {Compression::none, Compression::lz4}) {
    const std::string suffix = compression_name(c);
    std::string block(1, '\0'); // even first byte: decode what follows
    encode_block(records.data(), records.size(), 100, c, true, block);
    seed("block_decode", "records-" + suffix, block);
    block.assign(1, '\0');
    encode_block(records.data(), 1, 0, c, false, block);
    seed("block_decode", "one-record-" + suffix, block);
    block.assign(1, '\0');
    encode_block(extremes.data(), extremes.size(), UINT64_MAX - 1, c, true, block);
    seed("block_decode", "extreme-timestamps-" + suffix, block);
  }
  // Odd first byte: records derived from the bytes, encoded both ways.
  const char derive[] = "\x01"                     // derive records
                        "\0\0\0\0\0\0\0\0\x01"     // first offset 0, batch end
                        "\x02\x05\x03key\x05value" // keyed, small step
                        "\x01\0\0\0\0\0\0\0\x80\x00\x03"
                        "abc"            // INT64_MIN
                        "\x04\x10\x27x"; // a run of 10000 'x'
  seed("block_decode", "derive-records", std::string(derive, sizeof derive - 1));
}

void topic_seeds()
{
  TopicConfig plain;
  TopicConfig retained;
  retained.partitions = 8;
  retained.compression = Compression::none;
  retained.retention.max_records = 1000;
  retained.segment_bytes = 4096;
  for (const auto& [name, config] :
       {std::pair{"default", plain}, std::pair{"retained", retained}}) {
    seed("topic_decode", name, std::string(1, '\0') + encode_topic_config(config));
    // Odd first byte: the target recomputes the CRC, so edits reach the checks.
    seed("topic_decode", std::string(name) + "-crc-fixed",
         std::string(1, '\x01') + encode_topic_config(config));
  }
}

void offsets_seeds()
{
  std::map<TopicPartition, uint64_t> none;
  std::map<TopicPartition, uint64_t> some{{{"t", 0}, 75}, {{"t", 1}, 12}, {{"u", 0}, 100}};
  seed("offsets_decode", "empty", std::string(1, '\0') + encode_group_offsets(none));
  seed("offsets_decode", "three", std::string(1, '\0') + encode_group_offsets(some));
  seed("offsets_decode", "three-crc-fixed", std::string(1, '\x01') + encode_group_offsets(some));
}

void timestamp_seeds()
{
  for (const char* text :
       {"2023-11-14T22:13:20Z", "2023-11-14t22:13:20.5z", "2023-11-15T00:13:20+02:00",
        "2262-04-11T23:47:16.854775807Z", "1677-09-21T00:12:43.145224192Z",
        "2023-11-14T22:13:20.1234567891Z", "2016-12-31T23:59:60Z"}) {
    seed("timestamp", text, text);
  }
}

// directory_open reads a list of mutations: kind (bit 7: recompute the
// checksums), file of that kind, operation, then the operation's arguments
// (see mutate() in directory_open_fuzz.cpp; an overwrite's length byte is
// one less than the bytes that follow).
void directory_seeds()
{
  enum { marker, topic, head, index, tree, segment, offsets, other };
  enum { overwrite, flip, truncate, extend, remove, replace, sibling, remove_dir };
  auto m = [](int kind, int file, int op, const std::string& args = {}) {
    return std::string{static_cast<char>(kind), static_cast<char>(file), static_cast<char>(op)}
           + args;
  };
  auto forged = [&](int kind, int file, int op, const std::string& args = {}) {
    return m(kind | 0x80, file, op, args);
  };
  const std::string pos0("\0\0", 2);
  seed("directory_open", "untouched", "");
  seed("directory_open", "marker-overwritten",
       m(marker, 0, overwrite,
         pos0
           + "\x02"
             "MQX"));
  seed("directory_open", "marker-deleted", m(marker, 0, remove));
  // TOPIC: partitions (bytes 8-11) set to 2^32 - 1, checksum recomputed.
  seed("directory_open", "topic-many-partitions",
       forged(topic, 0, overwrite, std::string("\x08\x00\x03\xff\xff\xff\xff", 7)));
  seed("directory_open", "topic-deleted", m(topic, 0, remove));
  // HEAD: next_offset (bytes 16-23 of slot 1, the newer) set high, forged.
  seed("directory_open", "head-next-offset-high",
       forged(head, 0, overwrite, std::string("\x10\x01\x07\x00\x00\x00\x00\x00\x01\x00\x00", 11)));
  seed("directory_open", "head-truncated", m(head, 1, truncate, std::string("\x00\x01", 2)));
  seed("directory_open", "index-flipped", m(index, 0, flip, std::string("\x11\x00\x03", 3)));
  seed("directory_open", "tree-truncated", m(tree, 0, truncate, std::string("\x20\x00", 2)));
  seed("directory_open", "segment-cut-short", m(segment, 1, truncate, std::string("\x00\x08", 2)));
  seed("directory_open", "segment-deleted", m(segment, 0, remove));
  // A block's record_count (bytes 12-15 of the first header) made huge, forged.
  seed("directory_open", "segment-record-count",
       forged(segment, 4, overwrite, std::string("\x0c\x00\x03\xff\xff\xff\xff", 7)));
  seed("directory_open", "segment-extra",
       m(segment, 3, sibling, std::string("\x24", 1) + std::string(36, 'M')));
  seed("directory_open", "segment-zero-tail", m(segment, 7, extend, std::string("\0\0\x10", 3)));
  seed("directory_open", "offsets-replaced",
       forged(offsets, 0, replace,
              std::string("\x10\x00MQGO\x01\x00\x00\x00\xff\xff\xff\xff"
                          "crc!",
                          18)));
  seed("directory_open", "group-removed", m(offsets, 0, remove_dir));
  seed("directory_open", "partition-removed", m(head, 2, remove_dir));
  seed("directory_open", "lock-replaced", m(other, 2, replace, std::string("\x04\x00junk", 6)));
}

} // namespace

int main(int argc, char** argv)
{
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds OUT_DIR\n");
    return 2;
  }
  g_out = argv[1];
  block_seeds();
  topic_seeds();
  offsets_seeds();
  timestamp_seeds();
  directory_seeds();
  return 0;
}
