#include "json_document.h"

#include "json_in.h"

#include <merkql/sha256.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace merkql::cli {

void JsonDocumentInput::read_all(std::string& text)
{
  while (!at_end()) {
    text += current();
    advance();
  }
}

DocumentReadKind JsonDocumentInput::status(std::string& message) const
{
  if (m_error) {
    message = std::strerror(m_error);
    return DocumentReadKind::io_error;
  }
  if (!m_over.empty()) {
    message = m_over;
    return DocumentReadKind::invalid;
  }
  return DocumentReadKind::ok;
}

bool JsonDocumentInput::at_end()
{
  if (!m_over.empty() || m_error) {
    return true;
  }
  if (m_pos < m_len) {
    return false;
  }
  if (m_eof) {
    return true;
  }
  refill();
  return m_pos >= m_len;
}

void JsonDocumentInput::refill()
{
  for (;;) {
    ssize_t n = ::read(m_fd, m_buffer, sizeof m_buffer);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      m_error = errno;
      return;
    }
    if (n == 0) {
      m_eof = true;
    }
    m_data = m_buffer;
    m_pos = 0;
    m_len = static_cast<size_t>(n);
    return;
  }
}

void JsonDocumentInput::account(unsigned char c)
{
  if (c == 0) {
    cross("not valid JSON: " + nul_byte_reason());
  }
  switch (m_lex) {
  case Lex::outside:
    if (c == '"') {
      m_lex = Lex::string;
      m_kind = m_next_kind;
      m_string_bytes = 0;
    }
    count_other(1);
    break;
  case Lex::string:
    if (c == '\\') {
      m_lex = Lex::escape;
    } else if (c == '"') {
      m_lex = Lex::outside;
      count_other(1);
    } else {
      count_string(1);
    }
    break;
  case Lex::escape:
    if (c == 'u') {
      m_lex = Lex::unicode;
      m_hex = 0;
      m_hex_digits = 0;
    } else {
      m_lex = Lex::string;
      count_string(1);
    }
    break;
  case Lex::unicode:
    m_hex = m_hex * 16 + static_cast<uint32_t>(std::max(0, hex_digit_value(static_cast<char>(c))));
    // (a bad digit: the lexer rejects it)
    if (++m_hex_digits == 4) {
      m_lex = Lex::string;
      // The UTF-8 length of the code point; each half of a surrogate
      // pair counts half of its 4 bytes.
      count_string(m_hex < 0x80                        ? 1
                   : m_hex < 0x800                     ? 2
                   : m_hex >= 0xD800 && m_hex < 0xE000 ? 2
                                                       : 3);
    }
    break;
  }
}

void JsonDocumentInput::count_other(uint64_t n)
{
  m_other_bytes += n;
  if (m_other_bytes > m_bounds.max_bytes) {
    cross(m_bounds.too_large);
  }
}

void JsonDocumentInput::count_string(uint64_t n)
{
  if (m_kind == StringKind::payload || m_kind == StringKind::payload_hex) {
    // Counted in hex digits: two for a byte of text, one for a digit.
    m_payload_digits += m_kind == StringKind::payload ? 2 * n : n;
    if (m_payload_digits > 2 * m_bounds.max_payload_bytes) {
      cross(m_bounds.payload_too_large);
    }
    return;
  }
  m_string_bytes += n;
  if (m_kind == StringKind::bounded && m_string_bytes > m_bounds.max_string_bytes) {
    cross(m_bounds.string_too_long);
  }
  count_other(n);
}

void JsonDocumentInput::cross(const std::string& why)
{
  if (m_over.empty()) {
    m_over = why;
  }
}

} // namespace merkql::cli
