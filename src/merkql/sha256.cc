#include <merkql/sha256.h>

#include <openssl/evp.h>

#include <cstdlib>

namespace merkql {

Sha256::Sha256() : m_ctx(EVP_MD_CTX_new())
{
  if (!m_ctx) {
    std::abort();
  }
  reset();
}

Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(m_ctx)); }

void Sha256::reset()
{
  static const EVP_MD* md = EVP_sha256();
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(m_ctx), md, nullptr);
}

void Sha256::update(const void* data, size_t size)
{
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(m_ctx), data, size);
}

Hash Sha256::finish()
{
  Hash out;
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(m_ctx), out.data(), &len);
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
