#include "support/test_dir.h"

#include <merkql/record.h>

using namespace merkql;

TEST_SUITE_BEGIN("merkql::record");

TEST_CASE("timestamps print the shortest exact fraction")
{
  const int64_t s = 1700000000LL * 1000000000LL;
  CHECK(format_timestamp(s) == "2023-11-14T22:13:20Z");
  CHECK(format_timestamp(s + 500000000) == "2023-11-14T22:13:20.500Z");
  CHECK(format_timestamp(s + 123456000) == "2023-11-14T22:13:20.123456Z");
  CHECK(format_timestamp(s + 123456789) == "2023-11-14T22:13:20.123456789Z");
  CHECK(format_timestamp(-1000000000LL) == "1969-12-31T23:59:59Z");
}

TEST_CASE("a record hasher follows each record's timestamp, not the one it last formatted")
{
  const int64_t s = 1700000000LL * 1000000000LL;
  RecordHasher hasher("t", 3);
  Sha256 ctx;
  // Long values and keys grow the hasher's buffer; short ones after them
  // must not hash its leftover bytes.
  const std::string big(5000, 'x');
  const std::vector<StoredRecordView> views = {
    {std::string_view("k"), "v1", s},    {std::string_view("k"), "v2", s},
    {std::nullopt, big, s + 500000000},  {std::string_view(big), "v3", s + 500000000},
    {std::nullopt, "v4", s + 123456789}, {std::string_view("k"), "v5", s},
  };
  uint64_t offset = 40;
  for (const StoredRecordView& v : views) {
    CAPTURE(offset);
    Record r{v.key ? std::optional<std::string>(*v.key) : std::nullopt,
             std::string(v.value),
             "t",
             3,
             offset,
             v.timestamp};
    CHECK(hasher.hash(v, offset, ctx) == record_hash(r));
    ++offset;
  }
}

TEST_CASE("RFC 3339 parsing")
{
  const int64_t s = 1700000000LL * 1000000000LL;
  CHECK(parse_timestamp("2023-11-14T22:13:20Z").value() == s);
  CHECK(parse_timestamp("2023-11-14t22:13:20.5z").value() == s + 500000000);
  CHECK(parse_timestamp("2023-11-15T00:13:20+02:00").value() == s);
  CHECK(parse_timestamp("2023-11-14T21:13:20-01:00").value() == s);
  CHECK(parse_timestamp("2023-11-14T22:13:20.1234567891Z").value() == s + 123456789);
  CHECK(parse_timestamp("2023-11-14 22:13:20Z").status().is_invalid_argument());
  CHECK(parse_timestamp("2023-11-14T22:13:20").status().is_invalid_argument());
  CHECK(parse_timestamp("2023-02-30T00:00:00Z").status().is_invalid_argument());
  CHECK(parse_timestamp("2023-11-14T22:13:20Zjunk").status().is_invalid_argument());
  CHECK(parse_timestamp("").status().is_invalid_argument());
}

TEST_CASE("every representable timestamp prints as text that parses back to it")
{
  CHECK(format_timestamp(INT64_MAX) == "2262-04-11T23:47:16.854775807Z");
  CHECK(format_timestamp(INT64_MIN) == "1677-09-21T00:12:43.145224192Z");
  for (int64_t ns : {INT64_MIN, INT64_MIN + 1, INT64_MIN + 999999999, INT64_MAX - 1, INT64_MAX,
                     int64_t{-9223372035999999999}, int64_t{9223372035999999999}}) {
    CAPTURE(ns);
    auto back = parse_timestamp(format_timestamp(ns));
    REQUIRE(back.is_ok());
    CHECK(*back == ns);
  }
  // One nanosecond beyond either end is out of range, not wrapped.
  CHECK(parse_timestamp("2262-04-11T23:47:16.854775808Z").status().is_invalid_argument());
  CHECK(parse_timestamp("1677-09-21T00:12:43.145224191Z").status().is_invalid_argument());
  CHECK(parse_timestamp("2262-04-12T01:47:16.854775807+02:00").value() == INT64_MAX);
  CHECK(parse_timestamp("9999-12-31T23:59:59Z").status().is_invalid_argument());
  CHECK(parse_timestamp("0000-01-01T00:00:00Z").status().is_invalid_argument());
}

TEST_CASE("keys route by the first four bytes of their SHA-256")
{
  // SHA-256("user-1") starts c6c289e4 = 3334638052.
  CHECK(route_key("user-1", 7) == 3334638052u % 7);
  for (uint32_t n = 1; n < 10; ++n) {
    CHECK(route_key("sensor-a", n) < n);
  }
}

TEST_SUITE_END();
