// Reports (admin.h): descriptions of topics and groups, lag, and disk usage
// checked against an independent walk of the same directory.
#include "support/test_dir.h"

#include <merkql/merkql.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <sys/stat.h>

using namespace merkql;
using merkql::test::require_ok;
using merkql::test::TestDir;
using merkql::test::unwrap;

namespace fs = std::filesystem;

namespace {

std::shared_ptr<Broker> open_broker(const TestDir& dir, Repair repair = Repair::on_open)
{
  BrokerConfig config;
  config.dir = dir.data();
  config.repair = repair;
  if (repair == Repair::never) {
    config.create = Create::no;
  }
  return unwrap(Broker::open(config));
}

TopicConfig topic_config(uint32_t partitions, std::optional<uint64_t> max_records = {})
{
  TopicConfig config;
  config.partitions = partitions;
  config.retention.max_records = max_records;
  return config;
}

void append(Broker& broker, const std::string& topic, uint32_t partition, int count)
{
  Partition* p = unwrap(unwrap(broker.topic(topic))->partition(partition));
  std::vector<std::string> values;
  for (int i = 0; i < count; ++i) {
    values.push_back(std::to_string(i));
  }
  std::vector<AppendInput> batch;
  for (const std::string& v : values) {
    batch.push_back(AppendInput{std::nullopt, v, std::nullopt, false});
  }
  unwrap(p->append(batch));
}

void commit(Broker& broker, const std::string& group,
            const std::map<TopicPartition, uint64_t>& offsets)
{
  require_ok(GroupOffsets(broker.env(), broker.dir(), group).commit(offsets));
}

const GroupDescription* find_group(const std::vector<GroupDescription>& groups,
                                   const std::string& name)
{
  for (const GroupDescription& g : groups) {
    if (g.name == name) {
      return &g;
    }
  }
  return nullptr;
}

// What lstat(2) says about every entry under root, no link followed: the
// disk allocated to (st_blocks * 512) and the size of every entry that is
// not a directory, summed per kind of file.
struct Walk {
  uint64_t allocated = 0;        // everything
  uint64_t groups_allocated = 0; // under groups/
  uint64_t groups_size = 0;      // sizes of the files under groups/
  uint64_t size = 0;             // regular files outside groups/
  uint64_t segments = 0;         // *.log
  uint64_t index = 0;
  uint64_t tree = 0;
};

// groups: the path under root of the groups directory ("": root is one).
Walk walk(const std::string& root, const std::string& groups = "groups/")
{
  Walk w;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(root)) {
    struct stat st {};
    REQUIRE(::lstat(entry.path().c_str(), &st) == 0);
    if (S_ISDIR(st.st_mode)) {
      continue;
    }
    const uint64_t allocated = static_cast<uint64_t>(st.st_blocks) * 512;
    const std::string relative = fs::relative(entry.path(), root).string();
    w.allocated += allocated;
    if (relative.rfind(groups, 0) == 0) {
      w.groups_allocated += allocated;
      w.groups_size += static_cast<uint64_t>(st.st_size);
      continue;
    }
    REQUIRE(S_ISREG(st.st_mode));
    w.size += static_cast<uint64_t>(st.st_size);
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() == ".log") {
      w.segments += static_cast<uint64_t>(st.st_size);
    } else if (name == "INDEX") {
      w.index += static_cast<uint64_t>(st.st_size);
    } else if (name == "TREE") {
      w.tree += static_cast<uint64_t>(st.st_size);
    }
  }
  return w;
}

// Path, size and modification time of everything under root.
std::map<std::string, std::pair<uint64_t, int64_t>> snapshot(const std::string& root)
{
  std::map<std::string, std::pair<uint64_t, int64_t>> out;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(root)) {
    struct stat st {};
    REQUIRE(::lstat(entry.path().c_str(), &st) == 0);
    out[entry.path().string()] = {static_cast<uint64_t>(st.st_size),
                                  st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec};
  }
  return out;
}

} // namespace

TEST_SUITE_BEGIN("merkql::admin");

TEST_CASE("lag is what a group has still to read after its commit")
{
  TestDir dir;
  auto broker = open_broker(dir);
  unwrap(broker->create_topic("t", topic_config(2)));
  unwrap(broker->create_topic("u", topic_config(1)));
  append(*broker, "t", 0, 10);
  append(*broker, "t", 1, 3);
  append(*broker, "u", 0, 5);
  commit(*broker, "g", {{{"t", 0}, 4}, {{"t", 1}, 3}, {{"u", 0}, 0}});
  commit(*broker, "other", {{{"u", 0}, 2}});

  const auto topics = unwrap(describe_topics(*broker));
  REQUIRE(topics.size() == 2);
  const auto groups = unwrap(describe_groups(*broker, topics));
  REQUIRE(groups.size() == 2);
  const GroupDescription* g = find_group(groups, "g");
  REQUIRE(g != nullptr);
  REQUIRE(g->offsets.size() == 3);
  CHECK(g->offsets[0].partition == TopicPartition{"t", 0});
  CHECK(g->offsets[0].committed == 4);
  CHECK(g->offsets[0].lag == 6);
  CHECK(g->offsets[1].lag == 0);
  CHECK(g->offsets[2].lag == 5);

  // More records raise the lag; a new commit lowers it.
  append(*broker, "t", 1, 7);
  commit(*broker, "g", {{{"t", 0}, 10}});
  const auto later = unwrap(describe_groups(*broker, unwrap(describe_topics(*broker))));
  g = find_group(later, "g");
  REQUIRE(g != nullptr);
  CHECK(g->offsets[0].lag == 0);
  CHECK(g->offsets[1].lag == 7);

  // Restricted to one topic: only its offsets, only groups with one; lag
  // is unknown for a partition not among the described topics.
  const auto only_t = unwrap(describe_topics(*broker, {"t"}));
  const auto filtered = unwrap(describe_groups(*broker, only_t, std::string("t")));
  REQUIRE(filtered.size() == 1);
  CHECK(filtered[0].name == "g");
  CHECK(filtered[0].offsets.size() == 2);
  const auto unmeasured = unwrap(describe_groups(*broker, only_t));
  g = find_group(unmeasured, "other");
  REQUIRE(g != nullptr);
  REQUIRE(g->offsets.size() == 1);
  CHECK_FALSE(g->offsets[0].lag.has_value());
}

TEST_CASE("lag does not count records retention already hid")
{
  TestDir dir;
  auto broker = open_broker(dir);
  unwrap(broker->create_topic("t", topic_config(1, 3)));
  append(*broker, "t", 0, 10);
  commit(*broker, "behind", {{{"t", 0}, 2}});
  commit(*broker, "ahead", {{{"t", 0}, 12}}); // beyond the end: nothing to read
  const auto groups = unwrap(describe_groups(*broker, unwrap(describe_topics(*broker))));
  REQUIRE(groups.size() == 2);
  CHECK(find_group(groups, "behind")->offsets[0].lag == 3);
  CHECK(find_group(groups, "ahead")->offsets[0].lag == 0);
}

TEST_CASE("describing a group names its live members, the ends and the partitions being read")
{
  TestDir dir;
  auto broker = open_broker(dir);
  unwrap(broker->create_topic("t", topic_config(2)));
  append(*broker, "t", 0, 6);
  commit(*broker, "g", {{{"t", 0}, 2}, {{"t", 1}, 0}});
  auto member = unwrap(GroupMembership::join(broker->env(), broker->dir(), "g"));
  CHECK(unwrap(member->try_acquire({"t", 1})));

  GroupQuery query;
  query.group = "g";
  query.members = true;
  const auto groups = unwrap(describe_groups(*broker, unwrap(describe_topics(*broker)), query));
  REQUIRE(groups.size() == 1);
  const GroupDescription& g = groups[0];
  REQUIRE(g.members.size() == 1);
  CHECK(g.members[0].id == member->member_id());
  CHECK(g.members[0].joined_ns.has_value());
  REQUIRE(g.offsets.size() == 2);
  CHECK(g.offsets[0].end == 6);
  CHECK(g.offsets[0].lag == 4);
  CHECK_FALSE(g.offsets[0].owned);
  CHECK(g.offsets[1].end == 0);
  CHECK(g.offsets[1].owned);
  // Without asking for members, none are probed.
  const auto plain = unwrap(describe_groups(*broker, {}));
  CHECK(plain[0].members.empty());
  CHECK_FALSE(plain[0].offsets[1].owned);
  query.group = "nosuch";
  CHECK(describe_groups(*broker, {}, query).status().is_not_found());
}

TEST_CASE("delete_group is refused while a member lives or a partition is held")
{
  TestDir dir;
  auto broker = open_broker(dir);
  unwrap(broker->create_topic("t", topic_config(2)));
  commit(*broker, "g", {{{"t", 0}, 1}});
  {
    auto member = unwrap(GroupMembership::join(broker->env(), broker->dir(), "g"));
    const Status refused = delete_group(*broker, "g");
    CHECK(refused.is_busy());
    CHECK(refused.message().find("live member") != std::string::npos);
  }
  {
    auto holder = unwrap(GroupMembership::open_owner(broker->env(), broker->dir(), "g"));
    CHECK(unwrap(holder->try_acquire({"t", 1})));
    const Status refused = delete_group(*broker, "g");
    CHECK(refused.is_busy());
    CHECK(refused.message().find("partition 1 of topic t") != std::string::npos);
  }
  CHECK(unwrap(GroupOffsets(broker->env(), broker->dir(), "g").load()).size() == 1);
  require_ok(delete_group(*broker, "g"));
  CHECK(unwrap(broker->group_names()).empty());
  CHECK(delete_group(*broker, "g").is_not_found());
  CHECK(delete_group(*broker, "bad name").is_invalid_argument());
}

TEST_CASE("a group that never committed is listed with no offsets")
{
  TestDir dir;
  auto broker = open_broker(dir);
  unwrap(broker->create_topic("t", topic_config(1)));
  fs::create_directories(dir.data() + "/groups/idle");
  const auto groups = unwrap(describe_groups(*broker, unwrap(describe_topics(*broker))));
  REQUIRE(groups.size() == 1);
  CHECK(groups[0].name == "idle");
  CHECK(groups[0].offsets.empty());
}

TEST_CASE("describe_topics of an empty topic: no records, no root")
{
  TestDir dir;
  auto broker = open_broker(dir);
  TopicConfig config = topic_config(3, 7);
  config.compression = Compression::none;
  unwrap(broker->create_topic("empty", config));
  const auto topics = unwrap(describe_topics(*broker));
  REQUIRE(topics.size() == 1);
  CHECK(topics[0].name == "empty");
  CHECK(topics[0].config.partitions == 3);
  CHECK(topics[0].config.compression == Compression::none);
  CHECK(topics[0].config.retention.max_records == 7);
  REQUIRE(topics[0].partitions.size() == 3);
  for (uint32_t p = 0; p < 3; ++p) {
    const PartitionDescription& d = topics[0].partitions[p];
    CHECK(d.partition == p);
    CHECK(d.next_offset == 0);
    CHECK(d.watermark == 0);
    CHECK(d.records() == 0);
    CHECK_FALSE(d.root.has_value());
  }
  CHECK(unwrap(describe_topics(*broker, {})).empty());
  CHECK(describe_topics(*broker, {"missing"}).status().is_not_found());
}

TEST_CASE("describe_topics after retention: watermark, visible records, root of the whole log")
{
  TestDir dir;
  auto broker = open_broker(dir);
  unwrap(broker->create_topic("t", topic_config(2, 4)));
  append(*broker, "t", 0, 10);
  append(*broker, "t", 1, 3);
  const auto topics = unwrap(describe_topics(*broker, {"t"}));
  REQUIRE(topics.size() == 1);
  const PartitionDescription& p0 = topics[0].partitions[0];
  CHECK(p0.next_offset == 10);
  CHECK(p0.watermark == 6);
  CHECK(p0.records() == 4);
  Partition* partition = unwrap(unwrap(broker->topic("t"))->partition(0));
  CHECK(p0.root == unwrap(partition->merkle_root()));
  CHECK(p0.bytes == unwrap(partition->usage()).total());
  CHECK(p0.bytes > 0);
  const PartitionDescription& p1 = topics[0].partitions[1];
  CHECK(p1.next_offset == 3);
  CHECK(p1.watermark == 0);
  CHECK(p1.records() == 3);
  CHECK(p1.root.has_value());
  CHECK(p1.root != p0.root);
}

TEST_CASE("disk_usage sums equal a walk of the directory")
{
  TestDir dir;
  auto broker = open_broker(dir);
  unwrap(broker->create_topic("a", topic_config(3)));
  TopicConfig small = topic_config(2, 50);
  small.segment_bytes = 4096; // several segments, some reclaimable
  unwrap(broker->create_topic("b", small));
  append(*broker, "a", 0, 100);
  append(*broker, "a", 2, 1);
  for (int i = 0; i < 20; ++i) {
    append(*broker, "b", 1, 50);
  }
  commit(*broker, "g", {{{"a", 0}, 3}});

  std::vector<std::pair<uint64_t, uint64_t>> calls;
  const DiskUsage du = unwrap(
    disk_usage(*broker, [&](uint64_t done, uint64_t total) { calls.emplace_back(done, total); }));
  const Walk w = walk(dir.data());

  CHECK(du.dir == fs::canonical(dir.data()).string());
  CHECK(du.allocated_bytes() == w.allocated);
  CHECK(du.groups_bytes == w.groups_allocated);
  CHECK(du.usage.total() == w.size);
  CHECK(du.groups_file_bytes == w.groups_size);
  CHECK(du.file_bytes() == w.size + w.groups_size);
  CHECK(du.usage.records_bytes == w.segments);
  CHECK(du.usage.index_bytes == w.index);
  CHECK(du.usage.tree_bytes == w.tree);
  CHECK(du.usage.reclaimable_bytes > 0);
  CHECK(du.usage.reclaimable_bytes < du.usage.records_bytes);

  // Each level is the sum of the one below, plus its own files.
  REQUIRE(du.topics.size() == 2);
  CHECK(du.topics[0].name == "a");
  CHECK(du.topics[1].name == "b");
  PartitionUsage topics_sum;
  for (const TopicUsage& t : du.topics) {
    PartitionUsage partitions_sum;
    for (const PartitionUsage& p : t.partitions) {
      partitions_sum.add(p);
    }
    const std::string topic_file = dir.data() + "/topics/" + t.name + "/TOPIC";
    CHECK(t.usage.records_bytes == partitions_sum.records_bytes);
    CHECK(t.usage.reclaimable_bytes == partitions_sum.reclaimable_bytes);
    CHECK(t.usage.metadata_bytes == partitions_sum.metadata_bytes + fs::file_size(topic_file));
    CHECK(t.usage.allocated_bytes >= partitions_sum.allocated_bytes);
    topics_sum.add(t.usage);
  }
  CHECK(du.topics[0].partitions.size() == 3);
  CHECK(du.topics[1].partitions[0].records_bytes == 0);
  CHECK(du.topics[1].partitions[1].records_bytes > 4096);
  CHECK(du.usage.metadata_bytes
        == topics_sum.metadata_bytes + fs::file_size(dir.data() + "/MERKQL")
             + fs::file_size(dir.data() + "/LOCK"));
  CHECK(du.usage.records_bytes == topics_sum.records_bytes);

  // One progress call per partition, counting up to the total.
  REQUIRE(calls.size() == 5);
  for (size_t k = 0; k < calls.size(); ++k) {
    CHECK(calls[k] == std::pair<uint64_t, uint64_t>{k + 1, 5});
  }
}

TEST_CASE("disk_usage counts every group's files, and a link only as itself")
{
  TestDir dir;
  auto broker = open_broker(dir);
  unwrap(broker->create_topic("t", topic_config(1)));
  append(*broker, "t", 0, 5);
  commit(*broker, "g1", {{{"t", 0}, 1}});
  commit(*broker, "g2", {{{"t", 0}, 2}});
  const std::string g2 = dir.data() + "/groups/g2";
  fs::create_directories(g2 + "/members/deep");
  test::write_bytes(g2 + "/members/deep/file", std::string(10000, 'x'));
  fs::create_directory_symlink("/", g2 + "/root");
  fs::create_directory_symlink(".", g2 + "/self");
  fs::create_directories(dir.data() + "/groups/bad name"); // not a group

  const DiskUsage du = unwrap(disk_usage(*broker));
  REQUIRE(du.groups.size() == 2);
  CHECK(du.groups[0].name == "g1");
  CHECK(du.groups[1].name == "g2");
  CHECK(du.groups[0].allocated_bytes == walk(dir.data() + "/groups/g1", "").allocated);
  CHECK(du.groups[1].allocated_bytes == walk(g2, "").allocated);
  CHECK(du.groups[1].allocated_bytes >= 10000);
  CHECK(du.groups_bytes == du.groups[0].allocated_bytes + du.groups[1].allocated_bytes);
  CHECK(du.groups_bytes == walk(dir.data() + "/groups", "").allocated);
}

TEST_CASE("reports made through a look-only broker create and change nothing")
{
  TestDir dir;
  {
    auto broker = open_broker(dir);
    unwrap(broker->create_topic("t", topic_config(4, 3)));
    append(*broker, "t", 0, 10);
    unwrap(broker->create_topic("never-opened", topic_config(2)));
    commit(*broker, "g", {{{"t", 0}, 1}});
  }
  const auto before = snapshot(dir.data());
  auto broker = open_broker(dir, Repair::never);
  const auto topics = unwrap(describe_topics(*broker));
  CHECK(topics.size() == 2);
  CHECK(unwrap(describe_groups(*broker, topics)).size() == 1);
  const DiskUsage du = unwrap(disk_usage(*broker));
  CHECK(du.topics.size() == 2);
  broker.reset();
  CHECK(snapshot(dir.data()) == before);
}

TEST_CASE("a damaged partition is reported with its name")
{
  TestDir dir;
  {
    auto broker = open_broker(dir);
    unwrap(broker->create_topic("t", topic_config(2)));
    append(*broker, "t", 1, 10);
  }
  fs::remove(dir.data() + "/topics/t/1/HEAD");
  auto broker = open_broker(dir, Repair::never);
  auto du = disk_usage(*broker);
  REQUIRE_FALSE(du.is_ok());
  CHECK(du.status().is_corruption());
  CHECK(du.status().message().rfind("t/1: ", 0) == 0);
}

TEST_SUITE_END();
