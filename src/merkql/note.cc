// Signed notes, Ed25519 keys and checkpoints (note.h). With sha256.cc, the
// second file that touches OpenSSL: Ed25519 through EVP_PKEY_ED25519 and
// EVP_DigestSign/EVP_DigestVerify, seeds from RAND_bytes. Base64 is a small
// codec of its own: EVP_DecodeBlock skips white space, counts padding as
// zero bytes and ignores non-zero unused bits, so one signature would have
// several accepted spellings and an altered character could still verify.
#include <merkql/note.h>

#include <fmt/format.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>
#include <vector>

namespace merkql {

namespace {

constexpr uint8_t k_alg_ed25519 = 1;
constexpr std::string_view k_sig_prefix = "\xe2\x80\x94 "; // U+2014 em dash, space
constexpr int k_max_signatures = 100;                      // as Go's note.Open

constexpr char k_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_value(char c)
{
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == '+') {
    return 62;
  }
  if (c == '/') {
    return 63;
  }
  return -1;
}

// Decodes one UTF-8 character at text[i]: its code point and length, or
// -1 for an invalid sequence (overlong, surrogate, beyond U+10FFFF,
// truncated), as Go's utf8.DecodeRune reports RuneError with size 1.
int32_t decode_utf8(std::string_view text, size_t i, size_t& length)
{
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  const uint8_t b0 = byte(i);
  if (b0 < 0x80) {
    length = 1;
    return b0;
  }
  size_t n = 0;
  int32_t cp = 0;
  int32_t min = 0;
  if ((b0 & 0xe0) == 0xc0) {
    n = 2, cp = b0 & 0x1f, min = 0x80;
  } else if ((b0 & 0xf0) == 0xe0) {
    n = 3, cp = b0 & 0x0f, min = 0x800;
  } else if ((b0 & 0xf8) == 0xf0) {
    n = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return -1;
  }
  if (i + n > text.size()) {
    return -1;
  }
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) {
      return -1;
    }
    cp = (cp << 6) | (byte(i + k) & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    return -1;
  }
  length = n;
  return cp;
}

// Go's unicode.IsSpace.
bool is_unicode_space(int32_t cp)
{
  switch (cp) {
  case '\t':
  case '\n':
  case '\v':
  case '\f':
  case '\r':
  case ' ':
  case 0x85:
  case 0xa0:
  case 0x1680:
  case 0x2028:
  case 0x2029:
  case 0x202f:
  case 0x205f:
  case 0x3000:
    return true;
  default:
    return cp >= 0x2000 && cp <= 0x200a;
  }
}

// Go's note.Open text rule: valid UTF-8 and no control character but "\n".
bool is_valid_note_text(std::string_view text)
{
  for (size_t i = 0; i < text.size();) {
    size_t length = 0;
    const int32_t cp = decode_utf8(text, i, length);
    if (cp < 0 || (cp < 0x20 && cp != '\n')) {
      return false;
    }
    i += length;
  }
  return true;
}

// Go's chop: the text before the first `sep` and the text after it.
std::pair<std::string_view, std::string_view> chop(std::string_view s, char sep)
{
  const size_t i = s.find(sep);
  if (i == std::string_view::npos) {
    return {s, {}};
  }
  return {s.substr(0, i), s.substr(i + 1)};
}

std::optional<uint32_t> parse_key_hash(std::string_view hex)
{
  if (hex.size() != 8) {
    return std::nullopt;
  }
  uint32_t value = 0;
  for (char c : hex) {
    const int d = hex_digit_value(c);
    if (d < 0) {
      return std::nullopt;
    }
    value = (value << 4) | static_cast<uint32_t>(d);
  }
  return value;
}

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

std::optional<Ed25519PublicKey> public_key_of(const Ed25519Seed& seed)
{
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  Ed25519PublicKey out{};
  size_t length = out.size();
  if (!key || EVP_PKEY_get_raw_public_key(key.get(), out.data(), &length) != 1
      || length != out.size()) {
    return std::nullopt;
  }
  return out;
}

std::optional<std::string> ed25519_sign(const Ed25519Seed& seed, std::string_view message)
{
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  MdCtx ctx(EVP_MD_CTX_new());
  if (!key || !ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
    return std::nullopt;
  }
  std::string signature(64, '\0');
  size_t length = signature.size();
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size())
        != 1
      || length != 64) {
    return std::nullopt;
  }
  return signature;
}

bool ed25519_verify(const Ed25519PublicKey& public_key, std::string_view message,
                    std::string_view signature)
{
  if (signature.size() != 64) {
    return false;
  }
  Pkey key(
    EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key.data(), public_key.size()));
  MdCtx ctx(EVP_MD_CTX_new());
  if (!key || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                          message.size())
         == 1;
}

std::string key_bytes(const std::array<uint8_t, 32>& key)
{
  std::string out(1, static_cast<char>(k_alg_ed25519));
  out.append(reinterpret_cast<const char*>(key.data()), key.size());
  return out;
}

// The shared tail of both key texts: "<name>+<hash>+<base64>" decoded and
// checked for name, hash syntax, algorithm byte and key length.
Status parse_key_tail(std::string_view text, std::string_view what, std::string& name,
                      uint32_t& hash, std::array<uint8_t, 32>& key)
{
  const auto [name_part, rest] = chop(text, '+');
  const auto [hash_part, key_part] = chop(rest, '+');
  if (!is_valid_key_name(name_part)) {
    return Status::invalid_argument(fmt::format(
      "{}: the key name is empty or holds '+', white space or a control character", what));
  }
  const std::optional<uint32_t> parsed_hash = parse_key_hash(hash_part);
  if (!parsed_hash) {
    return Status::invalid_argument(
      fmt::format("{}: the key hash is not 8 hexadecimal digits", what));
  }
  const std::optional<std::string> bytes = base64_decode(key_part);
  if (!bytes || bytes->empty()) {
    return Status::invalid_argument(fmt::format("{}: the key is not base64", what));
  }
  if (static_cast<uint8_t>((*bytes)[0]) != k_alg_ed25519) {
    return Status::invalid_argument(
      fmt::format("{}: unknown key algorithm {} (only 1, Ed25519, is known)", what,
                  static_cast<unsigned>(static_cast<uint8_t>((*bytes)[0]))));
  }
  if (bytes->size() != 1 + key.size()) {
    return Status::invalid_argument(
      fmt::format("{}: the Ed25519 key is {} bytes, not 32", what, bytes->size() - 1));
  }
  name.assign(name_part);
  hash = *parsed_hash;
  std::copy(bytes->begin() + 1, bytes->end(), key.begin());
  return Status::ok();
}

std::string format_key_hash(uint32_t hash)
{
  return fmt::format("{:08x}", hash);
}

} // namespace

bool is_valid_key_name(std::string_view name)
{
  if (name.empty()) {
    return false;
  }
  for (size_t i = 0; i < name.size();) {
    size_t length = 0;
    const int32_t cp = decode_utf8(name, i, length);
    if (cp < 0 || cp == '+' || cp < 0x20 || is_unicode_space(cp)) {
      return false;
    }
    i += length;
  }
  return true;
}

uint32_t note_key_hash(std::string_view name, const Ed25519PublicKey& public_key)
{
  Sha256 sha;
  sha.update(name);
  sha.update("\n");
  sha.update(key_bytes(public_key));
  const Hash digest = sha.finish();
  return (uint32_t{digest[0]} << 24) | (uint32_t{digest[1]} << 16) | (uint32_t{digest[2]} << 8)
         | uint32_t{digest[3]};
}

Result<NoteKeyPair> generate_note_key(std::string_view name)
{
  if (!is_valid_key_name(name)) {
    return Status::invalid_argument(
      fmt::format("key name '{}': empty, or holds '+', white space or a control character", name));
  }
  Ed25519Seed seed{};
  if (RAND_bytes(seed.data(), static_cast<int>(seed.size())) != 1) {
    return Status::io_error("no random bytes for a key seed");
  }
  const std::optional<Ed25519PublicKey> public_key = public_key_of(seed);
  if (!public_key) {
    return Status::io_error("OpenSSL refused to derive an Ed25519 key");
  }
  const std::string hash = format_key_hash(note_key_hash(name, *public_key));
  NoteKeyPair pair;
  pair.signer_key = fmt::format("PRIVATE+KEY+{}+{}+{}", name, hash, base64_encode(key_bytes(seed)));
  pair.verifier_key = fmt::format("{}+{}+{}", name, hash, base64_encode(key_bytes(*public_key)));
  return pair;
}

Result<NoteSigner> parse_signer_key(std::string_view text)
{
  constexpr std::string_view prefix = "PRIVATE+KEY+";
  if (text.substr(0, prefix.size()) != prefix) {
    return Status::invalid_argument("signer key: does not start with PRIVATE+KEY+");
  }
  NoteSigner signer;
  const Status status = parse_key_tail(text.substr(prefix.size()), "signer key", signer.name,
                                       signer.key_hash, signer.seed);
  if (!status.is_ok()) {
    return status;
  }
  const std::optional<Ed25519PublicKey> public_key = public_key_of(signer.seed);
  if (!public_key) {
    return Status::invalid_argument("signer key: OpenSSL refused the Ed25519 seed");
  }
  signer.public_key = *public_key;
  if (note_key_hash(signer.name, signer.public_key) != signer.key_hash) {
    return Status::invalid_argument("signer key: the key hash does not match the name and key");
  }
  return signer;
}

Result<NoteVerifier> parse_verifier_key(std::string_view text)
{
  if (text.substr(0, 12) == "PRIVATE+KEY+") {
    return Status::invalid_argument(
      "verifier key: this is a signer (private) key; give the verifier key (.pub)");
  }
  NoteVerifier verifier;
  const Status status =
    parse_key_tail(text, "verifier key", verifier.name, verifier.key_hash, verifier.public_key);
  if (!status.is_ok()) {
    return status;
  }
  if (note_key_hash(verifier.name, verifier.public_key) != verifier.key_hash) {
    return Status::invalid_argument("verifier key: the key hash does not match the name and key");
  }
  return verifier;
}

std::string format_verifier_key(const NoteVerifier& verifier)
{
  return fmt::format("{}+{}+{}", verifier.name, format_key_hash(verifier.key_hash),
                     base64_encode(key_bytes(verifier.public_key)));
}

Result<std::string> sign_note(std::string_view text, const NoteSigner& signer)
{
  if (text.empty() || text.back() != '\n') {
    return Status::invalid_argument("note text does not end in a newline");
  }
  if (!is_valid_note_text(text)) {
    return Status::invalid_argument("note text is not UTF-8 or holds a control character");
  }
  if (!is_valid_key_name(signer.name)) {
    return Status::invalid_argument("signer key: invalid name");
  }
  const std::optional<std::string> signature = ed25519_sign(signer.seed, text);
  if (!signature) {
    return Status::io_error("OpenSSL refused to sign with the Ed25519 key");
  }
  std::string hash_and_sig(4, '\0');
  for (int i = 0; i < 4; ++i) {
    hash_and_sig[static_cast<size_t>(i)] = static_cast<char>(signer.key_hash >> (24 - 8 * i));
  }
  hash_and_sig += *signature;
  std::string out(text);
  out += '\n';
  out += k_sig_prefix;
  out += signer.name;
  out += ' ';
  out += base64_encode(hash_and_sig);
  out += '\n';
  return out;
}

Result<std::string> open_note(std::string_view note, const NoteVerifier& verifier)
{
  const auto malformed = [](std::string_view why) {
    return Status::invalid_argument(fmt::format("malformed note: {}", why));
  };
  if (!is_valid_note_text(note)) {
    return malformed("not UTF-8, or holds a control character");
  }
  const size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos) {
    return malformed("no blank line before the signatures");
  }
  const std::string_view text = note.substr(0, split + 1);
  std::string_view sigs = note.substr(split + 2);
  if (sigs.empty() || sigs.back() != '\n') {
    return malformed("the signatures do not end in a newline");
  }
  int count = 0;
  bool seen = false;
  bool verified = false;
  while (!sigs.empty()) {
    const size_t end = sigs.find('\n');
    std::string_view line = sigs.substr(0, end);
    sigs.remove_prefix(end + 1);
    if (line.substr(0, k_sig_prefix.size()) != k_sig_prefix) {
      return malformed("a signature line does not start with an em dash and a space");
    }
    line.remove_prefix(k_sig_prefix.size());
    const auto [name, b64] = chop(line, ' ');
    const std::optional<std::string> sig = base64_decode(b64);
    if (!sig || !is_valid_key_name(name) || b64.empty() || sig->size() < 5) {
      return malformed("a signature line has a bad name or base64 signature");
    }
    if (++count > k_max_signatures) {
      return malformed("more than 100 signatures");
    }
    const uint32_t hash = (uint32_t{static_cast<uint8_t>((*sig)[0])} << 24)
                          | (uint32_t{static_cast<uint8_t>((*sig)[1])} << 16)
                          | (uint32_t{static_cast<uint8_t>((*sig)[2])} << 8)
                          | uint32_t{static_cast<uint8_t>((*sig)[3])};
    if (name != verifier.name || hash != verifier.key_hash || seen) {
      continue; // another key's signature (a witness), or a repeat of ours
    }
    seen = true;
    if (!ed25519_verify(verifier.public_key, text, std::string_view(*sig).substr(4))) {
      return Status::invalid_argument(fmt::format("invalid signature for key {}+{}", verifier.name,
                                                  format_key_hash(verifier.key_hash)));
    }
    verified = true;
  }
  if (!verified) {
    return Status::invalid_argument(fmt::format("the note has no signature by key {}+{}",
                                                verifier.name, format_key_hash(verifier.key_hash)));
  }
  return std::string(text);
}

Result<std::string> format_checkpoint(const Checkpoint& checkpoint)
{
  if (checkpoint.origin.empty() || checkpoint.origin.find('\n') != std::string::npos
      || !is_valid_note_text(checkpoint.origin)) {
    return Status::invalid_argument(fmt::format(
      "checkpoint origin '{}': empty, not UTF-8, or holds a control character", checkpoint.origin));
  }
  return fmt::format(
    "{}\n{}\n{}\n", checkpoint.origin, checkpoint.size,
    base64_encode(std::string_view(reinterpret_cast<const char*>(checkpoint.root.data()),
                                   checkpoint.root.size())));
}

Result<Checkpoint> parse_checkpoint(std::string_view text)
{
  const auto bad = [](std::string_view why) {
    return Status::invalid_argument(fmt::format("not a checkpoint: {}", why));
  };
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    if (end == std::string_view::npos) {
      return bad("the last line does not end in a newline");
    }
    lines.push_back(text.substr(0, end));
    text.remove_prefix(end + 1);
  }
  if (lines.size() < 3) {
    return bad("fewer than three lines (origin, size, root)");
  }
  Checkpoint checkpoint;
  if (lines[0].empty()) {
    return bad("the origin line is empty");
  }
  checkpoint.origin.assign(lines[0]);
  const std::string_view size = lines[1];
  if (size.empty() || size.size() > 20 || size.find_first_not_of("0123456789") != size.npos
      || (size.size() > 1 && size[0] == '0')) {
    return bad(fmt::format("size '{}' is not a decimal number without leading zeros", size));
  }
  uint64_t value = 0;
  for (char c : size) {
    const auto digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) {
      return bad(fmt::format("size '{}' is beyond 2^64-1", size));
    }
    value = value * 10 + digit;
  }
  checkpoint.size = value;
  const std::optional<std::string> root = base64_decode(lines[2]);
  if (!root || root->size() != checkpoint.root.size()) {
    return bad("the root is not 32 bytes of base64");
  }
  std::copy(root->begin(), root->end(), checkpoint.root.begin());
  for (size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) {
      return bad("an extension line is empty");
    }
  }
  return checkpoint;
}

Result<Checkpoint> verify_checkpoint(std::string_view note, const NoteVerifier& verifier)
{
  Result<std::string> text = open_note(note, verifier);
  if (!text.is_ok()) {
    return text.status();
  }
  return parse_checkpoint(text.value());
}

std::string base64_encode(std::string_view bytes)
{
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  const auto at = [&](size_t k) { return static_cast<uint32_t>(static_cast<uint8_t>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    out += k_b64[(v >> 18) & 63];
    out += k_b64[(v >> 12) & 63];
    out += k_b64[(v >> 6) & 63];
    out += k_b64[v & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest == 1) {
    const uint32_t v = at(i) << 16;
    out += k_b64[(v >> 18) & 63];
    out += k_b64[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    const uint32_t v = (at(i) << 16) | (at(i + 1) << 8);
    out += k_b64[(v >> 18) & 63];
    out += k_b64[(v >> 12) & 63];
    out += k_b64[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text)
{
  if (text.size() % 4 != 0) {
    return std::nullopt;
  }
  size_t padding = 0;
  if (!text.empty() && text.back() == '=') {
    padding = text[text.size() - 2] == '=' ? 2 : 1;
  }
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const size_t chars = last ? 4 - padding : 4;
    uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) {
      int d = 0;
      if (k < chars) {
        d = b64_value(text[i + k]);
        if (d < 0) {
          return std::nullopt;
        }
      }
      v = (v << 6) | static_cast<uint32_t>(d);
    }
    out += static_cast<char>(v >> 16);
    if (chars >= 3) {
      out += static_cast<char>(v >> 8);
    }
    if (chars == 4) {
      out += static_cast<char>(v);
    }
    // Unused bits of a padded quantum must be zero (canonical encoding).
    if ((chars == 2 && (v & 0xffff) != 0) || (chars == 3 && (v & 0xff) != 0)) {
      return std::nullopt;
    }
  }
  return out;
}

} // namespace merkql
