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
  static const char digits[] = "0123456789abcdef";
  std::string out(64, '0');
  for (size_t i = 0; i < 32; ++i) {
    out[2 * i] = digits[hash[i] >> 4];
    out[2 * i + 1] = digits[hash[i] & 15];
  }
  return out;
}

std::optional<Hash> hash_from_hex(std::string_view hex)
{
  if (hex.size() != 64) {
    return std::nullopt;
  }
  auto nibble = [](char c) -> int {
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
  };
  Hash out;
  for (size_t i = 0; i < 32; ++i) {
    int hi = nibble(hex[2 * i]);
    int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    out[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return out;
}

} // namespace merkql
