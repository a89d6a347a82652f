#include <merkql/broker.h>
#include <merkql/consumer.h>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace merkql {

Consumer::Consumer(std::shared_ptr<Broker> broker, ConsumerConfig config)
  : m_broker(std::move(broker)), m_config(std::move(config)),
    m_offsets(m_broker->env(), m_broker->dir(), m_config.group_id, m_broker->config().lock_wait)
{}

Result<StartPosition> StartPosition::parse(std::string_view text)
{
  if (text == "beginning") {
    return StartPosition{Kind::beginning, 0};
  }
  if (text == "end") {
    return StartPosition{Kind::end, 0};
  }
  const bool last = !text.empty() && text[0] == '-';
  const std::string_view digits = last ? text.substr(1) : text;
  uint64_t value = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size()) {
    return Status::invalid_argument(
      fmt::format("'{}' is not an offset: give beginning, end, an offset N, or -N for the last "
                  "N records",
                  text));
  }
  return StartPosition{last ? Kind::last : Kind::offset, value};
}

Result<uint64_t> start_offset(Partition& partition, const StartPosition& where)
{
  MERKQL_ASSIGN_OR_RETURN(uint64_t next, partition.next_offset());
  const uint64_t watermark = partition.watermark_for(next);
  switch (where.kind) {
  case StartPosition::Kind::beginning:
    return watermark;
  case StartPosition::Kind::end:
    return next;
  case StartPosition::Kind::offset:
    return std::min(std::max(where.value, watermark), next);
  case StartPosition::Kind::last:
    return next - std::min(where.value, next - watermark);
  case StartPosition::Kind::time: {
    uint64_t found = next;
    PartitionReader reader(&partition);
    MERKQL_TRY(reader.scan(watermark, next, [&](uint64_t offset, const StoredRecordView& r) {
      if (r.timestamp >= where.time()) {
        found = offset;
        return false;
      }
      return true;
    }));
    return found;
  }
  }
  return Status::invalid_argument("unknown start position");
}

Result<uint64_t> start_offset(Partition& partition, OffsetReset reset,
                              std::optional<uint64_t> committed)
{
  using Kind = StartPosition::Kind;
  if (committed) {
    return start_offset(partition, StartPosition{Kind::offset, *committed});
  }
  return start_offset(
    partition, StartPosition{reset == OffsetReset::earliest ? Kind::beginning : Kind::end, 0});
}

Result<std::unique_ptr<Consumer>> Consumer::open(std::shared_ptr<Broker> broker,
                                                 ConsumerConfig config)
{
  if (!config.group_id.empty()) {
    MERKQL_TRY(check_name(config.group_id, "group"));
  }
  if (config.max_poll_records == 0) {
    return Status::invalid_argument("max_poll_records must be at least 1");
  }
  return std::unique_ptr<Consumer>(new Consumer(std::move(broker), std::move(config)));
}

Consumer::~Consumer()
{
  (void)close();
}

Status Consumer::subscribe(const std::vector<std::string>& topics)
{
  if (m_closed) {
    return Status::closed("the consumer is closed");
  }
  if (m_manual) {
    return Status::invalid_argument("a consumer with assigned partitions cannot subscribe");
  }
  for (const std::string& name : topics) {
    MERKQL_TRY(m_broker->topic_or_create(name).status());
  }
  // Members join when they first subscribe, so that a consumer given
  // partitions by assign() never takes a share of the group's.
  if (!m_membership && has_group() && m_config.coordination == Coordination::file_locks) {
    MERKQL_ASSIGN_OR_RETURN(
      m_membership, GroupMembership::join(m_broker->env(), m_broker->dir(), m_config.group_id));
  }
  m_topics = topics;
  std::sort(m_topics.begin(), m_topics.end());
  m_topics.erase(std::unique(m_topics.begin(), m_topics.end()), m_topics.end());
  if (m_membership) {
    MERKQL_TRY(m_membership->set_topics(m_topics));
  }
  // Drop partitions of topics no longer subscribed.
  for (auto it = m_assigned.begin(); it != m_assigned.end();) {
    if (!std::binary_search(m_topics.begin(), m_topics.end(), it->first.first)) {
      if (m_membership) {
        m_membership->release(it->first);
      }
      it = m_assigned.erase(it);
    } else {
      ++it;
    }
  }
  return rebalance(true);
}

Result<std::vector<TopicPartition>> Consumer::all_partitions()
{
  std::vector<TopicPartition> all;
  for (const std::string& name : m_topics) {
    MERKQL_ASSIGN_OR_RETURN(Topic * topic, m_broker->topic(name));
    for (uint32_t p = 0; p < topic->partition_count(); ++p) {
      all.emplace_back(name, p);
    }
  }
  return all;
}

Status Consumer::assign(const std::vector<TopicPartition>& partitions)
{
  if (m_closed) {
    return Status::closed("the consumer is closed");
  }
  if (!m_topics.empty()) {
    return Status::invalid_argument("a subscribed consumer cannot be assigned partitions");
  }
  m_manual = true;
  std::vector<std::pair<TopicPartition, Partition*>> found;
  for (const TopicPartition& tp : partitions) {
    MERKQL_ASSIGN_OR_RETURN(Topic * topic, m_broker->topic(tp.first));
    MERKQL_ASSIGN_OR_RETURN(Partition * partition, topic->partition(tp.second));
    found.emplace_back(tp, partition);
  }
  if (has_group() && m_config.coordination == Coordination::file_locks && !m_membership) {
    MERKQL_ASSIGN_OR_RETURN(m_membership, GroupMembership::open_owner(
                                            m_broker->env(), m_broker->dir(), m_config.group_id));
  }
  std::map<TopicPartition, uint64_t> committed;
  if (has_group()) {
    MERKQL_ASSIGN_OR_RETURN(committed, m_offsets.load());
  }
  for (const auto& [tp, partition] : found) {
    if (m_assigned.count(tp)) {
      continue;
    }
    if (m_membership) {
      MERKQL_ASSIGN_OR_RETURN(bool got, m_membership->try_acquire(tp));
      if (!got) {
        return Status::busy(fmt::format("partition {} of topic {} is being read by another "
                                        "process of group {}",
                                        tp.second, tp.first, m_config.group_id));
      }
    }
    MERKQL_TRY(take(tp, partition, committed));
  }
  return Status::ok();
}

Status Consumer::take(const TopicPartition& tp, Partition* partition,
                      const std::map<TopicPartition, uint64_t>& committed)
{
  auto it = committed.find(tp);
  const bool has_commit = it != committed.end();
  const bool moved = m_start && !m_started.count(tp);
  Assigned a;
  a.partition = partition;
  if (moved) {
    MERKQL_ASSIGN_OR_RETURN(a.position, start_offset(*partition, *m_start));
    m_started.insert(tp);
  } else {
    MERKQL_ASSIGN_OR_RETURN(a.position,
                            start_offset(*partition, m_config.offset_reset,
                                         has_commit ? std::optional(it->second) : std::nullopt));
  }
  a.reader = std::make_unique<PartitionReader>(partition);
  const uint64_t position = a.position;
  m_assigned[tp] = std::move(a);
  if (has_commit) {
    m_last_committed[tp] = it->second;
  }
  const bool record_start = moved ? !has_commit || it->second != position : !has_commit;
  if (has_group() && record_start && m_config.commit_start_position) {
    MERKQL_TRY(m_offsets.commit({{tp, position}}));
    m_last_committed[tp] = position;
  }
  return Status::ok();
}

Status Consumer::commit_offsets(const std::map<TopicPartition, uint64_t>& offsets)
{
  if (!has_group()) {
    return Status::invalid_argument("a consumer without a group has nothing to commit to");
  }
  MERKQL_TRY(m_offsets.commit(offsets));
  for (auto& [tp, offset] : offsets) {
    m_last_committed[tp] = offset;
  }
  return Status::ok();
}

Status Consumer::rebalance(bool force)
{
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - m_last_rebalance < m_config.rebalance_interval) {
    return Status::ok();
  }
  m_last_rebalance = now;
  MERKQL_ASSIGN_OR_RETURN(auto all, all_partitions());
  std::vector<TopicPartition> target = all;
  if (m_membership) {
    MERKQL_ASSIGN_OR_RETURN(target, m_membership->assignment(all));
    // Hand back what is no longer ours, at a committed position.
    for (auto it = m_assigned.begin(); it != m_assigned.end();) {
      if (std::find(target.begin(), target.end(), it->first) == target.end()) {
        if (m_config.auto_commit) {
          MERKQL_TRY(m_offsets.commit({{it->first, it->second.position}}));
        }
        m_membership->release(it->first);
        m_last_committed.erase(it->first);
        it = m_assigned.erase(it);
      } else {
        ++it;
      }
    }
  }
  std::optional<std::map<TopicPartition, uint64_t>> committed;
  for (const TopicPartition& tp : target) {
    if (m_assigned.count(tp)) {
      continue;
    }
    if (m_membership) {
      MERKQL_ASSIGN_OR_RETURN(bool got, m_membership->try_acquire(tp));
      if (!got) {
        continue; // the previous owner has not let go yet
      }
    }
    if (!committed) {
      // Read fresh: the previous owner may have just committed.
      if (has_group()) {
        MERKQL_ASSIGN_OR_RETURN(committed, m_offsets.load());
      } else {
        committed.emplace();
      }
    }
    MERKQL_ASSIGN_OR_RETURN(Topic * topic, m_broker->topic(tp.first));
    MERKQL_ASSIGN_OR_RETURN(Partition * partition, topic->partition(tp.second));
    MERKQL_TRY(take(tp, partition, *committed));
  }
  return Status::ok();
}

Record to_record(const PolledRecord& v)
{
  Record r;
  if (v.key) {
    r.key.emplace(*v.key);
  }
  r.value.assign(v.value);
  r.topic.assign(v.topic);
  r.partition = v.partition;
  r.offset = v.offset;
  r.timestamp = v.timestamp;
  r.value_is_json = v.value_is_json;
  return r;
}

Result<std::vector<Record>> Consumer::poll(std::chrono::milliseconds timeout)
{
  std::vector<Record> out;
  MERKQL_TRY(
    poll([&out](const PolledRecord& v) { out.push_back(to_record(v)); }, timeout).status());
  return out;
}

Result<size_t> Consumer::poll(const RecordVisitor& fn, std::chrono::milliseconds timeout,
                              size_t max)
{
  if (m_closed) {
    return Status::closed("the consumer is closed");
  }
  if (m_config.auto_commit && has_group()) {
    MERKQL_TRY(commit_sync());
  }
  max = std::min(max, m_config.max_poll_records);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t count = 0;
  for (;;) {
    if (!m_manual) {
      MERKQL_TRY(rebalance(false));
    }
    if (!m_assigned.empty()) {
      std::vector<TopicPartition> order;
      for (auto& [tp, a] : m_assigned) {
        order.push_back(tp);
      }
      const size_t start = m_next_partition++ % order.size();
      for (size_t k = 0; k < order.size() && count < max; ++k) {
        const TopicPartition& tp = order[(start + k) % order.size()];
        Assigned& a = m_assigned[tp];
        MERKQL_ASSIGN_OR_RETURN(uint64_t next, a.partition->next_offset());
        a.position = std::max(a.position, a.partition->watermark_for(next));
        if (a.position >= next) {
          continue;
        }
        const uint64_t end = std::min<uint64_t>(next, a.position + (max - count));
        PolledRecord view;
        view.topic = a.partition->topic();
        view.partition = tp.second;
        MERKQL_TRY(a.reader->scan(a.position, end, [&](uint64_t offset, const StoredRecordView& r) {
          view.offset = offset;
          view.timestamp = r.timestamp;
          view.key = r.key;
          view.value = r.value;
          view.value_is_json = r.value_is_json;
          fn(view);
          return true;
        }));
        count += static_cast<size_t>(end - a.position);
        a.position = end;
      }
    }
    if (count > 0 || std::chrono::steady_clock::now() >= deadline) {
      return count;
    }
    m_broker->env()->sleep_ms(10);
  }
}

Status Consumer::commit_sync()
{
  if (m_closed) {
    return Status::closed("the consumer is closed");
  }
  std::map<TopicPartition, uint64_t> changed;
  for (auto& [tp, a] : m_assigned) {
    auto it = m_last_committed.find(tp);
    if (it == m_last_committed.end() || it->second != a.position) {
      changed[tp] = a.position;
    }
  }
  return commit_offsets(changed);
}

Status Consumer::commit_sync(const std::map<TopicPartition, uint64_t>& offsets)
{
  if (m_closed) {
    return Status::closed("the consumer is closed");
  }
  return commit_offsets(offsets);
}

Status Consumer::close()
{
  if (m_closed) {
    return Status::ok();
  }
  Status status = m_config.auto_commit && has_group() ? commit_sync() : Status::ok();
  m_assigned.clear();
  m_membership.reset();
  m_closed = true;
  return status;
}

std::map<TopicPartition, uint64_t> Consumer::positions() const
{
  std::map<TopicPartition, uint64_t> out;
  for (const auto& [tp, a] : m_assigned) {
    out[tp] = a.position;
  }
  return out;
}

std::vector<TopicPartition> Consumer::assignment() const
{
  std::vector<TopicPartition> out;
  for (const auto& [tp, a] : m_assigned) {
    out.push_back(tp);
  }
  return out;
}

} // namespace merkql
