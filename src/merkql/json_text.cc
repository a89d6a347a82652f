#include <merkql/json_text.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstring>

namespace merkql {

bool is_valid_utf8(std::string_view text)
{
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    // Fast path: 8 ASCII bytes at a time.
    if (end - p >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      if ((w & 0x8080808080808080ull) == 0) {
        p += 8;
        continue;
      }
    }
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (end - p <= n) {
      return false;
    }
    for (int k = 1; k <= n; ++k) {
      if ((p[k] & 0xC0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (p[k] & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF))
        || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    p += n + 1;
  }
  return true;
}

bool is_one_line_json(std::string_view text)
{
  if (text.find('\n') != std::string_view::npos || text.find('\r') != std::string_view::npos) {
    return false;
  }
  if (text.substr(0, 3) == "\xef\xbb\xbf") {
    return false; // nlohmann's parser skips a byte-order mark; JSON text has none
  }
  // nlohmann's parser keeps its nesting on a heap stack, not the call stack.
  return nlohmann::json::accept(text);
}

} // namespace merkql
