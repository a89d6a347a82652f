// A JSON document read from an untrusted file or from memory with bounded
// memory: the input stops as soon as the document crosses a bound no valid
// document crosses, and strings are measured as they stream in (an escape
// counted as the bytes it decodes to), before the JSON lexer has buffered
// one whole. verify-proof's documents are read through it: proof_file.h
// streams a proof through a SAX handler, consistency_file.h holds its small
// document whole and parses it with json_in.h's nesting limit. Also the one
// shape of what such a reader returns (DocumentRead). Pure code apart from
// read(2) on the given descriptor; an input belongs to one thread.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>

namespace merkql::cli {

enum class DocumentReadKind {
  ok,       // proof holds the document's contents (not yet verified)
  invalid,  // message: why the document is not what was asked for
  io_error, // message: the read error
};

// What reading a document of T (a RecordProof, a ConsistencyProof) gives.
template<class T> struct DocumentRead {
  using Kind = DocumentReadKind;
  Kind kind = Kind::invalid;
  T proof;
  std::string message;
};

// What the next string of a document is, which sets its bound.
enum class StringKind {
  other,       // counts towards max_bytes
  bounded,     // also at most max_string_bytes on its own (a topic name)
  payload,     // a key or value as text: counts towards max_payload_bytes
  payload_hex, // a key or value as hexadecimal digits, two to a byte
};

// The bounds of a document, each with the reason given when it is crossed;
// a bound a document does not use stays 0.
struct JsonBounds {
  uint64_t max_bytes = 0; // of everything but payload strings
  std::string too_large = {};
  uint64_t max_string_bytes = 0; // of one StringKind::bounded string
  std::string string_too_long = {};
  uint64_t max_payload_bytes = 0; // of all payload strings, in the bytes they stand for
  std::string payload_too_large = {};
};

class JsonDocumentInput {
public:
  JsonDocumentInput(int fd, JsonBounds bounds) : m_fd(fd), m_bounds(std::move(bounds)) {}
  JsonDocumentInput(std::string_view text, JsonBounds bounds)
    : m_data(text.data()), m_len(text.size()), m_eof(true), m_bounds(std::move(bounds))
  {}
  JsonDocumentInput(const JsonDocumentInput&) = delete;
  JsonDocumentInput& operator=(const JsonDocumentInput&) = delete;

  // Sets the kind of the next string to begin (a SAX handler calls it).
  void expect(StringKind kind) { m_next_kind = kind; }

  // Runs nlohmann's sax_parse over the document into sax; false when the
  // parse stopped (see status() first, then the handler's error).
  template<class Sax> bool parse(Sax& sax);

  // Appends the whole document to text; see status().
  void read_all(std::string& text);

  // After parse() or read_all(): ok, io_error with the read error, or
  // invalid with the bound crossed (a NUL byte is one: nlohmann's lexer
  // would take it for the end of the document).
  DocumentReadKind status(std::string& message) const;

  // The byte-by-byte interface of the iterator below.
  bool at_end();
  char current() const { return m_data[m_pos]; }
  void advance()
  {
    account(static_cast<unsigned char>(m_data[m_pos]));
    ++m_pos;
  }

private:
  void refill();
  void account(unsigned char c);
  void count_other(uint64_t n);
  void count_string(uint64_t n);
  void cross(const std::string& why);

  enum class Lex { outside, string, escape, unicode };

  int m_fd = -1;
  const char* m_data = nullptr;
  size_t m_pos = 0;
  size_t m_len = 0;
  bool m_eof = false; // no more bytes to read: the end of the file, or text in memory
  int m_error = 0;
  std::string m_over; // the bound crossed
  JsonBounds m_bounds;
  char m_buffer[65536];

  Lex m_lex = Lex::outside;
  StringKind m_next_kind = StringKind::other;
  StringKind m_kind = StringKind::other;
  uint64_t m_string_bytes = 0;
  uint64_t m_payload_digits = 0;
  uint64_t m_other_bytes = 0;
  uint32_t m_hex = 0;
  int m_hex_digits = 0;
};

// An input iterator over a JsonDocumentInput for nlohmann's
// sax_parse(first, last); a default-constructed one is the end.
class JsonDocumentIterator {
public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = char;

  JsonDocumentIterator() = default;
  explicit JsonDocumentIterator(JsonDocumentInput* in) : m_in(in) {}

  char operator*() const { return m_in->current(); }
  JsonDocumentIterator& operator++()
  {
    m_in->advance();
    return *this;
  }
  bool operator==(const JsonDocumentIterator& other) const { return ended() == other.ended(); }
  bool operator!=(const JsonDocumentIterator& other) const { return !(*this == other); }

private:
  bool ended() const { return !m_in || m_in->at_end(); }
  JsonDocumentInput* m_in = nullptr;
};

template<class Sax> bool JsonDocumentInput::parse(Sax& sax)
{
  return nlohmann::json::sax_parse(JsonDocumentIterator(this), JsonDocumentIterator(), &sax);
}

} // namespace merkql::cli
