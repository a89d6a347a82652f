// Little-endian fixed-width and varint encoding, and CRC-32C, shared by every
// on-disk format (see docs/FORMAT.md §Conventions). Pure functions.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace merkql {

inline void put_u32(std::string& out, uint32_t v)
{
  char b[4];
  for (int i = 0; i < 4; ++i) {
    b[i] = static_cast<char>(v >> (8 * i));
  }
  out.append(b, 4);
}

inline void put_u64(std::string& out, uint64_t v)
{
  char b[8];
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<char>(v >> (8 * i));
  }
  out.append(b, 8);
}

// The same, written at p (which must have room); return the end.
inline char* put_u32_at(char* p, uint32_t v)
{
  for (int i = 0; i < 4; ++i) {
    p[i] = static_cast<char>(v >> (8 * i));
  }
  return p + 4;
}

inline char* put_u64_at(char* p, uint64_t v)
{
  for (int i = 0; i < 8; ++i) {
    p[i] = static_cast<char>(v >> (8 * i));
  }
  return p + 8;
}

inline uint32_t get_u32(const char* p)
{
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) {
    v = (v << 8) | static_cast<uint8_t>(p[i]);
  }
  return v;
}

inline uint64_t get_u64(const char* p)
{
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) {
    v = (v << 8) | static_cast<uint8_t>(p[i]);
  }
  return v;
}

inline void put_varint(std::string& out, uint64_t v)
{
  char b[10];
  int n = 0;
  while (v >= 0x80) {
    b[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  b[n++] = static_cast<char>(v);
  out.append(b, static_cast<size_t>(n));
}

// Decodes a varint from [*p, end); advances *p. False when truncated or longer
// than 10 bytes.
inline bool get_varint(const char** p, const char* end, uint64_t* v)
{
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && *p < end; shift += 7) {
    uint64_t byte = static_cast<uint8_t>(**p);
    ++*p;
    result |= (byte & 0x7f) << shift;
    if (!(byte & 0x80)) {
      *v = result;
      return true;
    }
  }
  return false;
}

inline uint64_t zigzag(int64_t v)
{
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t unzigzag(uint64_t v)
{
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

// CRC-32C (Castagnoli), hardware-accelerated where the CPU has SSE4.2.
uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);
inline uint32_t crc32c(std::string_view data)
{
  return crc32c(data.data(), data.size());
}

} // namespace merkql
