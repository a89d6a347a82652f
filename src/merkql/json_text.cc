#include <merkql/json_text.h>

#include <nlohmann/json.hpp>

namespace merkql {

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
