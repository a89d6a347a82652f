#include "support/test_dir.h"

#include <algorithm>
#include <merkql/filename.h>
#include <merkql/group.h>

#include <filesystem>

using namespace merkql;
using merkql::test::require_ok;
using merkql::test::TestDir;
using merkql::test::unwrap;

TEST_SUITE_BEGIN("merkql::Group");

TEST_CASE("offsets files round-trip and reject damage")
{
  std::map<TopicPartition, uint64_t> offsets{
    {{"a", 0}, 5}, {{"a", 1}, 0}, {{"b.c", 7}, 1ull << 40}};
  const std::string bytes = encode_group_offsets(offsets);
  CHECK(unwrap(decode_group_offsets(bytes)) == offsets);
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ 0x40);
    CAPTURE(i);
    CHECK(decode_group_offsets(bad).status().is_corruption());
  }
  CHECK(decode_group_offsets(bytes.substr(0, bytes.size() - 1)).status().is_corruption());
  CHECK(decode_group_offsets("").status().is_corruption());
}

TEST_CASE("a group with no commit loads empty, a damaged OFFSETS is corruption")
{
  TestDir dir;
  GroupOffsets offsets(Env::posix(), dir.path(), "g");
  CHECK(unwrap(offsets.load()).empty());
  std::filesystem::create_directories(dir.path() + "/groups");
  require_ok(offsets.commit({{{"t", 0}, 3}}));
  CHECK(unwrap(offsets.load()).at({"t", 0}) == 3);
  merkql::test::corrupt(group_offsets_file(dir.path(), "g"), 14, 1);
  CHECK(offsets.load().status().is_corruption());
}

TEST_CASE("members share partitions round-robin and a dead member's share moves")
{
  TestDir dir;
  std::filesystem::create_directories(dir.path() + "/groups");
  std::vector<TopicPartition> all{{"t", 0}, {"t", 1}, {"t", 2}, {"t", 3}};
  auto a = unwrap(GroupMembership::join(Env::posix(), dir.path(), "g"));
  CHECK(unwrap(a->assignment(all)).size() == 4);
  auto b = unwrap(GroupMembership::join(Env::posix(), dir.path(), "g"));
  auto mine_a = unwrap(a->assignment(all));
  auto mine_b = unwrap(b->assignment(all));
  CHECK(mine_a.size() == 2);
  CHECK(mine_b.size() == 2);
  for (const auto& tp : mine_a) {
    CHECK(std::find(mine_b.begin(), mine_b.end(), tp) == mine_b.end());
  }
  // Ownership is exclusive until released.
  CHECK(unwrap(a->try_acquire({"t", 0})));
  CHECK_FALSE(unwrap(b->try_acquire({"t", 0})));
  a->release({"t", 0});
  CHECK(unwrap(b->try_acquire({"t", 0})));
  // When a member goes, its file and locks go with it.
  b.reset();
  CHECK(unwrap(a->live_members()).size() == 1);
  CHECK(unwrap(a->assignment(all)).size() == 4);
  CHECK(unwrap(a->try_acquire({"t", 0})));
}

TEST_CASE("members reading different topics each get every partition of their own topics")
{
  TestDir dir;
  std::filesystem::create_directories(dir.path() + "/groups");
  const std::vector<TopicPartition> of_a{{"a", 0}, {"a", 1}, {"a", 2}};
  const std::vector<TopicPartition> of_b{{"b", 0}, {"b", 1}};
  auto reads_a = unwrap(GroupMembership::join(Env::posix(), dir.path(), "g"));
  auto reads_b = unwrap(GroupMembership::join(Env::posix(), dir.path(), "g"));
  CHECK(reads_a->set_topics({"a"}).is_ok());
  CHECK(reads_b->set_topics({"b"}).is_ok());
  CHECK(unwrap(reads_a->assignment(of_a)) == of_a);
  CHECK(unwrap(reads_b->assignment(of_b)) == of_b);
  // A third member reading both shares each topic with its reader.
  auto reads_both = unwrap(GroupMembership::join(Env::posix(), dir.path(), "g"));
  CHECK(reads_both->set_topics({"a", "b"}).is_ok());
  std::vector<TopicPartition> all = of_a;
  all.insert(all.end(), of_b.begin(), of_b.end());
  std::vector<TopicPartition> taken = unwrap(reads_both->assignment(all));
  for (const auto& tp : unwrap(reads_a->assignment(of_a))) {
    taken.push_back(tp);
  }
  for (const auto& tp : unwrap(reads_b->assignment(of_b))) {
    taken.push_back(tp);
  }
  std::sort(taken.begin(), taken.end());
  CHECK(taken == all); // every partition once, none twice
  CHECK_FALSE(unwrap(reads_both->assignment(all)).empty());
}

TEST_CASE("looking at a group's members removes nothing, and a dead member is not live")
{
  TestDir dir;
  std::filesystem::create_directories(dir.path() + "/groups");
  CHECK(unwrap(live_group_members(Env::posix(), dir.path(), "g")).empty());
  auto a = unwrap(GroupMembership::join(Env::posix(), dir.path(), "g"));
  const auto live = unwrap(live_group_members(Env::posix(), dir.path(), "g"));
  REQUIRE(live.size() == 1);
  CHECK(live[0] == a->member_id());
  const auto joined = member_join_time(a->member_id());
  REQUIRE(joined.has_value());
  CHECK(*joined > 0);
  CHECK_FALSE(member_join_time("not-a-member-id").has_value());
  // A member file nobody holds (a killed member's) is dead, but stays.
  const std::string dead = group_members_dir(dir.path(), "g") + "/00000000000000000001-00000000";
  merkql::test::write_bytes(dead, "");
  CHECK(unwrap(live_group_members(Env::posix(), dir.path(), "g")).size() == 1);
  CHECK(std::filesystem::exists(dead));
}

TEST_CASE("deleting a group removes its directory, only once check_idle allows it")
{
  TestDir dir;
  std::filesystem::create_directories(dir.path() + "/groups");
  GroupOffsets offsets(Env::posix(), dir.path(), "g");
  require_ok(offsets.commit({{{"t", 0}, 3}}));
  {
    auto m = unwrap(GroupMembership::join(Env::posix(), dir.path(), "g"));
    CHECK(unwrap(m->try_acquire({"t", 0})));
  }
  const std::string gdir = group_dir(dir.path(), "g");
  int calls = 0;
  auto refuse = [&] {
    ++calls;
    return Status::busy("in use");
  };
  CHECK(delete_group_dir(Env::posix(), dir.path(), "g", Wait::no, refuse).is_busy());
  CHECK(calls == 1);
  CHECK(unwrap(offsets.load()).at({"t", 0}) == 3);
  require_ok(
    delete_group_dir(Env::posix(), dir.path(), "g", Wait::no, [] { return Status::ok(); }));
  CHECK_FALSE(std::filesystem::exists(gdir));
  CHECK(delete_group_dir(Env::posix(), dir.path(), "g", Wait::no, [] {
          return Status::ok();
        }).is_not_found());
  // A deleted group starts afresh.
  CHECK(unwrap(offsets.load()).empty());
}

TEST_SUITE_END();
