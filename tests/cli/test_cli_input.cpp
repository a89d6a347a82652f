// Unit tests of the command line's readers of untrusted input: produce's
// line reader, the proof-file and consistency-file readers, the printing of
// stored values and of input echoed in messages.
#include "common.h"
#include "consistency_file.h"
#include "json_in.h"
#include "line_io.h"
#include "produce_line.h"
#include "proof_file.h"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <type_traits>
#include <unistd.h>
#include <vector>

using namespace merkql::cli;

namespace {

std::string nested(size_t levels)
{
  return std::string(levels, '[') + std::string(levels, ']');
}

} // namespace

TEST_SUITE_BEGIN("cli::LineParser");

TEST_CASE("a --key-field number is keyed by its JSON text")
{
  LineParserOptions o;
  o.key_field = "id";
  LineParser parser(o);
  ParsedLine out;
  for (const char* number : {"1.50", "1e2", "-2.0", "17", "123456789012345678901234567890"}) {
    const std::string line = std::string("{\"id\":") + number + "}";
    REQUIRE(parser.parse(line, out).empty());
    CHECK(*out.key == number);
  }
  o.key_field = "/a/1/b";
  LineParser pointer(o);
  REQUIRE(pointer.parse(R"({"a":[{"b":1},{"b":2.50}],"b":3})", out).empty());
  CHECK(*out.key == "2.50");
  CHECK(pointer.parse(R"({"a":[{"b":1}]})", out) == "no key field /a/1/b");
  CHECK(pointer.parse(R"({"a":[0,{"b":[]}]})", out)
        == "key field /a/1/b is not a string or a number");
}

TEST_CASE("the last of duplicate key fields is the key, as in a parsed document")
{
  LineParserOptions o;
  o.key_field = "id";
  LineParser parser(o);
  ParsedLine out;
  REQUIRE(parser.parse(R"({"id":"first","x":{"id":"inner"},"id":"last"})", out).empty());
  CHECK(*out.key == "last");
}

TEST_CASE("a key plus value over the record limit is a bad line")
{
  LineParserOptions o;
  o.key_field = "k";
  o.max_key_value_bytes = 100;
  LineParser parser(o);
  ParsedLine out;
  const std::string fits = R"({"k":")" + std::string(40, 'a') + "\"}";
  CHECK(parser.parse(fits, out).empty());
  const std::string over = R"({"k":")" + std::string(60, 'a') + "\"}";
  CHECK(parser.parse(over, out).find("larger than the 100 byte limit of a record")
        != std::string::npos);
  o.key_field.reset();
  o.key = std::string(90, 'k');
  LineParser constant_key(o);
  CHECK(constant_key.parse(R"({"a":1})", out).empty());
  CHECK(!constant_key.parse(R"({"a":12345})", out).empty());
}

TEST_CASE("a line nested deeper than 512 levels is bad in every JSON mode")
{
  LineParserOptions o;
  ParsedLine out;
  LineParser json(o);
  CHECK(json.parse(nested(512), out).empty());
  CHECK(json.parse(nested(513), out) == "invalid JSON: nested deeper than 512 levels");
  CHECK(json.parse(nested(300000), out) == "invalid JSON: nested deeper than 512 levels");
  o.key_field = "k";
  LineParser key_field(o);
  CHECK(key_field.parse(R"({"k":1,"d":)" + nested(600) + "}", out)
        == "invalid JSON: nested deeper than 512 levels");
  o.key_field.reset();
  o.mode = InputMode::envelope;
  o.max_record_bytes = 1 << 20;
  LineParser envelope(o);
  CHECK(envelope.parse(R"({"value":)" + nested(511) + "}", out).empty());
  CHECK(envelope.parse(R"({"value":)" + nested(300000) + "}", out)
        == "invalid JSON: nested deeper than 512 levels");
}

TEST_CASE("an envelope's JSON value is kept as written, byte for byte")
{
  LineParserOptions o;
  o.mode = InputMode::envelope;
  o.partition_count = 3;
  LineParser parser(o);
  ParsedLine out;
  REQUIRE(parser
            .parse(R"({ "value" : { "b" : 1.50, "a" : [1e2, "x\n\u0041", null, true] } ,)"
                   R"( "key": "k", "partition": 2, "timestamp": 5 })",
                   out)
            .empty());
  CHECK(out.value == R"({ "b" : 1.50, "a" : [1e2, "x\n\u0041", null, true] })");
  CHECK(out.value_is_json);
  CHECK(*out.key == "k");
  CHECK(*out.partition == 2);
  CHECK(*out.timestamp == 5000000);
  REQUIRE(parser.parse(R"({"value":"text","key":null})", out).empty());
  CHECK(out.value == "text");
  CHECK(!out.value_is_json);
  CHECK(!out.key);
  // The last of duplicate members, as in a parsed document; a member name
  // may be escaped; a carriage return between tokens becomes a space.
  REQUIRE(parser.parse(R"({"value":[1],"topic":{"value":0},"valu\u0065":-0.0E+1})", out).empty());
  CHECK(out.value == "-0.0E+1");
  REQUIRE(parser.parse("{\"value\":[1,\r2]}", out).empty());
  CHECK(out.value == "[1, 2]");
  CHECK(parser.parse(R"({"value":1,"partition":3})", out)
        == "invalid envelope: partition 3: the topic has 3 partitions (a copy of a topic needs "
           "as many: --partitions)");
  CHECK(parser.parse(R"({"value":1,"partition":-1})", out)
        == "invalid envelope: partition must be an integer from 0 to 2");
  CHECK(parser.parse(R"({"value":1,"x\u001b":3})", out)
        == "invalid envelope: unknown member \"x\\u001b\"");
  CHECK(parser.parse(R"([{"value":1}])", out) == "invalid envelope: not a JSON object");
  CHECK(parser.parse(R"({"key":"k"})", out) == "invalid envelope: no value member");
}

TEST_CASE("value_is_json says how to read a string value")
{
  LineParserOptions o;
  o.mode = InputMode::envelope;
  LineParser parser(o);
  ParsedLine out;
  REQUIRE(parser.parse(R"({"value":"\"hello\"","value_is_json":true})", out).empty());
  CHECK(out.value == R"("hello")");
  CHECK(out.value_is_json);
  REQUIRE(parser.parse(R"({"value_is_json":true,"value":" 42\t"})", out).empty());
  CHECK(out.value == " 42\t");
  CHECK(out.value_is_json);
  REQUIRE(parser.parse(R"({"value":"hello","value_is_json":false})", out).empty());
  CHECK(out.value == "hello");
  CHECK(!out.value_is_json);
  REQUIRE(parser.parse(R"({"value":{"a":1},"value_is_json":true})", out).empty());
  CHECK(out.value == R"({"a":1})");
  CHECK(out.value_is_json);
  CHECK(parser.parse(R"({"value":"hello","value_is_json":true})", out)
        == "invalid envelope: value_is_json is true but value does not hold one line of JSON "
           "text");
  CHECK(parser.parse(R"({"value":"[1,\n2]","value_is_json":true})", out)
        == "invalid envelope: value_is_json is true but value does not hold one line of JSON "
           "text");
  REQUIRE(parser.parse(R"({"value":{"a": 1},"value_is_json":false})", out).empty());
  CHECK(out.value == R"({"a": 1})");
  CHECK(!out.value_is_json);
  CHECK(parser.parse(R"({"value":1,"value_is_json":"yes"})", out)
        == "invalid envelope: value_is_json must be true or false");
}

TEST_CASE("ts is milliseconds; timestamp wins over it")
{
  LineParserOptions o;
  o.mode = InputMode::envelope;
  LineParser parser(o);
  ParsedLine out;
  REQUIRE(parser.parse(R"({"value":1,"ts":1700000000123})", out).empty());
  CHECK(*out.timestamp == 1700000000123000000);
  REQUIRE(parser.parse(R"({"value":1,"ts":-2})", out).empty());
  CHECK(*out.timestamp == -2000000);
  for (const char* line : {R"({"value":1,"ts":5,"timestamp":"1970-01-01T00:00:00.000000007Z"})",
                           R"({"value":1,"timestamp":"1970-01-01T00:00:00.000000007Z","ts":5})"}) {
    REQUIRE(parser.parse(line, out).empty());
    CHECK(*out.timestamp == 7);
  }
  REQUIRE(parser.parse(R"({"value":1})", out).empty());
  CHECK(!out.timestamp);
  CHECK(parser.parse(R"({"value":1,"ts":1.5})", out)
        == "invalid envelope: ts must be integer milliseconds since the epoch");
  CHECK(parser.parse(R"({"value":1,"ts":"5"})", out)
        == "invalid envelope: ts must be integer milliseconds since the epoch");
  CHECK(parser.parse(R"({"value":1,"ts":9223372036855})", out)
        == "invalid envelope: ts out of range");
}

TEST_CASE("kcat -J lines are envelopes")
{
  LineParserOptions o;
  o.mode = InputMode::envelope;
  o.partition_count = 2;
  LineParser parser(o);
  ParsedLine out;
  REQUIRE(parser
            .parse(R"({"topic":"syslog","partition":1,"offset":42,"tstype":"create",)"
                   R"("ts":1564501455493,"broker":1,"headers":["a","b"],"key":"k","payload":"p"})",
                   out)
            .starts_with("invalid envelope: headers are not supported"));
  REQUIRE(parser
            .parse(R"({"topic":"syslog","partition":1,"offset":42,"tstype":"create",)"
                   R"("ts":1564501455493,"broker":-1,"key":"k","payload":"{\"a\":1}"})",
                   out)
            .empty());
  CHECK(*out.key == "k");
  CHECK(out.value == R"({"a":1})");
  CHECK(!out.value_is_json); // kcat's payload is a string of bytes: text
  CHECK(*out.partition == 1);
  CHECK(*out.timestamp == int64_t{1564501455493} * 1000000);
  for (const char* empty : {R"("headers":[],)", R"("headers":{},)", R"("headers":null,)"}) {
    REQUIRE(
      parser.parse(std::string(R"({"key":null,)") + empty + R"("payload":"x"})", out).empty());
    CHECK(out.value == "x");
  }
  // kcat -s avro prints a decoded payload as JSON.
  REQUIRE(parser.parse(R"({"payload":{"id":1},"value_schema_id":3})", out).empty());
  CHECK(out.value == R"({"id":1})");
  CHECK(out.value_is_json);
  CHECK(parser.parse(R"({"key":"k","payload":null})", out)
        == "invalid envelope: payload is null (a Kafka tombstone): a merkql record always has a "
           "value");
  CHECK(parser.parse(R"({"payload":"a","value":"b"})", out)
        == "invalid envelope: both value and payload");
  CHECK(parser.parse(R"({"headers":{"h":["v"]},"payload":"a"})", out)
          .starts_with("invalid envelope: headers are not supported"));
  CHECK(parser.parse(R"({"value_hex":"ff"})", out)
        == "invalid envelope: value_hex holds bytes that are not UTF-8 text, which merkql does "
           "not store");
}

TEST_CASE("every record consume prints is read back exactly by --input envelope")
{
  LineParserOptions o;
  o.mode = InputMode::envelope;
  o.partition_count = 4;
  LineParser parser(o);
  ParsedLine out;
  const std::pair<std::string, bool> values[] = {
    {"hello", false},
    {R"("hello")", false},
    {R"("hello")", true},
    {"42", false},
    {"42", true},
    {" 42 ", true},
    {"\t[ 1 ,2 ]", true},
    {R"({"a":"\u00e9\/","b":[1.50,1e2,-0]})", true},
    {R"({"a":"\u00e9\/","b":[1.50,1e2,-0]})", false},
    {"null", true},
    {"", false},
    {"tab\there \"quoted\" back\\slash \u00e9\x01 nul:" + std::string(1, '\0'), false},
    {"line\nbreak\rcr", false},
    {"\xEF\xBB\xBF"
     "bom",
     false},
    {R"({"a": [1, "x"]})", false},
    {"[1,\r2]", false},
    {" 42", false},
  };
  const std::optional<std::string> keys[] = {std::nullopt, "", "k\"\n\u00e9", "{\"a\":1}"};
  const int64_t times[] = {0, -1, -1500000, 1700000000123456789, 1, INT64_MIN + 1, INT64_MAX};
  size_t n = 0;
  for (const auto& [value, is_json] : values) {
    for (const auto& key : keys) {
      for (int64_t ts : times) {
        merkql::Record r;
        r.topic = "a";
        r.partition = static_cast<uint32_t>(n++ % 4);
        r.offset = n;
        r.key = key;
        r.value = value;
        r.value_is_json = is_json;
        r.timestamp = ts;
        std::string line;
        RecordJson().append(line, r);
        CAPTURE(line);
        REQUIRE(parser.parse(line, out).empty());
        CHECK(out.key == (key ? std::optional<std::string_view>(*key) : std::nullopt));
        CHECK(out.value == value);
        CHECK(out.value_is_json == is_json);
        CHECK(out.partition == r.partition);
        CHECK(out.timestamp == ts);
      }
    }
  }
}

TEST_CASE("a byte order mark is removed from json and envelope lines, kept in raw ones")
{
  LineParserOptions o;
  ParsedLine out;
  LineParser json(o);
  REQUIRE(json.parse("\xEF\xBB\xBF{\"a\":1}", out).empty());
  CHECK(out.value == "{\"a\":1}");
  CHECK(out.value_is_json);
  CHECK(!json.parse("\xEF\xBB\xBF\xEF\xBB\xBF{\"a\":1}", out).empty());
  o.key_field = "a";
  LineParser key_field(o);
  REQUIRE(key_field.parse("\xEF\xBB\xBF{\"a\":1}", out).empty());
  CHECK(out.value == "{\"a\":1}");
  o.key_field.reset();
  o.mode = InputMode::raw;
  LineParser raw(o);
  REQUIRE(raw.parse("\xEF\xBB\xBF{\"a\":1}", out).empty());
  CHECK(out.value == "\xEF\xBB\xBF{\"a\":1}");
  CHECK(!out.value_is_json);
}

TEST_CASE("a NUL byte after a JSON value makes the line bad, not a shorter value")
{
  using namespace std::string_literals;
  LineParserOptions o;
  ParsedLine out;
  LineParser json(o);
  CHECK(json.parse("31\0xyz"s, out) == "invalid JSON: a NUL byte, which JSON text cannot hold");
  o.key_field = "a";
  LineParser key_field(o);
  CHECK(!key_field.parse("{\"a\":1}\0{"s, out).empty());
  o.key_field.reset();
  o.mode = InputMode::envelope;
  LineParser envelope(o);
  CHECK(!envelope.parse("{\"value\":1}\0x"s, out).empty());
  CHECK(check_proof_text("{}\0{}"s, std::nullopt).message
        == "not valid JSON: a NUL byte, which JSON text cannot hold");
}

namespace {

// Lines where simdjson and nlohmann could part ways: numbers beyond 64 bits
// or a double, escapes, lone surrogates, structure, depth, byte order
// marks, NUL bytes, invalid UTF-8, duplicate and nested keys.
std::vector<std::string> tricky_lines()
{
  using namespace std::string_literals;
  std::vector<std::string> lines = {
    R"({"sensor":"sensor-a","temp":23.4,"ts":1700000123})",
    "-0",
    "[-0]",
    R"({"k":-0})",
    R"({"k":-0.0})",
    R"({"k":0e5})",
    R"({"k":1E+2})",
    R"({"k":1e400})",
    R"({"k":-1e400})",
    R"({"k":1e-400})",
    R"({"k":4.9e-324})",
    R"({"k":123456789012345678901234567890})",
    R"({"k":18446744073709551615})",
    R"({"k":18446744073709551616})",
    R"({"k":-9223372036854775808})",
    R"({"k":-9223372036854775809})",
    R"({"k":9223372036854775807})",
    R"({"k":"\ud800"})",
    R"({"k":"\udc00"})",
    R"({"k":"\ud800\udc00"})",
    R"({"k":"\ud800x"})",
    R"({"k":"\u0000"})",
    R"({"k":"a\"b\\c\/\b\f\n\r\t\u00e9"})",
    R"({"k":"\x"})",
    "{\"k\":\"\t\"}",
    "{\"k\":\"\x7f\"}",
    "{\"k\":\"\xc3\xa9\"}",
    "{\"k\":\"\xed\xa0\x80\"}",
    "{\"k\":\"\xc0\xaf\"}",
    "{\"k\":\"\xff\"}",
    R"({"k":1} 2)",
    R"({"k":1}x)",
    "{\"k\":1}\r",
    "\r{\"k\":1}",
    "{\"k\":1}\x0b",
    "",
    "  ",
    " {\"k\":1} ",
    "\xEF\xBB\xBF{\"k\":1}",
    "\xEF\xBB\xBF\xEF\xBB\xBF{\"k\":1}",
    "{\"k\":1}\0x"s,
    "{\"k\":\"a\0b\"}"s,
    R"({"k":1,"k":"two"})",
    R"({"k":"one","k":{}})",
    R"({"k":[1],"k":2})",
    R"({"k":1,})",
    R"([1,])",
    R"({"k"})",
    R"([1})",
    "01",
    "1.",
    "-",
    "+1",
    ".5",
    "1e",
    "tru",
    "nul",
    "true",
    "null",
    R"("k")",
    "[]",
    "{}",
    R"({"a":[{"b":1},{"b":2.50}],"b":3})",
    R"({"a":[0,{"b":"x"}]})",
    R"({"a":[0,{"b":7}]})",
    R"({"a":{"b":1},"a":{"c":2}})",
    R"({"a":{"0":"zero"}})",
    R"({"a":["zero"]})",
    R"(["x",{"a":[1,2]}])",
    R"({"\u006b":"escaped name"})",
    R"({"":"empty name"})",
    R"({"~":"t","/x":{"-":"d"}})",
    R"({"k":true})",
    R"({"k":null})",
    R"({"k":")" + std::string(200, 'x') + R"("})",
  };
  for (size_t depth : {511, 512, 513}) {
    lines.push_back(std::string(depth, '[') + std::string(depth, ']'));
    lines.push_back(R"({"k":)" + std::string(depth, '[') + std::string(depth, ']') + "}");
    lines.push_back(R"({"a":)" + std::string(depth, '{') + std::string(depth, '}') + "}");
  }
  return lines;
}

} // namespace

TEST_CASE("the fast JSON path takes a line exactly as the nlohmann path does")
{
  const std::optional<std::string> fields[] = {std::nullopt, "k",  "/k",    "/a/1/b", "/a/0",
                                               "/1/a/0",     "/",  "~",     "/~1x/-", "a",
                                               "/a/b",       "/0", "sensor"};
  for (const auto& field : fields) {
    for (const uint64_t limit : {uint64_t{1} << 20, uint64_t{120}}) {
      LineParserOptions o;
      o.key_field = field;
      o.max_key_value_bytes = limit;
      LineParser fast(o);
      o.fast_json = false;
      LineParser checked(o);
      for (const std::string& line : tricky_lines()) {
        CAPTURE(line);
        CAPTURE(field.value_or("(none)"));
        ParsedLine a, b;
        const std::string bad_fast = fast.parse(line, a);
        const std::string bad_checked = checked.parse(line, b);
        CHECK(bad_fast == bad_checked);
        if (bad_fast.empty() && bad_checked.empty()) {
          CHECK(a.key == b.key);
          CHECK(a.value == b.value);
          CHECK(a.value_is_json == b.value_is_json);
          CHECK(a.partition == b.partition);
          CHECK(a.timestamp == b.timestamp);
        }
      }
    }
  }
}

TEST_CASE("a JSON line is parsed in place when padding follows it")
{
  LineParserOptions o;
  o.key_field = "sensor";
  LineParser parser(o);
  ParsedLine out;
  std::string buffer = R"({"sensor":"sensor-a","temp":23.4}{"sensor":"b"})";
  const size_t first = buffer.find('}') + 1;
  buffer.resize(buffer.size() + k_line_padding, '\n');
  REQUIRE(parser.parse(std::string_view(buffer).substr(0, first), out, Padded::yes).empty());
  CHECK(*out.key == "sensor-a");
  CHECK(out.value.data() == buffer.data()); // the line itself, not a copy
  REQUIRE(parser
            .parse(std::string_view(buffer).substr(first, buffer.size() - first - k_line_padding),
                   out, Padded::yes)
            .empty());
  CHECK(*out.key == "b");
}

TEST_CASE("numbers, escapes and surrogates in JSON lines: what is a good line and its key")
{
  LineParserOptions o;
  o.key_field = "k";
  LineParser parser(o);
  ParsedLine out;
  // An integer key is its digits as a number prints: -0 is 0.
  REQUIRE(parser.parse(R"({"k":-0})", out).empty());
  CHECK(*out.key == "0");
  REQUIRE(parser.parse(R"({"k":-9223372036854775808})", out).empty());
  CHECK(*out.key == "-9223372036854775808");
  REQUIRE(parser.parse(R"({"k":18446744073709551615})", out).empty());
  CHECK(*out.key == "18446744073709551615");
  // Beyond 64 bits, or not an integer: the text as written.
  REQUIRE(parser.parse(R"({"k":18446744073709551616})", out).empty());
  CHECK(*out.key == "18446744073709551616");
  REQUIRE(parser.parse(R"({"k":-0.0})", out).empty());
  CHECK(*out.key == "-0.0");
  REQUIRE(parser.parse(R"({"k":1e-400})", out).empty());
  CHECK(*out.key == "1e-400");
  CHECK(parser.parse(R"({"k":1e400})", out).starts_with("invalid JSON: "));
  // A string key is decoded; a lone surrogate is not text.
  REQUIRE(parser.parse(R"({"k":"\ud83d\ude00 \u00e9\n"})", out).empty());
  CHECK(*out.key == "\xF0\x9F\x98\x80 \xC3\xA9\n");
  CHECK(parser.parse(R"({"k":"\ud800"})", out).starts_with("invalid JSON: "));
  CHECK(parser.parse(R"({"k":"\udc00"})", out).starts_with("invalid JSON: "));
  CHECK(parser.parse(R"({"k":1} 2)", out).starts_with("invalid JSON: "));
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("cli::printable");

TEST_CASE("control characters and invalid UTF-8 are escaped, other text kept")
{
  CHECK(printable("a\x1b]0;x\x07") == "a\\x1b]0;x\\x07");
  CHECK(printable("\x7f\xc2\x9b\xff") == "\\x7f\\xc2\\x9b\\xff");
  CHECK(printable("caf\xc3\xa9 \xe2\x82\xac") == "caf\xc3\xa9 \xe2\x82\xac");
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("cli::proof_file");

TEST_CASE("a proof document is rejected at the first bound it crosses")
{
  std::string many = R"({"version":1,"siblings":[)";
  for (int i = 0; i < 100000; ++i) {
    many += i ? ",{}" : "{}";
  }
  many += "]}";
  ProofVerdict v = check_proof_text(many, std::nullopt);
  CHECK(v.kind == ProofVerdict::Kind::invalid);
  CHECK(v.message == "more than 64 siblings (no proof has more)");

  v = check_proof_text(R"({"version":1,"topic":")" + std::string(250, 't') + "\"}", std::nullopt);
  CHECK(v.message == "the topic is longer than 249 bytes");
  // Escapes count as the bytes they stand for.
  std::string escaped;
  for (int i = 0; i < 125; ++i) {
    escaped += "\\u00e9";
  }
  v = check_proof_text(R"({"topic":")" + escaped + "\"}", std::nullopt);
  CHECK(v.message == "the topic is longer than 249 bytes");

  v = check_proof_text(R"({"x":")" + std::string(2 << 20, 'x') + "\"}", std::nullopt);
  CHECK(v.message.starts_with("the document is larger than a proof can be"));

  v = check_proof_text(nested(600), std::nullopt);
  CHECK(v.message == "not valid JSON: nested deeper than 512 levels");
}

TEST_CASE("a consistency document is read through the same bounded input as a proof")
{
  static_assert(std::is_same_v<ConsistencyRead::Kind, ProofRead::Kind>);
  const std::string doc = R"({"version":1,"from_size":1,"to_size":1,"hashes":[]})";
  ConsistencyRead read = read_consistency_text(doc);
  REQUIRE(read.kind == ConsistencyRead::Kind::ok);
  CHECK(read.proof.from_size == 1);
  CHECK(read.proof.hashes.empty());

  // The bound: a document of k_max_consistency_file_bytes is read, one
  // byte more is refused.
  std::string padded = doc + std::string(k_max_consistency_file_bytes - doc.size(), ' ');
  CHECK(read_consistency_text(padded).kind == ConsistencyRead::Kind::ok);
  padded += ' ';
  read = read_consistency_text(padded);
  CHECK(read.kind == ConsistencyRead::Kind::invalid);
  CHECK(read.message
        == "the document is larger than a consistency proof can be (more than 65536 bytes)");
  // Also when escapes make it decode to fewer bytes than the bound.
  std::string escaped = R"({"version":1,"from_size":1,"to_size":1,"hashes":[],"pad":")";
  while (escaped.size() <= k_max_consistency_file_bytes) {
    escaped += "\\u0020";
  }
  escaped += "\"}";
  read = read_consistency_text(escaped);
  CHECK(read.kind == ConsistencyRead::Kind::invalid);
  CHECK(read.message
        == "the document is larger than a consistency proof can be (more than 65536 bytes)");

  using namespace std::string_literals;
  CHECK(read_consistency_text("{}\0{}"s).message
        == "not valid JSON: a NUL byte, which JSON text cannot hold");
  CHECK(read_consistency_text("[]").message == "not a JSON object");

  // From a descriptor: the document up to its end; a read error is an
  // I/O error, for both documents.
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  REQUIRE(::write(fds[1], doc.data(), doc.size()) == static_cast<ssize_t>(doc.size()));
  ::close(fds[1]);
  CHECK(read_consistency_fd(fds[0]).kind == ConsistencyRead::Kind::ok);
  ::close(fds[0]);
  REQUIRE(::pipe(fds) == 0);
  CHECK(read_consistency_fd(fds[1]).kind == ConsistencyRead::Kind::io_error);
  CHECK(read_proof_fd(fds[1]).kind == ProofRead::Kind::io_error);
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE("a malformed proof names what is wrong")
{
  CHECK(check_proof_text("[]", std::nullopt).message == "not a JSON object");
  CHECK(check_proof_text("{\"version\":1", std::nullopt).message.starts_with("not valid JSON: "));
  CHECK(check_proof_text(R"({"version":2})", std::nullopt).message
        == "unknown or missing proof version (this merkql reads version 1)");
  CHECK(check_proof_text(R"({"version":1,"topic":7})", std::nullopt).message
        == "missing or malformed member \"topic\"");
}

TEST_SUITE_END();
