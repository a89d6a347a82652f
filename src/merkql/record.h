// A stored record and its canonical encoding and hash (docs/FORMAT.md §Record
// hash, identical to the reference merkql: see shared COMPAT rules). Also the
// UTC timestamp text used inside that encoding, and key routing.
// Pure functions; thread-safe.
#pragma once

#include <merkql/sha256.h>
#include <merkql/status.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace merkql {

// Nanoseconds since 1970-01-01T00:00:00Z (negative before it).
using TimestampNs = int64_t;
// The longest timestamp text: "YYYY-MM-DDTHH:MM:SS.fffffffffZ".
constexpr size_t k_max_timestamp_text = 30;

struct Record {
  std::optional<std::string> key;
  std::string value;
  std::string topic;
  uint32_t partition = 0;
  uint64_t offset = 0;
  TimestampNs timestamp = 0;
  // Not part of the record or its hash: the writer vouched that value is
  // one line of valid JSON text.
  bool value_is_json = false;

  bool operator==(const Record&) const = default;
};

// A record's body as a log block stores it, viewing the block's bytes:
// topic, partition and offset follow from where the block lives.
struct StoredRecordView {
  std::optional<std::string_view> key;
  std::string_view value;
  TimestampNs timestamp = 0;
  // The writer vouched that value is valid JSON text on one line.
  bool value_is_json = false;
};

// The canonical byte encoding the record hash covers.
std::string encode_record(const Record& record);
void encode_record(const Record& record, std::string& out);

// SHA-256 of encode_record(record); ctx is reused across calls.
Hash record_hash(const Record& record, Sha256& ctx);
Hash record_hash(const Record& record);
// The hash of a stored record at `offset` of topic/partition, for one record
// at a time; RecordHasher below does the same for a partition's records
// (appends, recovery, proofs and the audit hash through it).
Hash record_hash(const StoredRecordView& record, std::string_view topic, uint32_t partition,
                 uint64_t offset, Sha256& ctx);

// Hashes the stored records of one topic partition, as record_hash above but
// cheaper per record: the topic and partition bytes are encoded once, a run
// of records sharing a timestamp (a batch stamped with one clock reading)
// formats it once, and the encoding is built in a buffer kept across calls,
// so a record costs no allocation once the buffer fits the largest record.
// A value used by one thread; topic must outlive it.
class RecordHasher {
public:
  RecordHasher(std::string_view topic, uint32_t partition);
  Hash hash(const StoredRecordView& record, uint64_t offset, Sha256& ctx);
  // The record's leaf in the partition's tree: leaf_hash(hash(...), offset).
  Hash leaf(const StoredRecordView& record, uint64_t offset, Sha256& ctx);

private:
  std::string_view m_topic;
  uint32_t m_partition;
  std::string m_buffer; // grows to the largest encoding, never shrinks
  TimestampNs m_timestamp = 0;
  size_t m_timestamp_size = 0; // 0: m_timestamp_text holds nothing yet
  char m_timestamp_text[k_max_timestamp_text];
};

// "YYYY-MM-DDTHH:MM:SS[.fff|.ffffff|.fffffffff]Z" (fraction as short as exact).
std::string format_timestamp(TimestampNs ns);
// The same text written at out (room for k_max_timestamp_text bytes); returns
// its length. No allocation: record hashing formats one per record.
size_t format_timestamp(TimestampNs ns, char* out);
// Accepts RFC 3339 ("2023-11-14T22:13:20.5Z", "...+02:00", lower-case t/z).
Result<TimestampNs> parse_timestamp(std::string_view text);

// Partition of a keyed record: big-endian u32 of SHA-256(key)[0..4) mod count.
uint32_t route_key(std::string_view key, uint32_t partition_count);

} // namespace merkql
