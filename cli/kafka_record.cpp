#include "kafka_record.h"

#include "common.h"
#include "json_in.h"
#include "json_out.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <set>

namespace merkql::cli {

namespace {

using Json = nlohmann::json;

KafkaRecordRead invalid(std::string why)
{
  KafkaRecordRead read;
  read.kind = KafkaRecordRead::Kind::invalid;
  read.message = "not a kcat -J record line: " + std::move(why);
  return read;
}

// The integer member `name`, when present; false when it is there and not
// an integer in int64 range.
bool integer_member(const Json& doc, const char* name, std::optional<int64_t>& out)
{
  auto it = doc.find(name);
  if (it == doc.end()) {
    return true;
  }
  if (it->is_number_unsigned()) {
    const auto v = it->get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return false;
    }
    out = static_cast<int64_t>(v);
    return true;
  }
  if (it->is_number_integer()) {
    out = it->get<int64_t>();
    return true;
  }
  return false;
}

bool string_member(const Json& doc, const char* name, std::optional<std::string>& out)
{
  auto it = doc.find(name);
  if (it == doc.end()) {
    return true;
  }
  if (!it->is_string()) {
    return false;
  }
  out = it->get<std::string>();
  return true;
}

// A member that must be there, a string or null.
bool nullable_string_member(const Json& doc, const char* name, std::optional<std::string>& out)
{
  auto it = doc.find(name);
  if (it == doc.end() || !(it->is_string() || it->is_null())) {
    return false;
  }
  if (it->is_string()) {
    out = it->get<std::string>();
  }
  return true;
}

// Shortened, printable text of a key or value for a message.
std::string shown(const std::optional<std::string>& text)
{
  if (!text) {
    return "null";
  }
  constexpr size_t max = 40;
  std::string out;
  append_json_string(out, text->size() > max ? text->substr(0, max) : *text);
  return printable(out) + (text->size() > max ? fmt::format("... ({} bytes)", text->size()) : "");
}

// Finds a member name the top-level object has twice: JSON leaves its
// meaning open (nlohmann keeps the last, other readers the first).
struct TopLevelNames : CountingSax {
  std::set<std::string> seen;
  std::string repeated;
  bool key(std::string& name)
  {
    if (depth == 1 && !seen.insert(name).second) {
      repeated = name;
      return false;
    }
    return true;
  }
};

} // namespace

KafkaRecordRead parse_kafka_record_line(std::string_view text)
{
  Json doc;
  try {
    doc = parse_json_limited(text);
  } catch (const Json::exception& e) {
    std::string why = "invalid JSON: " + json_error_text(e.what());
    if (why.find("UTF-8") != std::string::npos) {
      why += " (kcat writes a key or value that is not UTF-8 as raw bytes, which JSON cannot "
             "hold: such a record cannot be checked from kcat's output)";
    }
    return invalid(std::move(why));
  } catch (const std::runtime_error& e) { // JsonTooDeep, JsonNulByte
    return invalid(std::string("invalid JSON: ") + e.what());
  }
  if (!doc.is_object()) {
    return invalid("not a JSON object");
  }
  TopLevelNames names;
  if (!Json::sax_parse(text.begin(), text.end(), &names) && !names.repeated.empty()) {
    return invalid(fmt::format("member \"{}\" appears more than once", printable(names.repeated)));
  }
  KafkaRecordRead read;
  KafkaRecordLine& line = read.line;
  auto malformed = [](const char* name, const char* what) {
    return invalid(fmt::format("member \"{}\" is not {}", name, what));
  };
  if (!string_member(doc, "topic", line.topic)) {
    return malformed("topic", "a string");
  }
  if (!integer_member(doc, "partition", line.partition)) {
    return malformed("partition", "an integer");
  }
  if (!integer_member(doc, "offset", line.offset)) {
    return malformed("offset", "an integer");
  }
  if (!string_member(doc, "tstype", line.tstype)) {
    return malformed("tstype", "a string");
  }
  if (!integer_member(doc, "ts", line.ts)) {
    return malformed("ts", "an integer");
  }
  if (!nullable_string_member(doc, "key", line.key)) {
    return malformed("key", "present, a string or null");
  }
  if (!nullable_string_member(doc, "payload", line.value)) {
    return malformed("payload", "present, a string or null");
  }
  if (auto it = doc.find("headers"); it != doc.end()) {
    if (!it->is_array() || it->size() % 2 != 0) {
      return malformed("headers", "an array of names and values");
    }
    for (size_t i = 0; i < it->size(); i += 2) {
      const Json& name = (*it)[i];
      const Json& value = (*it)[i + 1];
      if (!name.is_string() || !(value.is_string() || value.is_null())) {
        return malformed("headers", "an array alternating string names and string or null values");
      }
      std::string header = name.get<std::string>();
      if (value.is_null()) {
        if (header.starts_with("merkql.")) {
          return invalid(fmt::format("header {} has a null value", printable(header)));
        }
        continue;
      }
      line.headers.push_back(KafkaHeader{std::move(header), value.get<std::string>()});
    }
  }
  read.kind = KafkaRecordRead::Kind::ok;
  return read;
}

KafkaRecordRead read_kafka_record_fd(int fd, uint64_t max_bytes)
{
  std::string text;
  if (!read_all(fd, text, max_bytes)) {
    KafkaRecordRead read;
    read.kind = KafkaRecordRead::Kind::io_error;
    read.message = std::strerror(errno);
    return read;
  }
  if (text.size() > max_bytes) {
    return invalid(fmt::format("longer than {} bytes", max_bytes));
  }
  return parse_kafka_record_line(text);
}

std::string kafka_record_mismatch(const KafkaRecordLine& line, const ForwardedRecord& rebuilt,
                                  const RecordProof& proof)
{
  const Record& k = rebuilt.record;
  const Record& p = proof.record;
  if (k.topic != p.topic) {
    return fmt::format("topic differs: the Kafka record has {} {}, the proof is of topic {}",
                       k_header_topic, printable(k.topic), printable(p.topic));
  }
  if (k.partition != p.partition) {
    return fmt::format("partition differs: the Kafka record has {} {}, the proof is of "
                       "partition {}",
                       k_header_partition, k.partition, p.partition);
  }
  if (k.offset != p.offset) {
    return fmt::format("offset differs: the Kafka record has {} {}, the proof is of offset {}",
                       k_header_offset, k.offset, p.offset);
  }
  if (k.timestamp != p.timestamp) {
    return fmt::format("timestamp differs: the Kafka record has {} {}, the proven record's "
                       "timestamp is {}",
                       k_header_timestamp, format_timestamp(k.timestamp),
                       format_timestamp(p.timestamp));
  }
  // librdkafka takes a timestamp of 0 for "now": a record of the first
  // millisecond of 1970 reaches Kafka with the time it was produced.
  const int64_t ms = kafka_timestamp_ms(p.timestamp);
  if (line.tstype == "create" && line.ts && ms != 0 && *line.ts != ms) {
    return fmt::format("timestamp differs: the Kafka record's CreateTime is {} ms, the proven "
                       "record's timestamp {} is {} ms",
                       *line.ts, format_timestamp(p.timestamp), ms);
  }
  if (k.key != p.key) {
    return fmt::format("key differs: the Kafka record's key is {}, the proven record's is {}",
                       shown(k.key), shown(p.key));
  }
  if (!line.value) {
    return fmt::format("value differs: the Kafka record's value is null, the proven record's "
                       "is {}",
                       shown(p.value));
  }
  if (k.value != p.value) {
    return fmt::format("value differs: the Kafka record's value is {}, the proven record's is {}",
                       shown(k.value), shown(p.value));
  }
  if (rebuilt.claimed_hash && *rebuilt.claimed_hash != proof.record_hash) {
    return fmt::format("hash differs: the Kafka record has {} {}, the proven record's hash is {}",
                       k_header_hash, to_hex(*rebuilt.claimed_hash), to_hex(proof.record_hash));
  }
  if (const Hash h = record_hash(k); h != proof.record_hash) {
    return fmt::format("hash differs: the Kafka record hashes to {}, the proven record to {}",
                       to_hex(h), to_hex(proof.record_hash));
  }
  return {};
}

} // namespace merkql::cli
