#include <merkql/coding.h>

#include <array>

namespace merkql {

namespace {

constexpr uint32_t k_poly = 0x82f63b78; // reflected Castagnoli polynomial

constexpr std::array<uint32_t, 256> make_table()
{
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) {
      c = (c & 1) ? (c >> 1) ^ k_poly : c >> 1;
    }
    table[i] = c;
  }
  return table;
}

constexpr auto k_table = make_table();

uint32_t crc32c_portable(const uint8_t* p, size_t n, uint32_t crc)
{
  while (n--) {
    crc = k_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
  }
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t crc32c_sse42(const uint8_t* p, size_t n, uint32_t crc)
{
  uint64_t c = crc;
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    c = __builtin_ia32_crc32di(c, word);
    p += 8;
    n -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (n--) {
    c32 = __builtin_ia32_crc32qi(c32, *p++);
  }
  return c32;
}

bool have_sse42()
{
  static const bool have = __builtin_cpu_supports("sse4.2");
  return have;
}
#endif

} // namespace

uint32_t crc32c(const void* data, size_t size, uint32_t crc)
{
  const auto* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
#if defined(__x86_64__)
  if (have_sse42()) {
    return ~crc32c_sse42(p, size, crc);
  }
#endif
  return ~crc32c_portable(p, size, crc);
}

} // namespace merkql
