// Unit tests of the command line's readers of untrusted input: produce's
// line reader, the proof-file reader, the printing of stored values and of
// input echoed in messages.
#include "common.h"
#include "json_in.h"
#include "produce_line.h"
#include "proof_file.h"

#include <doctest/doctest.h>

#include <string>

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

TEST_CASE("an envelope value keeps its member order and number text")
{
  LineParserOptions o;
  o.mode = InputMode::envelope;
  o.partition_count = 3;
  LineParser parser(o);
  ParsedLine out;
  REQUIRE(parser
            .parse(R"({ "value" : { "b" : 1.50, "a" : [1e2, "x\n\u0041", null, true] },)"
                   R"( "key": "k", "partition": 2, "timestamp": 5 })",
                   out)
            .empty());
  CHECK(out.value == R"({"b":1.50,"a":[1e2,"x\nA",null,true]})");
  CHECK(out.value_is_json);
  CHECK(*out.key == "k");
  CHECK(*out.partition == 2);
  CHECK(*out.timestamp == 5000000);
  REQUIRE(parser.parse(R"({"value":"text","key":null})", out).empty());
  CHECK(out.value == "text");
  CHECK(!out.value_is_json);
  CHECK(!out.key);
  CHECK(parser.parse(R"({"value":1,"partition":3})", out)
        == "invalid envelope: partition must be an integer from 0 to 2");
  CHECK(parser.parse(R"({"value":1,"x\u001b":3})", out)
        == "invalid envelope: unknown member \"x\\u001b\"");
  CHECK(parser.parse(R"([{"value":1}])", out) == "invalid envelope: not a JSON object");
  CHECK(parser.parse(R"({"key":"k"})", out) == "invalid envelope: no value member");
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

TEST_SUITE_END();

TEST_SUITE_BEGIN("cli::append_json_value");

TEST_CASE("a stored value deeper than 512 levels is printed as a string")
{
  std::string out;
  append_json_value(out, nested(300000));
  CHECK(out.size() == 600002);
  CHECK(out.front() == '"');
  out.clear();
  append_json_value(out, nested(512));
  CHECK(out == nested(512));
}

TEST_CASE("line breaks in a stored JSON value become spaces")
{
  std::string out;
  append_json_value(out, "{\"a\":\r\n[1,\n2]}");
  CHECK(out == "{\"a\":  [1, 2]}");
}

TEST_CASE("a stored value with a byte order mark is printed as a string")
{
  std::string out;
  append_json_value(out, "\xEF\xBB\xBF{}");
  CHECK(out == "\"\xEF\xBB\xBF{}\"");
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
