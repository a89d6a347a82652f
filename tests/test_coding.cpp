// coding.h and crc32c.cc: little-endian integers, varints, zigzag, CRC-32C.
#include <doctest/doctest.h>

#include <merkql/coding.h>

#include <cstdint>
#include <string>

using namespace merkql;

TEST_SUITE_BEGIN("merkql::Coding");

TEST_CASE("fixed-width integers are little-endian")
{
  std::string s;
  put_u32(s, 0x01020304u);
  put_u64(s, 0x1112131415161718ull);
  REQUIRE(s.size() == 12);
  CHECK(s.substr(0, 4) == std::string("\x04\x03\x02\x01", 4));
  CHECK(static_cast<uint8_t>(s[4]) == 0x18);
  CHECK(static_cast<uint8_t>(s[11]) == 0x11);
  CHECK(get_u32(s.data()) == 0x01020304u);
  CHECK(get_u64(s.data() + 4) == 0x1112131415161718ull);
}

TEST_CASE("varints and zigzag round-trip at their edges")
{
  for (uint64_t v : {uint64_t{0}, uint64_t{127}, uint64_t{128}, uint64_t{1} << 35, UINT64_MAX}) {
    std::string s;
    put_varint(s, v);
    const char* p = s.data();
    uint64_t back = 0;
    REQUIRE(get_varint(&p, s.data() + s.size(), &back));
    CHECK(back == v);
    CHECK(p == s.data() + s.size());
    const char* q = s.data();
    if (s.size() > 1) {
      CHECK_FALSE(get_varint(&q, s.data() + s.size() - 1, &back)); // truncated
    }
  }
  for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{1}, INT64_MIN, INT64_MAX}) {
    CHECK(unzigzag(zigzag(v)) == v);
  }
}

TEST_CASE("CRC-32C matches the standard check value")
{
  CHECK(crc32c("123456789") == 0xe3069283u);
  CHECK(crc32c("") == 0u);
}

TEST_CASE("zigzag maps small magnitudes to small numbers")
{
  CHECK(zigzag(0) == 0);
  CHECK(zigzag(-1) == 1);
  CHECK(zigzag(1) == 2);
  CHECK(zigzag(-2) == 3);
}

TEST_CASE("CRC-32C can be computed in pieces")
{
  const std::string text = "123456789";
  CHECK(crc32c(text.data() + 4, 5, crc32c(text.data(), 4)) == crc32c(text));
}

TEST_SUITE_END();
