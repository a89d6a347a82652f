// Reading untrusted JSON text. Everything cli/ parses from standard input or
// a file goes through a parser that stops at k_max_json_depth levels of
// nesting, so no recursive code (nlohmann's dump(), a consumer's parser) is
// ever handed a document deep enough to exhaust its stack.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace merkql::cli {

// Deepest nesting of arrays and objects accepted in input.
constexpr size_t k_max_json_depth = 512;

// The UTF-8 byte order mark.
constexpr std::string_view k_utf8_bom = "\xEF\xBB\xBF";

inline bool starts_with_bom(std::string_view text)
{
  return text.starts_with(k_utf8_bom);
}

// The whitespace JSON allows between tokens.
inline bool is_json_space(char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// The reason given for a document nested deeper than k_max_json_depth.
std::string too_deep_reason();

// Thrown by parse_json_limited for a document nested too deeply.
class JsonTooDeep : public std::runtime_error {
public:
  JsonTooDeep() : std::runtime_error(too_deep_reason()) {}
};

// nlohmann's lexer takes a NUL byte for the end of the input, so that
// "1\0junk" would pass for the document "1": text holding one is refused
// before it reaches the parser.
std::string nul_byte_reason();

class JsonNulByte : public std::runtime_error {
public:
  JsonNulByte() : std::runtime_error(nul_byte_reason()) {}
};

// Parses text into a DOM, refusing more than k_max_json_depth levels and
// NUL bytes. Throws nlohmann::json::exception for invalid JSON, JsonTooDeep
// or JsonNulByte.
nlohmann::json parse_json_limited(std::string_view text);

// A SAX base for nlohmann::json::sax_parse: counts nesting, keeps the first
// error, and accepts everything else. Derived handlers hide the events they
// care about and call enter()/leave() from start_*/end_*.
struct CountingSax {
  size_t depth = 0;
  std::string error; // set when parsing stopped

  bool enter()
  {
    if (++depth > k_max_json_depth) {
      error = too_deep_reason();
      return false;
    }
    return true;
  }
  bool leave()
  {
    --depth;
    return true;
  }

  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(nlohmann::json::number_integer_t) { return true; }
  bool number_unsigned(nlohmann::json::number_unsigned_t) { return true; }
  bool number_float(nlohmann::json::number_float_t, const std::string&) { return true; }
  bool string(std::string&) { return true; }
  bool binary(nlohmann::json::binary_t&) { return true; }
  bool start_object(size_t) { return enter(); }
  bool key(std::string&) { return true; }
  bool end_object() { return leave(); }
  bool start_array(size_t) { return enter(); }
  bool end_array() { return leave(); }
  bool parse_error(size_t, const std::string&, const nlohmann::json::exception& e);
};

// Empty when text is one valid JSON document nested at most
// k_max_json_depth levels (a leading byte order mark or a NUL byte is not
// accepted); else the reason, "invalid JSON: ...".
std::string check_json(std::string_view text);

} // namespace merkql::cli
