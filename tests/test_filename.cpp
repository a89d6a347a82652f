#include "support/test_dir.h"

#include <merkql/filename.h>

using namespace merkql;

TEST_SUITE_BEGIN("merkql::filename");

TEST_CASE("segment names round-trip and reject look-alikes")
{
  CHECK(segment_file_name(12) == "00000012.log");
  CHECK(parse_segment_file_name("00000012.log") == 12u);
  CHECK(parse_segment_file_name(segment_file_name(99999999)) == 99999999u);
  CHECK_FALSE(parse_segment_file_name("0000012.log").has_value());
  CHECK_FALSE(parse_segment_file_name("0000001x.log").has_value());
  CHECK_FALSE(parse_segment_file_name("00000012.log.tmp").has_value());
  CHECK_FALSE(parse_segment_file_name("INDEX").has_value());
}

TEST_CASE("names: 1-249 of [A-Za-z0-9._-], not . or ..")
{
  CHECK(is_valid_name("sensors"));
  CHECK(is_valid_name("a.b_c-D9"));
  CHECK(is_valid_name(std::string(249, 'x')));
  CHECK_FALSE(is_valid_name(std::string(250, 'x')));
  CHECK_FALSE(is_valid_name(""));
  CHECK_FALSE(is_valid_name("."));
  CHECK_FALSE(is_valid_name(".."));
  CHECK_FALSE(is_valid_name("a/b"));
  CHECK_FALSE(is_valid_name("a b"));
  CHECK_FALSE(is_valid_name("caf\xc3\xa9"));
}

TEST_CASE("every path lives under the data directory")
{
  CHECK(partition_dir("/d", "t", 3) == "/d/topics/t/3");
  CHECK(segment_file("/d/topics/t/3", 0) == "/d/topics/t/3/00000000.log");
  CHECK(group_offsets_file("/d", "g") == "/d/groups/g/OFFSETS");
  CHECK(group_owner_file("/d", "g", "t") == "/d/groups/g/owners/t");
  CHECK(is_temp_file_name(temp_file("/d/MERKQL")));
}

TEST_SUITE_END();
