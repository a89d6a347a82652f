// The forwarding contract (merkql/forward.h): which offsets a forwarder may
// commit, and how a merkql record is rebuilt from a Kafka record.
#include <doctest/doctest.h>

#include <merkql/forward.h>

#include <cctype>
#include <limits>
#include <map>
#include <set>

using namespace merkql;

TEST_SUITE_BEGIN("merkql::forward");

namespace {

const TopicPartition tp0{"t", 0};
const TopicPartition tp1{"t", 1};
const TopicPartition other{"u", 0};

uint64_t committable(const DeliveryTracker& tracker, const TopicPartition& tp)
{
  const auto all = tracker.committable();
  auto it = all.find(tp);
  REQUIRE(it != all.end());
  return it->second;
}

const int64_t k_second = 1000000000LL;
const int64_t k_2023 = 1700000000LL * k_second; // 2023-11-14T22:13:20Z

Record sample(std::optional<std::string> key, TimestampNs timestamp)
{
  Record r;
  r.topic = "readings";
  r.partition = 3;
  r.offset = 41;
  r.timestamp = timestamp;
  r.key = std::move(key);
  r.value = R"({"reading":7})";
  return r;
}

std::vector<KafkaHeader> headers_of(const Record& r)
{
  return forward_headers(r.topic, r.partition, r.offset, r.timestamp, record_hash(r));
}

// Sets the value of header `name` (which must be there).
std::vector<KafkaHeader> with_header(std::vector<KafkaHeader> headers, std::string_view name,
                                     std::string value)
{
  bool found = false;
  for (KafkaHeader& h : headers) {
    if (h.name == name) {
      h.value = std::move(value);
      found = true;
    }
  }
  REQUIRE(found);
  return headers;
}

std::vector<KafkaHeader> without_header(std::vector<KafkaHeader> headers, std::string_view name)
{
  std::erase_if(headers, [&](const KafkaHeader& h) { return h.name == name; });
  return headers;
}

// record_from_kafka refuses the headers with a message naming `name`.
void check_refused(const std::vector<KafkaHeader>& headers, std::string_view name,
                   std::string_view why)
{
  auto r = record_from_kafka(std::string_view("k"), "v", headers);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == Status::Code::invalid_argument);
  CHECK(r.status().message().find(name) != std::string::npos);
  CHECK_MESSAGE(r.status().message().find(why) != std::string::npos, r.status().message());
}

} // namespace

TEST_CASE("delivery tracker: acknowledgements in order commit one past each")
{
  DeliveryTracker tracker;
  CHECK(tracker.committable().empty());
  for (uint64_t o = 10; o < 15; ++o) {
    tracker.sent(tp0, o);
  }
  CHECK(tracker.in_flight() == 5);
  CHECK(committable(tracker, tp0) == 10);
  for (uint64_t o = 10; o < 15; ++o) {
    tracker.delivered(tp0, o);
    CHECK(committable(tracker, tp0) == o + 1);
  }
  CHECK(tracker.in_flight() == 0);
  CHECK(tracker.committable().size() == 1);
}

TEST_CASE("delivery tracker: out of order acknowledgements wait for the oldest")
{
  DeliveryTracker tracker;
  for (uint64_t o = 0; o < 5; ++o) {
    tracker.sent(tp0, o);
  }
  tracker.delivered(tp0, 4);
  tracker.delivered(tp0, 2);
  tracker.delivered(tp0, 1);
  CHECK(committable(tracker, tp0) == 0); // 0 not acknowledged
  CHECK(tracker.in_flight() == 2);
  tracker.delivered(tp0, 0);
  CHECK(committable(tracker, tp0) == 3); // 3 not acknowledged, 4 is
  tracker.delivered(tp0, 3);
  CHECK(committable(tracker, tp0) == 5);
  CHECK(tracker.in_flight() == 0);
}

TEST_CASE("delivery tracker: gaps in the offsets sent")
{
  DeliveryTracker tracker;
  // Retention removed 3..9 before they were sent.
  tracker.sent(tp0, 1);
  tracker.sent(tp0, 2);
  tracker.sent(tp0, 10);
  tracker.sent(tp0, 20);
  tracker.delivered(tp0, 10);
  CHECK(committable(tracker, tp0) == 1);
  tracker.delivered(tp0, 1);
  CHECK(committable(tracker, tp0) == 2);
  tracker.delivered(tp0, 2);
  CHECK(committable(tracker, tp0) == 20); // never past 20, which is not acknowledged
  tracker.delivered(tp0, 20);
  CHECK(committable(tracker, tp0) == 21);
  // A first record sent at a high offset: nothing before it is claimed.
  tracker.sent(tp1, 1000);
  CHECK(committable(tracker, tp1) == 1000);
}

TEST_CASE("delivery tracker: repeated and unknown acknowledgements are ignored")
{
  DeliveryTracker tracker;
  tracker.delivered(tp0, 0); // nothing sent in tp0 yet
  CHECK(tracker.committable().empty());
  tracker.sent(tp0, 5);
  tracker.sent(tp0, 7);
  tracker.delivered(tp0, 6);   // a gap: never sent
  tracker.delivered(tp0, 8);   // beyond what was sent
  tracker.delivered(tp0, 4);   // below what was sent
  tracker.delivered(other, 5); // another topic
  tracker.delivered(tp1, 5);   // another partition
  CHECK(tracker.in_flight() == 2);
  CHECK(committable(tracker, tp0) == 5);
  CHECK(tracker.committable().size() == 1);
  tracker.delivered(tp0, 7);
  tracker.delivered(tp0, 7); // repeated: in flight does not go down twice
  CHECK(tracker.in_flight() == 1);
  CHECK(committable(tracker, tp0) == 5);
  tracker.delivered(tp0, 5);
  CHECK(tracker.in_flight() == 0);
  CHECK(committable(tracker, tp0) == 8);
  tracker.delivered(tp0, 5); // repeated after it left the window
  tracker.delivered(tp0, 7);
  CHECK(tracker.in_flight() == 0);
  CHECK(committable(tracker, tp0) == 8);
  // Sending more after everything was acknowledged holds the commit again.
  tracker.sent(tp0, 8);
  CHECK(committable(tracker, tp0) == 8);
  CHECK(tracker.in_flight() == 1);
}

TEST_CASE("delivery tracker: partitions are independent")
{
  DeliveryTracker tracker;
  for (uint64_t o = 0; o < 3; ++o) {
    tracker.sent(tp0, o);
    tracker.sent(tp1, o + 100);
    tracker.sent(other, o);
  }
  CHECK(tracker.in_flight() == 9);
  tracker.delivered(tp1, 100);
  tracker.delivered(tp1, 101);
  tracker.delivered(other, 1);
  const auto c = tracker.committable();
  REQUIRE(c.size() == 3);
  CHECK(c.at(tp0) == 0);
  CHECK(c.at(tp1) == 102);
  CHECK(c.at(other) == 0);
  CHECK(tracker.in_flight() == 6);
}

TEST_CASE("delivery tracker: the commit is never past an unacknowledged record")
{
  // Random orders of acknowledgement over several partitions, against the
  // rule itself: committable is the lowest unacknowledged offset sent.
  uint64_t seed = 12345;
  auto next = [&seed]() {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return seed >> 33;
  };
  for (int round = 0; round < 50; ++round) {
    DeliveryTracker tracker;
    std::map<TopicPartition, std::vector<uint64_t>> sent;
    std::map<TopicPartition, std::set<uint64_t>> acked;
    std::vector<std::pair<TopicPartition, uint64_t>> pending;
    for (uint32_t p = 0; p < 3; ++p) {
      const TopicPartition tp{"t", p};
      uint64_t offset = next() % 5;
      for (int i = 0; i < 20; ++i) {
        tracker.sent(tp, offset);
        sent[tp].push_back(offset);
        pending.emplace_back(tp, offset);
        offset += 1 + (next() % 4 == 0 ? next() % 10 : 0); // some gaps
      }
    }
    while (!pending.empty()) {
      const size_t i = next() % pending.size();
      const auto [tp, offset] = pending[i];
      pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(i));
      tracker.delivered(tp, offset);
      if (next() % 3 == 0) {
        tracker.delivered(tp, offset); // a repeat
      }
      acked[tp].insert(offset);
      const auto c = tracker.committable();
      for (const auto& [part, offsets] : sent) {
        uint64_t expected = offsets.back() + 1;
        for (uint64_t o : offsets) {
          if (!acked[part].count(o)) {
            expected = o;
            break;
          }
        }
        REQUIRE(c.at(part) == expected);
      }
      REQUIRE(tracker.in_flight() == pending.size());
    }
  }
}

TEST_CASE("kafka timestamps are whole milliseconds rounded toward minus infinity")
{
  CHECK(kafka_timestamp_ms(0) == 0);
  CHECK(kafka_timestamp_ms(999999) == 0);
  CHECK(kafka_timestamp_ms(1000000) == 1);
  CHECK(kafka_timestamp_ms(k_2023 + 123456789) == 1700000000123LL);
  CHECK(kafka_timestamp_ms(-1) == -1);
  CHECK(kafka_timestamp_ms(-999999) == -1);
  CHECK(kafka_timestamp_ms(-1000000) == -1);
  CHECK(kafka_timestamp_ms(-1000001) == -2);
  CHECK(kafka_timestamp_ms(-1500000) == -2);
  CHECK(kafka_timestamp_ms(std::numeric_limits<int64_t>::max()) == 9223372036854LL);
  CHECK(kafka_timestamp_ms(std::numeric_limits<int64_t>::min()) == -9223372036855LL);
}

TEST_CASE("forward headers are the five merkql headers, in order, as text")
{
  const Record r = sample("k", k_2023 + 500000000);
  const Hash h = record_hash(r);
  const auto headers = headers_of(r);
  REQUIRE(headers.size() == 5);
  CHECK(headers[0] == KafkaHeader{"merkql.topic", "readings"});
  CHECK(headers[1] == KafkaHeader{"merkql.partition", "3"});
  CHECK(headers[2] == KafkaHeader{"merkql.offset", "41"});
  CHECK(headers[3] == KafkaHeader{"merkql.timestamp", "2023-11-14T22:13:20.500Z"});
  CHECK(headers[4] == KafkaHeader{"merkql.hash", to_hex(h)});
  CHECK(headers[4].value.size() == 64);
  const auto big = forward_headers("t", std::numeric_limits<uint32_t>::max(),
                                   std::numeric_limits<uint64_t>::max(), 0, h);
  CHECK(big[1].value == "4294967295");
  CHECK(big[2].value == "18446744073709551615");
  CHECK(big[3].value == "1970-01-01T00:00:00Z");
}

TEST_CASE("record_from_kafka rebuilds the record and its hash")
{
  const std::vector<TimestampNs> times = {
    k_2023, k_2023 + 500000000, k_2023 + 123456, k_2023 + 123456789, 0, -1, -1500000, -k_second,
    999,    -5 * k_second - 1,
  };
  for (const TimestampNs t : times) {
    for (const std::optional<std::string>& key :
         {std::optional<std::string>("sensor-7"), std::optional<std::string>(),
          std::optional<std::string>("")}) {
      const Record r = sample(key, t);
      CAPTURE(format_timestamp(t));
      auto got = record_from_kafka(r.key ? std::optional<std::string_view>(*r.key) : std::nullopt,
                                   r.value, headers_of(r));
      REQUIRE(got.is_ok());
      const Record& b = got->record;
      CHECK(b.topic == r.topic);
      CHECK(b.partition == r.partition);
      CHECK(b.offset == r.offset);
      CHECK(b.timestamp == r.timestamp);
      CHECK(b.key == r.key);
      CHECK(b.value == r.value);
      CHECK(record_hash(b) == record_hash(r));
      REQUIRE(got->claimed_hash);
      CHECK(*got->claimed_hash == record_hash(r));
    }
  }
  // An empty key is not a null key: the hashes differ.
  CHECK(record_hash(sample("", k_2023)) != record_hash(sample(std::nullopt, k_2023)));
}

TEST_CASE("record_from_kafka ignores other headers and takes merkql.hash as optional")
{
  const Record r = sample("k", k_2023);
  auto headers = headers_of(r);
  headers.insert(headers.begin(), KafkaHeader{"traceparent", "00-abc"});
  headers.push_back(KafkaHeader{"merkql.other", "x"});
  headers.push_back(KafkaHeader{"Merkql.Topic", "elsewhere"});
  auto got = record_from_kafka(std::string_view("k"), r.value, headers);
  REQUIRE(got.is_ok());
  CHECK(record_hash(got->record) == record_hash(r));
  auto no_hash =
    record_from_kafka(std::string_view("k"), r.value, without_header(headers_of(r), k_header_hash));
  REQUIRE(no_hash.is_ok());
  CHECK_FALSE(no_hash->claimed_hash);
  CHECK(record_hash(no_hash->record) == record_hash(r));
  // The claimed hash is reported as given, not checked here.
  const std::string zeros(64, '0');
  auto claimed = record_from_kafka(std::string_view("k"), r.value,
                                   with_header(headers_of(r), k_header_hash, zeros));
  REQUIRE(claimed.is_ok());
  CHECK(to_hex(*claimed->claimed_hash) == zeros);
}

TEST_CASE("record_from_kafka refuses a missing or repeated header")
{
  const auto headers = headers_of(sample("k", k_2023));
  for (std::string_view name :
       {k_header_topic, k_header_partition, k_header_offset, k_header_timestamp}) {
    CAPTURE(name);
    check_refused(without_header(headers, name), name, "missing");
  }
  for (std::string_view name :
       {k_header_topic, k_header_partition, k_header_offset, k_header_timestamp, k_header_hash}) {
    CAPTURE(name);
    auto twice = headers;
    for (const KafkaHeader& h : headers) {
      if (h.name == name) {
        twice.push_back(h); // even with the same value
      }
    }
    check_refused(twice, name, "more than once");
  }
  check_refused({}, k_header_topic, "missing");
}

TEST_CASE("record_from_kafka refuses numbers that are not canonical decimal text in range")
{
  const auto headers = headers_of(sample("k", k_2023));
  for (std::string_view name : {k_header_partition, k_header_offset}) {
    CAPTURE(name);
    for (const char* bad : {"007", "00", "+1", "-1", " 1", "1 ", "1.0", "0x10", "1e3", "", "١"}) {
      CAPTURE(bad);
      check_refused(with_header(headers, name, bad), name, "not a");
    }
    check_refused(with_header(headers, name, "18446744073709551616"), name, "not a");
    check_refused(with_header(headers, name, "99999999999999999999999"), name, "not a");
    CHECK(record_from_kafka(std::string_view("k"), "v", with_header(headers, name, "0")).is_ok());
  }
  check_refused(with_header(headers, k_header_partition, "4294967296"), k_header_partition,
                "not a");
  auto max_partition = record_from_kafka(std::string_view("k"), "v",
                                         with_header(headers, k_header_partition, "4294967295"));
  REQUIRE(max_partition.is_ok());
  CHECK(max_partition->record.partition == std::numeric_limits<uint32_t>::max());
  auto max_offset = record_from_kafka(
    std::string_view("k"), "v", with_header(headers, k_header_offset, "18446744073709551615"));
  REQUIRE(max_offset.is_ok());
  CHECK(max_offset->record.offset == std::numeric_limits<uint64_t>::max());
  check_refused(with_header(headers, k_header_topic, ""), k_header_topic, "empty");
}

TEST_CASE("record_from_kafka takes only the timestamp text merkql writes")
{
  const auto headers = headers_of(sample("k", k_2023 + 500000000));
  REQUIRE(headers[3].value == "2023-11-14T22:13:20.500Z");
  // Each names the same instant in another valid RFC 3339 spelling: the
  // record hash covers the text, so only merkql's own is the record's.
  for (const char* other : {"2023-11-14T22:13:20.5Z", "2023-11-14T22:13:20.500000Z",
                            "2023-11-14T22:13:20.500+00:00", "2023-11-14T23:13:20.500+01:00",
                            "2023-11-14t22:13:20.500z", "2023-11-14T22:13:20.500000000Z"}) {
    CAPTURE(other);
    auto parsed = parse_timestamp(other);
    REQUIRE(parsed.is_ok());
    CHECK(*parsed == k_2023 + 500000000);
    check_refused(with_header(headers, k_header_timestamp, other), k_header_timestamp,
                  "not a timestamp");
  }
  for (const char* bad :
       {"", "yesterday", "2023-11-14", "1700000000500", "2023-11-14T22:13:20.500Z "}) {
    CAPTURE(bad);
    check_refused(with_header(headers, k_header_timestamp, bad), k_header_timestamp,
                  "not a timestamp");
  }
  const auto whole = headers_of(sample("k", k_2023));
  check_refused(with_header(whole, k_header_timestamp, "2023-11-14T22:13:20.000Z"),
                k_header_timestamp, "not a timestamp");
}

TEST_CASE("record_from_kafka takes merkql.hash only as 64 lowercase hex digits")
{
  const Record r = sample("k", k_2023);
  const auto headers = headers_of(r);
  std::string upper = to_hex(record_hash(r));
  for (char& c : upper) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  REQUIRE(upper != to_hex(record_hash(r)));
  for (const std::string& bad :
       {upper, to_hex(record_hash(r)).substr(1), to_hex(record_hash(r)) + "0", std::string(64, 'g'),
        std::string(), " " + to_hex(record_hash(r)).substr(1)}) {
    CAPTURE(bad);
    check_refused(with_header(headers, k_header_hash, bad), k_header_hash, "hex");
  }
}

TEST_SUITE_END();
