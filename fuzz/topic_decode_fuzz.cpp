// Fuzz target: the TOPIC settings decoder (decode_topic_config). First input
// byte odd: the rest gets a correct CRC before decoding, to reach the checks
// behind it. What decodes must lie within the limits docs/FORMAT.md §Topic
// states, and encode and decode to the same settings.
#include "fuzz_support.h"

#include <merkql/broker.h>
#include <merkql/coding.h>
#include <merkql/format.h>

#include <string>

using namespace merkql;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  if (size == 0) {
    return 0;
  }
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 1 && bytes.size() >= 36) {
    const uint32_t crc = crc32c(bytes.data(), 32);
    for (int i = 0; i < 4; ++i) {
      bytes[32 + static_cast<size_t>(i)] = static_cast<char>(crc >> (8 * i));
    }
  }
  auto config = decode_topic_config(bytes);
  if (!config.is_ok()) {
    MERKQL_FUZZ_CHECK(config.status().is_corruption(), config.status().message());
    return 0;
  }
  MERKQL_FUZZ_CHECK(config->partitions >= 1 && config->partitions <= 100000);
  MERKQL_FUZZ_CHECK(config->segment_bytes >= format::k_min_segment_bytes
                    && config->segment_bytes <= format::k_max_segment_bytes);
  MERKQL_FUZZ_CHECK(!config->retention.max_records || *config->retention.max_records >= 1);
  auto again = decode_topic_config(encode_topic_config(*config));
  MERKQL_FUZZ_CHECK(again.is_ok(), again.status().message());
  MERKQL_FUZZ_CHECK(again->partitions == config->partitions);
  MERKQL_FUZZ_CHECK(again->compression == config->compression);
  MERKQL_FUZZ_CHECK(again->retention == config->retention);
  MERKQL_FUZZ_CHECK(again->segment_bytes == config->segment_bytes);
  return 0;
}
