// merkql produce's reading of one input line (man/merkql-produce.1, Input
// formats, Keys and partitions, Bad lines): json, raw or envelope text in,
// a record's key, value, partition, timestamp and JSON flag out, or the
// reason the line is bad. Pure code with no I/O, so that it can be unit
// tested and fuzzed; cli/produce.cpp feeds it and batches what it returns.
// Envelope lines are read by envelope.h, whose members this applies over
// --key and --partition. A LineParser belongs to one thread.
//
// JSON lines take a fast path first: simdjson's DOM parser, which validates
// the whole line (RFC 8259, UTF-8, at most k_max_json_depth levels) and
// finds --key-field without an allocation per line. Whatever it does not
// accept as a good line (an error, a missing or non-text key, a float key,
// a line too long for it) is read again by the nlohmann path below it, the
// one that words every message: the fast path only ever says "good", and
// only for lines the nlohmann path takes with the same key (tested in
// tests/cli/test_cli_input.cpp and fuzz/produce_line_fuzz.cpp).
#pragma once

#include "envelope.h"
#include "json_in.h"

#include <merkql/merkql.h>
#include <merkql/options.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace merkql::cli {

enum class InputMode { json, raw, envelope };

struct LineParserOptions {
  InputMode mode = InputMode::json;
  std::optional<std::string> key;       // --key
  std::optional<std::string> key_field; // --key-field: a member name or a JSON pointer
  std::optional<uint32_t> partition;    // --partition
  uint64_t max_record_bytes = 1048576;  // --max-record-bytes: longest line
  uint32_t partition_count = 1;         // of the topic written to
  // Most a record's key plus value may hold (the library's limit).
  uint64_t max_key_value_bytes = k_max_record_bytes;
  // False: JSON lines take the nlohmann path alone (tests compare the two).
  bool fast_json = true;
};

// One record read from a line. The views point into the line or into the
// parser; they stay valid until the next parse() call.
struct ParsedLine {
  std::optional<std::string_view> key;
  std::string_view value;
  std::optional<uint32_t> partition; // none: route by key
  std::optional<TimestampNs> timestamp;
  bool value_is_json = false;
};

// Throws Exit (65, bad input data) when --key is not valid UTF-8: keys are
// UTF-8 text. Called before the topic is opened or created, and again by
// LineParser.
void check_key_option(const std::optional<std::string>& key);

// Whether the bytes after a line may be read: yes when at least
// k_line_padding bytes follow its end in memory (a LineReader's lines),
// which spares the fast JSON path a copy of the line.
enum class Padded { no, yes };

class LineParser {
public:
  // Throws Exit (65) for a --key that is not UTF-8 and Exit (usage) when
  // --key-field is a malformed JSON pointer.
  explicit LineParser(LineParserOptions options);
  ~LineParser();
  LineParser(LineParser&&) noexcept;
  LineParser& operator=(LineParser&&) noexcept;

  // Reads one line, without its "\n" (and without the "\r" before it:
  // the LineReader removes that).
  // Returns the empty string and fills out, or returns why the line is bad.
  std::string parse(std::string_view line, ParsedLine& out, Padded padded = Padded::no);

private:
  struct Fast;

  // True when the fast path takes the line as good and has filled out.
  bool parse_json_fast(std::string_view line, Padded padded, ParsedLine& out);
  std::string parse_checked(std::string_view line, ParsedLine& out);
  std::string parse_json(std::string_view line, ParsedLine& out);

  LineParserOptions m_o;
  std::unique_ptr<Fast> m_fast;        // simdjson's parser and the line copies it reads
  std::vector<std::string> m_key_path; // --key-field as reference tokens
  bool m_key_is_member = false;        // --key-field names a top-level member
  std::string m_key;                   // a key taken from a JSON line
  EnvelopeReader m_envelope;           // --input envelope (envelope.h)
};

} // namespace merkql::cli
