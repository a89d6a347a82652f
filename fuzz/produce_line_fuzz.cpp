// libFuzzer target: merkql produce's line reader (cli/produce_line.h, cli/envelope.h).
// The first input byte picks the input mode, the key options and the
// partition count; the rest is one line. Checks, besides the sanitizers,
// that the fast JSON path (simdjson) gives what the nlohmann path gives,
// that every accepted JSON value is one valid JSON document without a byte
// order mark, so that consume can print it verbatim, and that the line
// consume prints for the record reads back (--input envelope) exactly.
#include "exit_codes.h"
#include "json_out.h"
#include "produce_line.h"

#include <merkql/json_text.h>

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace merkql::cli;

namespace {

LineParser make_parser(uint8_t selector, bool fast_json = true)
{
  static const char* const fields[] = {"id", "/id", "/a/0/b", "/", "~", "/~1x/-"};
  LineParserOptions o;
  o.mode = static_cast<InputMode>(selector % 3);
  o.partition_count = 1 + (selector >> 2) % 4;
  o.max_record_bytes = 1 << 16;
  o.max_key_value_bytes = 1 << 15; // smaller than a line may be: exercises the check
  if (o.mode == InputMode::json && (selector & 0x40)) {
    o.key_field = fields[(selector >> 3) % 6];
  } else if (selector & 0x80) {
    o.key = "k";
  }
  o.fast_json = fast_json;
  return LineParser(o);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  if (size == 0) {
    return 0;
  }
  try {
    LineParser parser = make_parser(data[0]);
    std::string_view line(reinterpret_cast<const char*>(data + 1), size - 1);
    line = line.substr(0, line.find('\n')); // produce splits input at newlines
    ParsedLine out;
    const std::string bad = parser.parse(line, out);
    // The fast JSON path (simdjson) says what the nlohmann path says.
    LineParser checked = make_parser(data[0], false);
    ParsedLine expected;
    if (checked.parse(line, expected) != bad
        || (bad.empty()
            && (expected.key != out.key || expected.value != out.value
                || expected.value_is_json != out.value_is_json
                || expected.partition != out.partition || expected.timestamp != out.timestamp))) {
      std::abort();
    }
    if (!bad.empty()) {
      return 0;
    }
    if (out.value_is_json && !check_json(out.value).empty()) {
      std::abort(); // a value flagged as JSON that a reader would reject
    }
    if (out.value_is_json && out.value.find_first_of("\r\n") != std::string_view::npos) {
      std::abort(); // consume prints one line per record
    }
    if ((out.key && !merkql::is_valid_utf8(*out.key)) || !merkql::is_valid_utf8(out.value)) {
      std::abort(); // keys and values are UTF-8 text: the append would refuse it
    }
    if (out.partition && *out.partition >= 4) {
      std::abort();
    }
    merkql::Record r;
    r.topic = "t";
    if (out.key) {
      r.key = std::string(*out.key);
    }
    r.value = out.value;
    r.value_is_json = out.value_is_json;
    r.partition = out.partition.value_or(0);
    r.timestamp = out.timestamp.value_or(-1);
    std::string printed;
    RecordJson().append(printed, r);
    LineParserOptions o;
    o.mode = InputMode::envelope;
    o.partition_count = 4;
    o.max_record_bytes = UINT64_MAX;
    LineParser reader(o);
    ParsedLine back;
    if (!reader.parse(printed, back).empty() || back.key != out.key || back.value != r.value
        || back.value_is_json != r.value_is_json || back.partition != r.partition
        || back.timestamp != r.timestamp) {
      std::abort(); // consume | produce --input envelope would not copy it
    }
  } catch (const Exit&) {
    // a malformed --key-field pointer: a usage error, not a line's fault
  }
  return 0;
}
