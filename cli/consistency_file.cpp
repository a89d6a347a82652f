#include "consistency_file.h"

#include "json_in.h"

#include <fmt/format.h>

#include <iterator>

namespace merkql::cli {

namespace {

ConsistencyRead invalid(std::string why)
{
  return ConsistencyRead{ConsistencyRead::Kind::invalid, {}, std::move(why)};
}

// A hash member: exactly 64 lowercase hexadecimal digits.
std::optional<Hash> strict_hash(const nlohmann::json& j)
{
  if (!j.is_string()) {
    return std::nullopt;
  }
  const std::string& text = j.get_ref<const std::string&>();
  if (text.size() != 64 || text.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return std::nullopt;
  }
  return hash_from_hex(text);
}

std::optional<uint64_t> strict_size(const nlohmann::json& doc, const char* name)
{
  auto it = doc.find(name);
  if (it == doc.end() || !it->is_number_unsigned()) {
    return std::nullopt;
  }
  return it->get<uint64_t>();
}

// The bound of a consistency proof document (consistency_file.h).
JsonBounds consistency_bounds()
{
  return JsonBounds{.max_bytes = k_max_consistency_file_bytes,
                    .too_large = fmt::format("the document is larger than a consistency proof can "
                                             "be (more than {} bytes)",
                                             k_max_consistency_file_bytes)};
}

ConsistencyRead read_consistency(JsonDocumentInput& in)
{
  std::string text;
  in.read_all(text);
  std::string why;
  if (const DocumentReadKind kind = in.status(why); kind != DocumentReadKind::ok) {
    return ConsistencyRead{kind, {}, std::move(why)};
  }
  // The input counts an escape as the bytes it stands for; the file itself
  // is bounded as well, since a consistency proof has no escape to count.
  if (text.size() > k_max_consistency_file_bytes) {
    return invalid(consistency_bounds().too_large);
  }
  nlohmann::json doc;
  try {
    doc = parse_json_limited(text);
  } catch (const std::exception& e) {
    return invalid(fmt::format("not valid JSON: {}", e.what()));
  }
  if (!doc.is_object()) {
    return invalid("not a JSON object");
  }
  auto version = strict_size(doc, "version");
  if (!version || *version != k_consistency_file_version) {
    return invalid("unknown or missing consistency proof version (this merkql reads version 1)");
  }
  auto malformed = [](const char* name) {
    return invalid(fmt::format("missing or malformed member \"{}\"", name));
  };
  auto from_size = strict_size(doc, "from_size");
  if (!from_size) {
    return malformed("from_size");
  }
  auto to_size = strict_size(doc, "to_size");
  if (!to_size) {
    return malformed("to_size");
  }
  auto hashes = doc.find("hashes");
  if (hashes == doc.end() || !hashes->is_array() || hashes->size() > k_max_consistency_hashes) {
    return malformed("hashes");
  }
  ConsistencyRead read{ConsistencyRead::Kind::ok, {}, {}};
  read.proof.from_size = *from_size;
  read.proof.to_size = *to_size;
  for (const nlohmann::json& h : *hashes) {
    auto hash = strict_hash(h);
    if (!hash) {
      return invalid("a member of \"hashes\" is not 64 lowercase hexadecimal digits");
    }
    read.proof.hashes.push_back(*hash);
  }
  return read;
}

} // namespace

std::string write_consistency_json(const ConsistencyProof& proof)
{
  std::string out = fmt::format("{{\n  \"version\": {},\n  \"from_size\": {},\n  \"to_size\": "
                                "{},\n  \"hashes\": [",
                                k_consistency_file_version, proof.from_size, proof.to_size);
  for (size_t i = 0; i < proof.hashes.size(); ++i) {
    fmt::format_to(std::back_inserter(out), "{}\n    \"{}\"", i == 0 ? "" : ",",
                   to_hex(proof.hashes[i]));
  }
  out += proof.hashes.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return out;
}

ConsistencyRead read_consistency_text(std::string_view text)
{
  JsonDocumentInput in(text, consistency_bounds());
  return read_consistency(in);
}

ConsistencyRead read_consistency_fd(int fd)
{
  JsonDocumentInput in(fd, consistency_bounds());
  return read_consistency(in);
}

} // namespace merkql::cli
