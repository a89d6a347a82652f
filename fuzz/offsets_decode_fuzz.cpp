// Fuzz target: the group OFFSETS decoder (decode_group_offsets). First input
// byte odd: the rest gets a correct trailing CRC before decoding, to reach
// the checks behind it. What decodes must encode and decode to the same map.
#include "fuzz_support.h"

#include <merkql/coding.h>
#include <merkql/group.h>

#include <string>

using namespace merkql;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  if (size == 0) {
    return 0;
  }
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 1 && bytes.size() >= 4) {
    const uint32_t crc = crc32c(bytes.data(), bytes.size() - 4);
    for (int i = 0; i < 4; ++i) {
      bytes[bytes.size() - 4 + static_cast<size_t>(i)] = static_cast<char>(crc >> (8 * i));
    }
  }
  auto offsets = decode_group_offsets(bytes);
  if (!offsets.is_ok()) {
    MERKQL_FUZZ_CHECK(offsets.status().is_corruption(), offsets.status().message());
    return 0;
  }
  auto again = decode_group_offsets(encode_group_offsets(*offsets));
  MERKQL_FUZZ_CHECK(again.is_ok(), again.status().message());
  MERKQL_FUZZ_CHECK(*again == *offsets);
  return 0;
}
