#include <merkql/admin.h>
#include <merkql/filename.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>

namespace merkql {

namespace {

// Records a group has still to read in a partition ending at next_offset
// whose retention keeps offsets from watermark: what it has not read yet
// minus what retention already hid from it.
uint64_t lag(uint64_t committed, uint64_t next_offset, uint64_t watermark)
{
  const uint64_t from = std::max(committed, watermark);
  return next_offset > from ? next_offset - from : 0;
}

// Adds one of the directory's own files (MERKQL, LOCK, TOPIC): its size as
// metadata, the disk it holds as allocated. Missing: nothing.
void add_metadata_file(Env* env, PartitionUsage& usage, const std::string& path)
{
  if (auto stat = env->stat(path); stat.is_ok()) {
    usage.metadata_bytes += stat->size;
    usage.allocated_bytes += stat->allocated_bytes;
  }
}

// Disk space allocated to the files under path, and their sizes. Symbolic links are never
// followed (a link counts as itself), so a link cannot lead the walk out of
// the directory or round in a loop; the walk keeps its own stack instead of
// recursing. What vanishes or cannot be looked at meanwhile counts nothing.
GroupUsage tree_usage(Env* env, const std::string& path)
{
  GroupUsage total;
  std::vector<std::string> pending{path};
  while (!pending.empty()) {
    const std::string next = std::move(pending.back());
    pending.pop_back();
    auto stat = env->stat(next);
    if (!stat.is_ok()) {
      continue;
    }
    if (stat->type != FileStat::Type::directory) {
      total.allocated_bytes += stat->allocated_bytes;
      total.file_bytes += stat->size;
      continue;
    }
    auto names = env->list_dir(next);
    if (!names.is_ok()) {
      continue;
    }
    for (const std::string& name : *names) {
      pending.push_back(next + "/" + name);
    }
  }
  return total;
}

Result<PartitionDescription> describe_partition(Partition& partition)
{
  PartitionDescription d;
  d.partition = partition.id();
  MERKQL_ASSIGN_OR_RETURN(PartitionHead head, partition.head());
  d.next_offset = head.next_offset;
  d.watermark = partition.watermark_for(d.next_offset);
  MERKQL_ASSIGN_OR_RETURN(d.root, partition.merkle_root_at(d.next_offset));
  MERKQL_ASSIGN_OR_RETURN(PartitionUsage usage, partition.usage());
  d.bytes = usage.total();
  d.allocated_bytes = usage.allocated_bytes;
  return d;
}

} // namespace

Result<std::vector<TopicDescription>> describe_topics(Broker& broker,
                                                      const std::vector<std::string>& names)
{
  std::vector<TopicDescription> topics;
  for (const std::string& name : names) {
    MERKQL_ASSIGN_OR_RETURN(Topic * topic, broker.topic(name));
    TopicDescription t{name, topic->config(), {}};
    for (uint32_t p = 0; p < topic->partition_count(); ++p) {
      MERKQL_ASSIGN_OR_RETURN(Partition * partition, topic->partition(p));
      MERKQL_ASSIGN_OR_RETURN(PartitionDescription d, describe_partition(*partition));
      t.partitions.push_back(std::move(d));
    }
    topics.push_back(std::move(t));
  }
  return topics;
}

Result<std::vector<TopicDescription>> describe_topics(Broker& broker)
{
  MERKQL_ASSIGN_OR_RETURN(auto names, broker.topic_names());
  return describe_topics(broker, names);
}

Result<std::vector<GroupDescription>> describe_groups(Broker& broker,
                                                      const std::vector<TopicDescription>& topics,
                                                      const std::optional<std::string>& only_topic)
{
  GroupQuery query;
  query.topic = only_topic;
  return describe_groups(broker, topics, query);
}

Result<std::vector<GroupDescription>> describe_groups(Broker& broker,
                                                      const std::vector<TopicDescription>& topics,
                                                      const GroupQuery& query)
{
  std::map<TopicPartition, const PartitionDescription*> described;
  for (const TopicDescription& t : topics) {
    for (const PartitionDescription& p : t.partitions) {
      described[{t.name, p.partition}] = &p;
    }
  }
  std::vector<std::string> names;
  if (query.group) {
    MERKQL_TRY(check_name(*query.group, "group"));
    if (!broker.env()->is_dir(group_dir(broker.dir(), *query.group))) {
      return Status::not_found(fmt::format("no group {}", *query.group));
    }
    names.push_back(*query.group);
  } else {
    MERKQL_ASSIGN_OR_RETURN(names, broker.group_names());
  }
  std::vector<GroupDescription> groups;
  for (const std::string& name : names) {
    auto loaded = GroupOffsets(broker.env(), broker.dir(), name).load();
    std::map<TopicPartition, uint64_t> offsets;
    if (loaded.is_ok()) {
      offsets = std::move(loaded).value();
    } else if (!loaded.status().is_not_found()) {
      return loaded.status().with_context(fmt::format("group {}", name));
    }
    GroupDescription g{name, {}, {}};
    for (const auto& [tp, committed] : offsets) {
      if (query.topic && tp.first != *query.topic) {
        continue;
      }
      CommittedOffset c{tp, committed, std::nullopt, std::nullopt, false};
      if (auto it = described.find(tp); it != described.end()) {
        c.lag = lag(committed, it->second->next_offset, it->second->watermark);
        c.end = it->second->next_offset;
      }
      if (query.members) {
        auto owned = partition_owned(broker.env(), broker.dir(), name, tp);
        if (!owned.is_ok()) {
          return owned.status().with_context(fmt::format("group {}", name));
        }
        c.owned = *owned;
      }
      g.offsets.push_back(std::move(c));
    }
    if (query.topic && g.offsets.empty()) {
      continue;
    }
    if (query.members) {
      auto live = live_group_members(broker.env(), broker.dir(), name);
      if (!live.is_ok()) {
        return live.status().with_context(fmt::format("group {}", name));
      }
      for (const std::string& id : *live) {
        g.members.push_back({id, member_join_time(id)});
      }
    }
    groups.push_back(std::move(g));
  }
  return groups;
}

Status delete_group(Broker& broker, const std::string& group)
{
  MERKQL_TRY(check_name(group, "group"));
  Env* env = broker.env();
  const std::string& dir = broker.dir();
  auto check_idle = [&]() -> Status {
    MERKQL_ASSIGN_OR_RETURN(auto live, live_group_members(env, dir, group));
    if (!live.empty()) {
      return Status::busy(fmt::format("group {} has {} live member{} ({}); stop {} first", group,
                                      live.size(), live.size() == 1 ? "" : "s",
                                      fmt::join(live, ", "), live.size() == 1 ? "it" : "them"));
    }
    // A process reading chosen partitions as the group holds their owner
    // locks without being a member.
    MERKQL_ASSIGN_OR_RETURN(auto topics, broker.topic_names());
    for (const std::string& name : topics) {
      if (!env->exists(group_owner_file(dir, group, name))) {
        continue;
      }
      MERKQL_ASSIGN_OR_RETURN(Topic * topic, broker.topic(name));
      for (uint32_t p = 0; p < topic->partition_count(); ++p) {
        MERKQL_ASSIGN_OR_RETURN(bool owned, partition_owned(env, dir, group, {name, p}));
        if (owned) {
          return Status::busy(fmt::format(
            "partition {} of topic {} is being read by a process of group {}; stop it first", p,
            name, group));
        }
      }
    }
    return Status::ok();
  };
  return delete_group_dir(env, dir, group, broker.config().lock_wait, check_idle);
}

Result<DiskUsage> disk_usage(Broker& broker,
                             const std::function<void(uint64_t, uint64_t)>& progress)
{
  Env* env = broker.env();
  DiskUsage du;
  du.dir = broker.dir();
  MERKQL_ASSIGN_OR_RETURN(auto names, broker.topic_names());
  std::vector<Topic*> topics;
  uint64_t partitions_total = 0;
  for (const std::string& name : names) {
    MERKQL_ASSIGN_OR_RETURN(Topic * topic, broker.topic(name));
    topics.push_back(topic);
    partitions_total += topic->partition_count();
  }
  uint64_t partitions_done = 0;
  for (Topic* topic : topics) {
    TopicUsage t{topic->name(), {}, {}};
    add_metadata_file(env, t.usage, topic_config_file(du.dir, topic->name()));
    for (uint32_t p = 0; p < topic->partition_count(); ++p) {
      const std::string label = fmt::format("{}/{}", topic->name(), p);
      auto partition = topic->partition(p);
      if (!partition.is_ok()) {
        return partition.status().with_context(label);
      }
      auto usage = (*partition)->usage();
      if (!usage.is_ok()) {
        return usage.status().with_context(label);
      }
      t.usage.add(*usage);
      t.partitions.push_back(*usage);
      if (progress) {
        progress(++partitions_done, partitions_total);
      }
    }
    du.usage.add(t.usage);
    du.topics.push_back(std::move(t));
  }
  add_metadata_file(env, du.usage, marker_file(du.dir));
  add_metadata_file(env, du.usage, broker_lock_file(du.dir));
  MERKQL_ASSIGN_OR_RETURN(auto groups, broker.group_names());
  for (const std::string& name : groups) {
    GroupUsage g = tree_usage(env, group_dir(du.dir, name));
    g.name = name;
    du.groups_bytes += g.allocated_bytes;
    du.groups_file_bytes += g.file_bytes;
    du.groups.push_back(std::move(g));
  }
  return du;
}

} // namespace merkql
