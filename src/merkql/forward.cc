#include <merkql/forward.h>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>

namespace merkql {

namespace {

// Canonical decimal text: digits only, no sign, no leading zero but "0".
std::optional<uint64_t> parse_decimal(std::string_view text, uint64_t max)
{
  if (text.empty() || text.size() > 20 || (text.size() > 1 && text[0] == '0')) {
    return std::nullopt;
  }
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > max) {
    return std::nullopt;
  }
  return value;
}

} // namespace

void forward_headers(std::string_view topic, uint32_t partition, uint64_t offset,
                     TimestampNs timestamp, const Hash& record_hash, std::vector<KafkaHeader>& out)
{
  out.resize(5);
  out[0].name.assign(k_header_topic);
  out[0].value.assign(topic);
  char text[32];
  out[1].name.assign(k_header_partition);
  out[1].value.assign(text, std::to_chars(text, text + sizeof text, partition).ptr);
  out[2].name.assign(k_header_offset);
  out[2].value.assign(text, std::to_chars(text, text + sizeof text, offset).ptr);
  out[3].name.assign(k_header_timestamp);
  out[3].value.assign(text, format_timestamp(timestamp, text));
  out[4].name.assign(k_header_hash);
  to_hex(record_hash, out[4].value);
}

std::vector<KafkaHeader> forward_headers(std::string_view topic, uint32_t partition,
                                         uint64_t offset, TimestampNs timestamp,
                                         const Hash& record_hash)
{
  std::vector<KafkaHeader> out;
  forward_headers(topic, partition, offset, timestamp, record_hash, out);
  return out;
}

int64_t kafka_timestamp_ms(TimestampNs timestamp)
{
  const int64_t ms = timestamp / 1000000;
  return timestamp % 1000000 < 0 ? ms - 1 : ms;
}

Result<ForwardedRecord> record_from_kafka(std::optional<std::string_view> key,
                                          std::string_view value,
                                          const std::vector<KafkaHeader>& headers)
{
  std::map<std::string_view, std::string_view> found;
  for (const KafkaHeader& h : headers) {
    for (std::string_view name :
         {k_header_topic, k_header_partition, k_header_offset, k_header_timestamp, k_header_hash}) {
      if (h.name == name && !found.emplace(name, h.value).second) {
        return Status::invalid_argument(fmt::format("header {} appears more than once", name));
      }
    }
  }
  for (std::string_view name :
       {k_header_topic, k_header_partition, k_header_offset, k_header_timestamp}) {
    if (!found.count(name)) {
      return Status::invalid_argument(fmt::format("header {} is missing", name));
    }
  }
  ForwardedRecord out;
  Record& r = out.record;
  r.topic = std::string(found[k_header_topic]);
  if (r.topic.empty()) {
    return Status::invalid_argument(fmt::format("header {} is empty", k_header_topic));
  }
  auto partition = parse_decimal(found[k_header_partition], std::numeric_limits<uint32_t>::max());
  if (!partition) {
    return Status::invalid_argument(fmt::format("header {} is not a partition number: \"{}\"",
                                                k_header_partition, found[k_header_partition]));
  }
  r.partition = static_cast<uint32_t>(*partition);
  auto offset = parse_decimal(found[k_header_offset], std::numeric_limits<uint64_t>::max());
  if (!offset) {
    return Status::invalid_argument(
      fmt::format("header {} is not an offset: \"{}\"", k_header_offset, found[k_header_offset]));
  }
  r.offset = *offset;
  const std::string_view time_text = found[k_header_timestamp];
  auto timestamp = parse_timestamp(time_text);
  if (!timestamp.is_ok() || format_timestamp(*timestamp) != time_text) {
    return Status::invalid_argument(fmt::format(
      "header {} is not a timestamp as merkql writes it: \"{}\"", k_header_timestamp, time_text));
  }
  r.timestamp = *timestamp;
  if (key) {
    r.key = std::string(*key);
  }
  r.value = std::string(value);
  if (auto it = found.find(k_header_hash); it != found.end()) {
    auto hash = hash_from_hex(it->second);
    if (!hash || to_hex(*hash) != it->second) {
      return Status::invalid_argument(
        fmt::format("header {} is not 64 lowercase hex digits: \"{}\"", k_header_hash, it->second));
    }
    out.claimed_hash = *hash;
  }
  return out;
}

void DeliveryTracker::sent(const TopicPartition& tp, uint64_t offset)
{
  Pending& p = m_partitions[tp];
  p.sent.emplace_back(offset, false);
  p.next = offset + 1;
  ++m_in_flight;
}

void DeliveryTracker::skip_to(const TopicPartition& tp, uint64_t offset)
{
  Pending& p = m_partitions[tp];
  p.next = std::max(p.next, offset);
}

bool DeliveryTracker::delivered(const TopicPartition& tp, uint64_t offset)
{
  auto it = m_partitions.find(tp);
  if (it == m_partitions.end()) {
    return false;
  }
  auto& sent = it->second.sent;
  auto at = std::lower_bound(sent.begin(), sent.end(), offset,
                             [](const auto& entry, uint64_t o) { return entry.first < o; });
  if (at == sent.end() || at->first != offset || at->second) {
    return false;
  }
  at->second = true;
  --m_in_flight;
  while (!sent.empty() && sent.front().second) {
    sent.pop_front();
  }
  return true;
}

void DeliveryTracker::forget(const TopicPartition& tp)
{
  auto it = m_partitions.find(tp);
  if (it == m_partitions.end()) {
    return;
  }
  for (const auto& [offset, acknowledged] : it->second.sent) {
    m_in_flight -= acknowledged ? 0 : 1;
  }
  m_partitions.erase(it);
}

std::map<TopicPartition, uint64_t> DeliveryTracker::committable() const
{
  std::map<TopicPartition, uint64_t> out;
  for (const auto& [tp, p] : m_partitions) {
    out[tp] = p.sent.empty() ? p.next : p.sent.front().first;
  }
  return out;
}

} // namespace merkql
