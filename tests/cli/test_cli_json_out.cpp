// Unit tests of the command line's JSON writer (cli/json_out.h) and of the
// proof document round trip (cli/proof_file.h): one policy for bytes that
// are not UTF-8, control characters, and proofs of such records.
#include "json_out.h"
#include "proof_file.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <string>

using namespace merkql;
using namespace merkql::cli;

namespace {

Record sample(std::optional<std::string> key, std::string value, bool is_json = false)
{
  Record r;
  r.key = std::move(key);
  r.value = std::move(value);
  r.topic = "t";
  r.partition = 2;
  r.offset = 7;
  r.timestamp = int64_t{1700000000} * 1000000000;
  r.value_is_json = is_json;
  return r;
}

std::string record_line(const Record& r, std::string_view extra = {})
{
  std::string out;
  append_record_json(out, r, extra);
  return out;
}

// The one-record proof of r (a tree of one leaf has no siblings).
RecordProof one_leaf_proof(Record r)
{
  RecordProof p;
  p.record = std::move(r);
  p.record_hash = record_hash(p.record);
  Sha256 ctx;
  p.proof.offset = p.record.offset;
  p.proof.tree_size = p.record.offset + 1;
  p.proof.leaf_hash = leaf_hash(p.record_hash, p.record.offset, ctx);
  return p;
}

} // namespace

TEST_SUITE_BEGIN("cli::json_out");

TEST_CASE("control characters are escaped, other UTF-8 kept as it is")
{
  std::string out;
  append_json_string(out, "a\"\\\n\r\t\b\f\x01\x1f\x7f é€😀");
  CHECK(out == "\"a\\\"\\\\\\n\\r\\t\\b\\f\\u0001\\u001f\x7f é€😀\"");
  CHECK(nlohmann::json::parse(out).get<std::string>() == "a\"\\\n\r\t\b\f\x01\x1f\x7f é€😀");
}

TEST_CASE("a record line has topic, partition, offset, timestamp, ts, key and value in order")
{
  CHECK(
    record_line(sample("clé", R"({"a":1})", true))
    == R"({"topic":"t","partition":2,"offset":7,"timestamp":"2023-11-14T22:13:20Z","ts":1700000000000,)"
       R"("key":"clé","value":{"a":1}})"
       "\n");
  CHECK(
    record_line(sample(std::nullopt, "plain text"), R"(,"hash":"x")")
    == R"({"topic":"t","partition":2,"offset":7,"timestamp":"2023-11-14T22:13:20Z","ts":1700000000000,)"
       R"("key":null,"value":"plain text","hash":"x"})"
       "\n");
}

TEST_CASE("a key or value that is not UTF-8 is printed as exact hex, never lossily")
{
  const std::string line = record_line(sample(std::string("\xff\xfe", 2), "v\x80w"));
  CHECK(
    line
    == R"({"topic":"t","partition":2,"offset":7,"timestamp":"2023-11-14T22:13:20Z","ts":1700000000000,)"
       R"("key_hex":"fffe","value_hex":"768077"})"
       "\n");
  const auto doc = nlohmann::json::parse(line); // valid JSON
  CHECK(!doc.contains("key"));
  CHECK(!doc.contains("value"));
  // A JSON-flagged value that is not UTF-8 (only a damaged or legacy one)
  // follows the same rule.
  CHECK(record_line(sample(std::nullopt, "\"\xc3\x28\"", true)).find(R"("value_hex":"22c32822")")
        != std::string::npos);
}

TEST_CASE("the member rule: UTF-8 text as a string, anything else as name_hex")
{
  std::string out;
  append_text_member(out, "key", "é\n");
  out += ',';
  append_text_member(out, "key", std::string("\xc0\xaf", 2), ": "); // an overlong '/'
  CHECK(out == "\"key\":\"é\\n\",\"key_hex\": \"c0af\"");
}

TEST_CASE("RecordJson keeps no stale topic or timestamp across records")
{
  RecordJson json;
  std::string out;
  Record a = sample(std::nullopt, "1", true);
  Record b = a;
  b.topic = "u";
  b.timestamp += 500000000;
  json.append(out, a);
  json.append(out, b);
  json.append_position(out, "t", 0, 1, a.timestamp, R"(,"hash":"h")");
  CHECK(
    out
    == R"({"topic":"t","partition":2,"offset":7,"timestamp":"2023-11-14T22:13:20Z","ts":1700000000000,"key":null,"value":1})"
       R"({"topic":"u","partition":2,"offset":7,"timestamp":"2023-11-14T22:13:20.500Z","ts":1700000000500,"key":null,"value":1})"
       R"({"topic":"t","partition":0,"offset":1,"timestamp":"2023-11-14T22:13:20Z","ts":1700000000000,"hash":"h"})");
}

TEST_CASE("ts is the timestamp in milliseconds, rounded down, before 1970 too")
{
  CHECK(timestamp_ms(0) == 0);
  CHECK(timestamp_ms(999999) == 0);
  CHECK(timestamp_ms(1000000) == 1);
  CHECK(timestamp_ms(1700000000123456789) == 1700000000123);
  CHECK(timestamp_ms(-1) == -1);
  CHECK(timestamp_ms(-999999) == -1);
  CHECK(timestamp_ms(-1000000) == -1);
  CHECK(timestamp_ms(-1000001) == -2);
  CHECK(timestamp_ms(INT64_MIN) == -9223372036855);
  CHECK(timestamp_ms(INT64_MAX) == 9223372036854);
  Record r = sample(std::nullopt, "v");
  r.timestamp = -1500000; // 1969-12-31T23:59:59.9985Z
  const auto doc = nlohmann::json::parse(record_line(r));
  CHECK(doc["timestamp"] == "1969-12-31T23:59:59.998500Z");
  CHECK(doc["ts"] == -2);
}

TEST_CASE("text and JSON values have one reading each")
{
  auto value_part = [](std::string value, bool is_json) {
    const std::string line = record_line(sample(std::nullopt, std::move(value), is_json));
    CHECK(nlohmann::json::parse(line).is_object());
    const size_t at = line.find(R"("value":)");
    REQUIRE(at != std::string::npos);
    return line.substr(at, line.size() - at - 2); // without "}\n"
  };
  // Text is a string; text that reads as JSON is shown as JSON, and said
  // to be text.
  CHECK(value_part("hello", false) == R"("value":"hello")");
  CHECK(value_part(R"("hello")", false) == R"("value":"\"hello\"")");
  CHECK(value_part("42", false) == R"("value":42,"value_is_json":false)");
  CHECK(value_part(R"({"a": 1})", false) == R"("value":{"a": 1},"value_is_json":false)");
  CHECK(value_part(" 42", false) == R"("value":" 42")");
  CHECK(value_part("{\"a\":\r1}", false) == R"("value":"{\"a\":\r1}")");
  // A JSON value is itself, exactly as stored...
  CHECK(value_part("42", true) == R"("value":42)");
  CHECK(value_part(R"({ "a" : [1.50, "\u0041"] })", true)
        == R"("value":{ "a" : [1.50, "\u0041"] })");
  // ... unless it is a string or has whitespace around it: then a string
  // holding its text, and the flag.
  CHECK(value_part(R"("hello")", true) == R"("value":"\"hello\"","value_is_json":true)");
  CHECK(value_part(" 42\t", true) == R"("value":" 42\t","value_is_json":true)");
  // A flag no reader could honour (a byte order mark, a line break, a NUL
  // byte; only from a writer that broke its word) leaves text.
  CHECK(value_part("\xEF\xBB\xBF{}", true) == "\"value\":\"\xEF\xBB\xBF{}\"");
  CHECK(value_part("[1,\n2]", true) == R"("value":"[1,\n2]")");
  CHECK(value_part(std::string("1\0", 2), true) == R"("value":"1\u0000")");
  // A text value too deep to be read as JSON is a string like any other.
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  CHECK(value_part(deep, false).size() == deep.size() + 10);
}

TEST_CASE("a byte that needs escaping is found at any position of any length")
{
  // Keys and values of 1..40 bytes with one special byte at each position:
  // the line must parse and give back the exact key and value (the text
  // scan reads 8 or 16 bytes at a time, the last block overlapping).
  for (const char special : {'"', '\\', '\n', '\x01', '\x1f', '\x7f'}) {
    for (size_t size = 1; size <= 40; ++size) {
      for (size_t at = 0; at < size; ++at) {
        std::string text(size, 'a');
        text[at] = special;
        const std::string value = "[\"" + std::string(size, 'b') + "\"]";
        std::string json_value = value;
        json_value[2 + at] = special == '"' || special == '\\' || special < 0x20 ? 'c' : special;
        for (bool is_json : {false, true}) {
          const std::string line = record_line(sample(text, is_json ? json_value : text, is_json));
          const auto parsed = nlohmann::json::parse(line);
          CHECK(parsed["key"] == text);
          if (is_json) {
            CHECK(parsed["value"].dump() == nlohmann::json::parse(json_value).dump());
          } else {
            CHECK(parsed["value"] == text);
          }
        }
      }
    }
  }
}

TEST_CASE("produce's acks carry ts too")
{
  RecordJson json;
  std::string out;
  json.append_position(out, "t", 0, 3, -1, R"(,"hash":"h")");
  CHECK(out
        == R"({"topic":"t","partition":0,"offset":3,"timestamp":"1969-12-31T23:59:59.999999999Z",)"
           R"("ts":-1,"hash":"h"})");
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("cli::proof_file");

TEST_CASE("a proof document round-trips and verifies, UTF-8 and not")
{
  for (auto key : {std::optional<std::string>("clé \"1\"\n"), std::optional<std::string>(),
                   std::optional<std::string>(std::string("\xff\xfe", 2))}) {
    for (std::string value : {std::string(R"({"a":"é"})"), std::string("\x80\x00z", 3)}) {
      CAPTURE(key.value_or("(none)"));
      CAPTURE(value);
      RecordProof p = one_leaf_proof(sample(key, value));
      // Offset 7 of a tree of 8: three siblings, all on the left.
      Sha256 ctx;
      Hash left{};
      for (int i = 0; i < 3; ++i) {
        left[0] = static_cast<uint8_t>(i + 1);
        p.proof.siblings.push_back(ProofSibling{left, Side::left});
      }
      p.root = *proof_root(p.proof, ctx);
      REQUIRE(verify_record_proof(p).is_ok());
      const std::string text = write_proof_json(p);
      CHECK(nlohmann::json::parse(text).is_object());
      const ProofRead read = read_proof_text(text);
      REQUIRE(read.kind == ProofRead::Kind::ok);
      CHECK(read.proof.record.key == p.record.key);
      CHECK(read.proof.record.value == p.record.value);
      CHECK(read.proof.record_hash == p.record_hash);
      CHECK(read.proof.proof.siblings == p.proof.siblings);
      CHECK(read.proof.root == p.root);
      CHECK(check_proof_text(text, p.root).kind == ProofVerdict::Kind::valid);
    }
  }
}

TEST_CASE("bytes that are not UTF-8 are written as key_hex and value_hex")
{
  const RecordProof p = one_leaf_proof(sample(std::string("\xff\xfe", 2), "\x80"));
  const auto doc = nlohmann::json::parse(write_proof_json(p));
  CHECK(doc["record"]["key_hex"] == "fffe");
  CHECK(doc["record"]["value_hex"] == "80");
  CHECK(!doc["record"].contains("key"));
  CHECK(!doc["record"].contains("value"));
}

TEST_CASE("the document's form: version 1, two-space indents, members in order")
{
  RecordProof p = one_leaf_proof(sample("k", "v"));
  p.record.offset = p.proof.offset = 0;
  p.proof.tree_size = 1;
  p.record_hash = record_hash(p.record);
  Sha256 ctx;
  p.proof.leaf_hash = leaf_hash(p.record_hash, 0, ctx);
  p.root = p.proof.leaf_hash;
  const std::string rh = to_hex(p.record_hash);
  const std::string lh = to_hex(p.proof.leaf_hash);
  CHECK(write_proof_json(p)
        == "{\n  \"version\": 1,\n  \"topic\": \"t\",\n  \"partition\": 2,\n  \"offset\": 0,\n"
           "  \"tree_size\": 1,\n  \"record\": {\n    \"key\": \"k\",\n    \"value\": \"v\",\n"
           "    \"timestamp\": \"2023-11-14T22:13:20Z\"\n  },\n  \"record_hash\": \""
             + rh + "\",\n  \"leaf_hash\": \"" + lh + "\",\n  \"siblings\": [],\n  \"root\": \""
             + lh + "\"\n}\n");
  // The same as nlohmann's dump(2) of the same members.
  const auto doc = nlohmann::ordered_json::parse(write_proof_json(p));
  CHECK(doc.dump(2) + "\n" == write_proof_json(p));
}

TEST_CASE("key and key_hex together, odd or non-hex digits, are malformed")
{
  const RecordProof p = one_leaf_proof(sample(std::string("\xff", 1), "v"));
  const std::string text = write_proof_json(p);
  auto with = [&](const std::string& from, const std::string& to) {
    std::string t = text;
    t.replace(t.find(from), from.size(), to);
    return read_proof_text(t);
  };
  for (const char* hex : {R"("key_hex": "f")", R"("key_hex": "fg")", R"("key_hex": 255)",
                          R"("key_hex": "ff", "key": "a")"}) {
    CAPTURE(hex);
    const ProofRead read = with(R"("key_hex": "ff")", hex);
    CHECK(read.kind == ProofRead::Kind::invalid);
    CHECK(read.message == "missing or malformed member \"record.key\"");
  }
  // Hex of valid UTF-8 is accepted: the record hash decides.
  CHECK(with(R"("key_hex": "ff")", R"("key_hex": "6B")").kind == ProofRead::Kind::ok);
}

TEST_SUITE_END();
