// The low-level SHA-256 API is the fastest OpenSSL offers for small inputs
// (EVP re-initialisation costs more than hashing a 100-byte record); it is
// deprecated in OpenSSL 3 but present, so ask for the 1.1 API explicitly.
#define OPENSSL_API_COMPAT 0x10100000L

#include <merkql/sha256.h>

#include <openssl/sha.h>

namespace merkql {

Sha256::Sha256() : m_ctx(new SHA256_CTX)
{
  reset();
}

Sha256::~Sha256()
{
  delete static_cast<SHA256_CTX*>(m_ctx);
}

void Sha256::reset()
{
  SHA256_Init(static_cast<SHA256_CTX*>(m_ctx));
}

void Sha256::update(const void* data, size_t size)
{
  SHA256_Update(static_cast<SHA256_CTX*>(m_ctx), data, size);
}

Hash Sha256::finish()
{
  Hash out;
  SHA256_Final(out.data(), static_cast<SHA256_CTX*>(m_ctx));
  return out;
}

Hash Sha256::digest(std::string_view data)
{
  reset();
  update(data);
  return finish();
}

Hash sha256(std::string_view data)
{
  thread_local Sha256 ctx;
  return ctx.digest(data);
}

std::string to_hex(const Hash& hash)
{
  std::string out;
  to_hex(hash, out);
  return out;
}

int hex_digit_value(char c)
{
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

namespace {

// Writes the n bytes as 2n lower-case hex digits into out.
void encode_hex(const uint8_t* bytes, size_t n, std::string& out)
{
  static constexpr char digits[] = "0123456789abcdef";
  out.resize(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 15];
  }
}

// Decodes hex (an even count of digits) into out[0 .. hex.size() / 2).
bool decode_hex(std::string_view hex, uint8_t* out)
{
  for (size_t i = 0; i < hex.size() / 2; ++i) {
    const int hi = hex_digit_value(hex[2 * i]);
    const int lo = hex_digit_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return false;
    }
    out[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return true;
}

} // namespace

std::optional<Hash> hash_from_hex(std::string_view hex)
{
  Hash out;
  if (hex.size() != 64 || !decode_hex(hex, out.data())) {
    return std::nullopt;
  }
  return out;
}

void to_hex(const Hash& hash, std::string& out)
{
  encode_hex(hash.data(), hash.size(), out);
}

std::string bytes_to_hex(std::string_view bytes)
{
  std::string out;
  encode_hex(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), out);
  return out;
}

std::optional<std::string> bytes_from_hex(std::string_view hex)
{
  if (hex.size() % 2 != 0) {
    return std::nullopt;
  }
  std::string out(hex.size() / 2, '\0');
  if (!decode_hex(hex, reinterpret_cast<uint8_t*>(out.data()))) {
    return std::nullopt;
  }
  return out;
}

} // namespace merkql
