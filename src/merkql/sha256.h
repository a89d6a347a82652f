// SHA-256, the hash of every record, tree node and routing decision.
// With note.cc (Ed25519), the only file that touches OpenSSL. A Sha256
// object reuses one context across digests (much cheaper than the one-shot
// SHA256() for small inputs); it is not thread-safe: give each thread its own.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace merkql {

using Hash = std::array<uint8_t, 32>;

class Sha256 {
public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void reset();
  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  Hash finish();

  // reset + update + finish.
  Hash digest(std::string_view data);

private:
  void* m_ctx; // EVP_MD_CTX
};

// Convenience for callers without a context at hand (uses a thread-local one).
Hash sha256(std::string_view data);

// Hexadecimal text: lower case out, either case in.
std::string to_hex(const Hash& hash);
// The same into out, reusing its memory (no allocation once it has grown).
void to_hex(const Hash& hash, std::string& out);
std::optional<Hash> hash_from_hex(std::string_view hex); // exactly 64 digits
std::string bytes_to_hex(std::string_view bytes);
std::optional<std::string> bytes_from_hex(std::string_view hex); // an even count
// The value of one hexadecimal digit, or -1.
int hex_digit_value(char c);

} // namespace merkql
