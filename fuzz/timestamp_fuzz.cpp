// Fuzz target: RFC 3339 timestamps (parse_timestamp, format_timestamp in
// src/merkql/record.h). Any text parses or is rejected as invalid; a parsed
// time formats to text that parses to the same time. The first 8 bytes, read
// as an int64, must also format and parse back exactly.
#include "fuzz_support.h"

#include <merkql/record.h>

#include <string>

using namespace merkql;
using merkql::fuzz::FuzzInput;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_timestamp(text);
  if (parsed.is_ok()) {
    const std::string formatted = format_timestamp(*parsed);
    auto again = parse_timestamp(formatted);
    MERKQL_FUZZ_CHECK(again.is_ok(), formatted);
    MERKQL_FUZZ_CHECK(*again == *parsed, formatted);
  } else {
    MERKQL_FUZZ_CHECK(parsed.status().is_invalid_argument(), parsed.status().message());
  }
  if (size >= 8) {
    FuzzInput in(data, size);
    const auto ns = static_cast<TimestampNs>(in.u64());
    const std::string formatted = format_timestamp(ns);
    auto back = parse_timestamp(formatted);
    MERKQL_FUZZ_CHECK(back.is_ok(), formatted);
    MERKQL_FUZZ_CHECK(*back == ns, formatted);
  }
  return 0;
}
