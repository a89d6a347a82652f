#include "json_in.h"

#include "json_out.h"

#include <fmt/format.h>

namespace merkql::cli {

std::string too_deep_reason()
{
  return fmt::format("nested deeper than {} levels", k_max_json_depth);
}

std::string nul_byte_reason()
{
  return "a NUL byte, which JSON text cannot hold";
}

nlohmann::json parse_json_limited(std::string_view text)
{
  if (text.find('\0') != std::string_view::npos) {
    throw JsonNulByte();
  }
  // The callback sees the depth before an array or object is entered.
  return nlohmann::json::parse(text.begin(), text.end(),
                               [](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
                                 if ((event == nlohmann::json::parse_event_t::object_start
                                      || event == nlohmann::json::parse_event_t::array_start)
                                     && static_cast<size_t>(depth) >= k_max_json_depth) {
                                   throw JsonTooDeep();
                                 }
                                 return true;
                               });
}

bool CountingSax::parse_error(size_t, const std::string&, const nlohmann::json::exception& e)
{
  if (error.empty()) {
    error = json_error_text(e.what());
  }
  return false;
}

std::string check_json(std::string_view text)
{
  if (starts_with_bom(text)) {
    return "invalid JSON: a byte order mark where a value should start";
  }
  if (text.find('\0') != std::string_view::npos) {
    return "invalid JSON: " + nul_byte_reason();
  }
  CountingSax sax;
  if (nlohmann::json::sax_parse(text.begin(), text.end(), &sax)) {
    return {};
  }
  return "invalid JSON: " + sax.error;
}

} // namespace merkql::cli
