// Every knob and limit a user of the library sets: compression, retention,
// segment sizes, repair, locking and consumer settings, in one place (the
// broker, partition and consumer headers take them from here). Plain values;
// the on-disk meaning of each is in docs/FORMAT.md §Topic and §Segment.
#pragma once

#include <merkql/env.h>
#include <merkql/status.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace merkql {

class FileCache;

// How a block's records are stored (docs/FORMAT.md §Segment).
enum class Compression : uint8_t { none = 0, lz4 = 1 };
// "none" or "lz4", and back (none for any other name).
const char* compression_name(Compression c);
std::optional<Compression> parse_compression(std::string_view name);

// A record's key plus value, at most: one record always fits in one block.
constexpr uint64_t k_max_record_bytes = 256ull << 20;

// Whether opening a partition repairs what a crash left (a torn tail, stale
// HEAD, TREE or INDEX) under the partition lock, or leaves the files exactly
// as they are (for audits and other read-only looks).
enum class Repair { on_open, never };

// How much of each partition's log is kept (docs/FORMAT.md §Retention).
// Every limit set applies; none set keeps everything. Whole segments are
// removed, oldest first, when a segment rolls and by compact(); so the log
// of a partition holds at most max_bytes plus one segment.
struct RetentionConfig {
  // Newest records kept visible: older ones are hidden at once and their
  // segments removed once a whole segment lies below.
  std::optional<uint64_t> max_records = {};
  // Bytes of log segments per partition, the active one included.
  std::optional<uint64_t> max_bytes = {};
  // A closed segment goes once its newest record's timestamp is older than
  // this many milliseconds.
  std::optional<uint64_t> max_age_ms = {};
  bool operator==(const RetentionConfig&) const = default;
  // Whether any limit is set.
  bool limited() const { return max_records || max_bytes || max_age_ms; }
};

// The default segment size: 1 MiB, small enough that a small gateway's
// retention frees space soon (docs/FORMAT.md §Retention).
constexpr uint64_t k_default_segment_bytes = 1ull << 20;

struct PartitionOptions {
  Compression compression = Compression::lz4;
  RetentionConfig retention;
  uint64_t segment_bytes = k_default_segment_bytes;
  // Estimated uncompressed bytes per block, at most (docs/FORMAT.md
  // §Segment). 128 KiB holds a default batch of 1,000 short records (the
  // estimate counts 20 bytes per record over key and value) in one block, and
  // one block per batch compresses better than two: 8.78 against 9.42 bytes
  // per record with LZ4 on the bench workload (log_block.cc). A proof reads
  // at most this much of a block.
  uint32_t block_bytes = 128u << 10;
  Wait lock_wait = Wait::yes;
  Repair repair = Repair::on_open; // never: open every file read-only, create nothing
  // Open files shared with other partitions (a broker's); nullptr: its own.
  std::shared_ptr<FileCache> file_cache;
  // invalid_argument unless the segment size is within the format's bounds
  // and every retention limit is at least 1 (TopicConfig's check uses it).
  Status validate() const;
};

// A topic's settings, stored in its TOPIC file. Partitions and compression
// are fixed at creation; retention and segment size may change
// (Broker::alter_topic).
struct TopicConfig {
  uint32_t partitions = 1;
  Compression compression = Compression::lz4;
  RetentionConfig retention;
  uint64_t segment_bytes = k_default_segment_bytes;
  bool operator==(const TopicConfig&) const = default;
};

// How a data directory is opened, and the settings of topics created
// without explicit ones. `BrokerConfig config("path")` gives the defaults:
// topics created on first use, one partition, LZ4, no retention.
struct BrokerConfig {
  BrokerConfig() = default;
  explicit BrokerConfig(std::string path) : dir(std::move(path)) {}

  std::string dir;
  Compression compression = Compression::lz4; // for auto-created topics
  RetentionConfig default_retention;          // for auto-created topics
  bool auto_create_topics = true;
  uint32_t default_partitions = 1;
  uint64_t segment_bytes = k_default_segment_bytes; // for auto-created topics
  Create create = Create::if_missing;               // create the directory if missing
  Wait lock_wait = Wait::yes;                       // wait for locks, or fail with busy
  Repair repair = Repair::on_open;                  // never: opening changes nothing on disk
  Env* env = nullptr;                               // nullptr: Env::posix()

  // The settings a topic created on first use gets.
  TopicConfig default_topic() const
  {
    return TopicConfig{.partitions = default_partitions,
                       .compression = compression,
                       .retention = default_retention,
                       .segment_bytes = segment_bytes};
  }
};

enum class OffsetReset { earliest, latest };
enum class Coordination { none, file_locks };

struct ConsumerConfig {
  std::string group_id;
  bool auto_commit = false;
  OffsetReset offset_reset = OffsetReset::latest;
  size_t max_poll_records = 500;
  Coordination coordination = Coordination::none;
  // Like Kafka, commit the position a partition starts from when the group
  // has no commit for it yet (so Latest skips only the history seen then).
  bool commit_start_position = true;
  std::chrono::milliseconds rebalance_interval{250};
};

} // namespace merkql
