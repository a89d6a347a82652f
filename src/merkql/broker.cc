#include <merkql/atomic_file.h>
#include <merkql/broker.h>
#include <merkql/coding.h>
#include <merkql/consumer.h>
#include <merkql/file_cache.h>
#include <merkql/filename.h>
#include <merkql/format.h>
#include <merkql/group.h>
#include <merkql/producer.h>

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

namespace merkql {

using namespace format;

namespace {

constexpr std::string_view k_marker_content = "merkql data directory\nformat 1\n";
// TOPIC flags (byte 13): which retention limits are set.
constexpr uint8_t k_topic_max_records = 0x01;
constexpr uint8_t k_topic_max_bytes = 0x02;
constexpr uint8_t k_topic_max_age = 0x04;

std::string parent_of(const std::string& path)
{
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
}

} // namespace

std::string encode_topic_config(const TopicConfig& config)
{
  const RetentionConfig& r = config.retention;
  const bool v2 = r.max_bytes || r.max_age_ms;
  std::string out;
  put_u32(out, k_topic_magic);
  put_u32(out, v2 ? k_topic_version_bytes_age : k_format_version);
  put_u32(out, config.partitions);
  out.push_back(static_cast<char>(config.compression));
  out.push_back(static_cast<char>((r.max_records ? k_topic_max_records : 0)
                                  | (r.max_bytes ? k_topic_max_bytes : 0)
                                  | (r.max_age_ms ? k_topic_max_age : 0)));
  out.push_back(0);
  out.push_back(0);
  put_u64(out, r.max_records.value_or(0));
  put_u64(out, config.segment_bytes);
  if (v2) {
    put_u64(out, r.max_bytes.value_or(0));
    put_u64(out, r.max_age_ms.value_or(0));
  }
  put_u32(out, crc32c(out));
  return out;
}

Result<TopicConfig> decode_topic_config(std::string_view bytes)
{
  if ((bytes.size() != k_topic_file_size_v1 && bytes.size() != k_topic_file_size_v2)
      || get_u32(bytes.data()) != k_topic_magic) {
    return Status::corruption("not a topic settings file");
  }
  const size_t body = bytes.size() - 4;
  if (get_u32(bytes.data() + body) != crc32c(bytes.data(), body)) {
    return Status::corruption("topic settings fail their checksum");
  }
  const uint32_t version = get_u32(bytes.data() + 4);
  const bool v2 = bytes.size() == k_topic_file_size_v2;
  if (version != (v2 ? k_topic_version_bytes_age : k_format_version)) {
    return Status::corruption(fmt::format("unsupported topic format version {}", version));
  }
  TopicConfig config;
  config.partitions = get_u32(bytes.data() + 8);
  const uint8_t compression = static_cast<uint8_t>(bytes[12]);
  const uint8_t flags = static_cast<uint8_t>(bytes[13]);
  if (compression > 1 || config.partitions == 0
      || (v2 && (flags & ~(k_topic_max_records | k_topic_max_bytes | k_topic_max_age)) != 0)) {
    return Status::corruption("topic settings hold impossible values");
  }
  config.compression = static_cast<Compression>(compression);
  // Version 1 wrote 1 here for a record limit; any non-zero byte meant one.
  if (v2 ? (flags & k_topic_max_records) != 0 : flags != 0) {
    config.retention.max_records = get_u64(bytes.data() + 16);
  }
  config.segment_bytes = get_u64(bytes.data() + 24);
  if (v2 && (flags & k_topic_max_bytes)) {
    config.retention.max_bytes = get_u64(bytes.data() + 32);
  }
  if (v2 && (flags & k_topic_max_age)) {
    config.retention.max_age_ms = get_u64(bytes.data() + 40);
  }
  if (Status valid = validate_topic_config(config); !valid.is_ok()) {
    return Status::corruption(fmt::format("impossible settings: {}", valid.message()));
  }
  return config;
}

Status check_name(std::string_view name, std::string_view what)
{
  if (is_valid_name(name)) {
    return Status::ok();
  }
  return Status::invalid_argument(fmt::format(
    "invalid {} name '{}': use 1-249 characters of A-Z a-z 0-9 . _ - (not . or ..)", what, name));
}

Status validate_topic_config(const TopicConfig& config)
{
  if (config.partitions == 0 || config.partitions > k_max_partitions) {
    return Status::invalid_argument(
      fmt::format("a topic needs 1 to {} partitions, not {}", k_max_partitions, config.partitions));
  }
  PartitionOptions partition;
  partition.segment_bytes = config.segment_bytes;
  partition.retention = config.retention;
  return partition.validate();
}

std::string limit_text(const std::optional<uint64_t>& limit)
{
  return limit ? std::to_string(*limit) : std::string("none");
}

std::optional<std::string> topic_config_difference(const TopicConfig& have, const TopicConfig& want)
{
  auto differs = [](std::string_view setting, const std::string& a,
                    const std::string& b) -> std::optional<std::string> {
    if (a == b) {
      return std::nullopt;
    }
    return fmt::format("{} is {}, not {}", setting, a, b);
  };
  const RetentionConfig& h = have.retention;
  const RetentionConfig& w = want.retention;
  for (auto diff :
       {differs("partitions", std::to_string(have.partitions), std::to_string(want.partitions)),
        differs("compression", compression_name(have.compression),
                compression_name(want.compression)),
        differs("retention-records", limit_text(h.max_records), limit_text(w.max_records)),
        differs("retention-bytes", limit_text(h.max_bytes), limit_text(w.max_bytes)),
        differs("retention-ms", limit_text(h.max_age_ms), limit_text(w.max_age_ms)),
        differs("segment-bytes", std::to_string(have.segment_bytes),
                std::to_string(want.segment_bytes))}) {
    if (diff) {
      return diff;
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------

Topic::Topic(Env* env, std::string dir, std::string name, TopicConfig config, Wait lock_wait,
             Repair repair, std::shared_ptr<FileCache> files)
  : m_env(env), m_files(std::move(files)), m_dir(std::move(dir)), m_name(std::move(name)),
    m_partition_count(config.partitions), m_config(config), m_lock_wait(lock_wait),
    m_repair(repair), m_partitions(config.partitions)
{}

TopicConfig Topic::config()
{
  std::lock_guard guard(m_mutex);
  return m_config;
}

void Topic::reconfigure(const TopicConfig& config)
{
  std::lock_guard guard(m_mutex);
  m_config.retention = config.retention;
  m_config.segment_bytes = config.segment_bytes;
  for (auto& partition : m_partitions) {
    if (partition) {
      partition->set_retention(config.retention, config.segment_bytes);
    }
  }
}

Result<Partition*> Topic::partition(uint32_t id)
{
  if (id >= m_partition_count) {
    return Status::not_found(fmt::format("topic {} has {} partition{}, there is no partition {}",
                                         m_name, m_partition_count,
                                         m_partition_count == 1 ? "" : "s", id));
  }
  std::lock_guard guard(m_mutex);
  if (!m_partitions[id]) {
    PartitionOptions options;
    options.compression = m_config.compression;
    options.retention = m_config.retention;
    options.segment_bytes = m_config.segment_bytes;
    options.lock_wait = m_lock_wait;
    options.repair = m_repair;
    options.file_cache = m_files;
    MERKQL_ASSIGN_OR_RETURN(
      m_partitions[id],
      Partition::open(m_env, partition_dir(m_dir, m_name, id), m_name, id, options));
  }
  return m_partitions[id].get();
}

uint32_t Topic::route(const std::optional<std::string_view>& key)
{
  if (key) {
    return route_key(*key, m_partition_count);
  }
  std::lock_guard guard(m_mutex);
  return m_round_robin++ % m_partition_count;
}

// ---------------------------------------------------------------------------

Broker::Broker(BrokerConfig config)
  : m_config(std::move(config)), m_env(m_config.env ? m_config.env : Env::posix()),
    m_files(std::make_shared<FileCache>(m_env))
{}

Result<std::shared_ptr<Broker>> Broker::open(BrokerConfig config)
{
  if (config.dir.empty()) {
    return Status::invalid_argument("no data directory given");
  }
  while (config.dir.size() > 1 && config.dir.back() == '/') {
    config.dir.pop_back();
  }
  if (config.default_partitions == 0) {
    return Status::invalid_argument("default_partitions must be at least 1");
  }
  // The directory the user named may be reached through symbolic links (its
  // own path is theirs to choose); it is resolved once, here, and every path
  // inside it is then opened following no link at all (env.h).
  Env* env = config.env ? config.env : Env::posix();
  const std::string given = config.dir;
  MERKQL_ASSIGN_OR_RETURN(config.dir, env->canonical_path(config.dir));
  std::shared_ptr<Broker> broker(new Broker(std::move(config)));
  const std::string& dir = broker->m_config.dir;
  auto found = env->stat(dir);
  if (!found.is_ok() && !found.status().is_not_found()) {
    return found.status();
  }
  if (!found.is_ok()) {
    if (broker->m_config.create == Create::no) {
      return Status::not_found(fmt::format("no merkql data directory at {}", given));
    }
    // Several processes may create it at once: create_dirs takes a
    // directory made by another one in the meantime as success.
    MERKQL_TRY(create_dirs(env, dir));
    MERKQL_TRY(env->sync_dir(parent_of(dir)));
  } else if (found->type != FileStat::Type::directory) {
    return Status::io_error(fmt::format("{}: not a directory", given));
  }
  auto has_foreign_files = [&]() -> Result<bool> {
    MERKQL_ASSIGN_OR_RETURN(auto names, env->list_dir(dir));
    return std::any_of(names.begin(), names.end(), [](const std::string& n) {
      return n != "topics" && n != "groups" && n != "LOCK" && n != "MERKQL"
             && !is_temp_file_name(n);
    });
  };
  if (!env->exists(marker_file(dir))) {
    MERKQL_ASSIGN_OR_RETURN(bool foreign, has_foreign_files());
    if (foreign) {
      return Status::invalid_argument(
        fmt::format("{} is not a merkql data directory (it has other files and no MERKQL)", dir));
    }
    if (broker->m_config.create == Create::no) {
      return Status::not_found(fmt::format("no merkql data directory at {}", dir));
    }
    // Several processes may create the same directory at once: one writes
    // the marker, under the directory lock; the others then find it.
    MERKQL_ASSIGN_OR_RETURN(auto lock,
                            env->lock_file(broker_lock_file(dir), LockMode::exclusive, Wait::yes));
    if (!env->exists(marker_file(dir))) {
      MERKQL_TRY(env->create_dir(topics_dir(dir)));
      MERKQL_TRY(env->create_dir(groups_dir(dir)));
      MERKQL_TRY(write_file_atomically(env, marker_file(dir), k_marker_content));
    }
  }
  MERKQL_ASSIGN_OR_RETURN(std::string marker,
                          read_file(env, marker_file(dir), k_marker_content.size()));
  if (marker != k_marker_content) {
    return Status::corruption(
      fmt::format("{}: unknown format (this merkql reads format 1)", marker_file(dir)));
  }
  return broker;
}

Result<Topic*> Broker::load_topic(const std::string& name)
{
  auto it = m_topics.find(name);
  if (it != m_topics.end()) {
    return it->second.get();
  }
  const std::string path = topic_config_file(m_config.dir, name);
  auto bytes = read_file(m_env, path, k_topic_file_size_v2);
  if (!bytes.is_ok() && bytes.status().is_not_found()) {
    MERKQL_ASSIGN_OR_RETURN(bool holds_data, topic_dir_holds_data(name));
    if (!holds_data) {
      return Status::not_found(fmt::format("no topic named {}", name));
    }
    // Creation writes TOPIC before any partition file, so partitions with
    // files and no TOPIC are damage, not an unfinished creation -- unless
    // another process created the topic, and a writer filled a partition,
    // between the read above and the look: then TOPIC is there now.
    bytes = read_file(m_env, path, k_topic_file_size_v2);
    if (!bytes.is_ok() && bytes.status().is_not_found()) {
      return Status::corruption(fmt::format(
        "{} is missing, but the topic's partitions hold files; nothing was changed", path));
    }
  }
  if (!bytes.is_ok()) {
    return bytes.status();
  }
  auto config = decode_topic_config(*bytes);
  if (!config.is_ok()) {
    return Status::corruption(fmt::format("{}: {}", path, config.status().message()));
  }
  auto topic = std::unique_ptr<Topic>(
    new Topic(m_env, m_config.dir, name, *config, m_config.lock_wait, m_config.repair, m_files));
  Topic* raw = topic.get();
  m_topics.emplace(name, std::move(topic));
  return raw;
}

Result<Topic*> Broker::create_topic(const std::string& name, uint32_t partitions)
{
  TopicConfig config = m_config.default_topic();
  config.partitions = partitions;
  return create_topic(name, config);
}

Result<Topic*> Broker::create_topic(const std::string& name, const TopicConfig& config)
{
  return create_topic(name, config, IfExists::same_settings);
}

Result<Topic*> Broker::topic_or_create(const std::string& name, const TopicConfig& config)
{
  auto existing = topic(name);
  if (existing.is_ok() || !existing.status().is_not_found()) {
    return existing;
  }
  // Another process may create it first; under the lock we see which.
  return create_topic(name, config, IfExists::any_settings);
}

Result<Topic*> Broker::create_topic(const std::string& name, const TopicConfig& config,
                                    IfExists if_exists)
{
  MERKQL_TRY(check_name(name, "topic"));
  MERKQL_TRY(validate_topic_config(config));
  std::lock_guard guard(m_mutex);
  MERKQL_ASSIGN_OR_RETURN(auto lock, m_env->lock_file(broker_lock_file(m_config.dir),
                                                      LockMode::exclusive, m_config.lock_wait));
  auto existing = load_topic(name);
  if (existing.is_ok() && if_exists == IfExists::any_settings) {
    return existing;
  }
  if (existing.is_ok()) {
    if (auto diff = topic_config_difference((*existing)->config(), config)) {
      return Status::invalid_argument(
        fmt::format("topic {} already exists with other settings: {}", name, *diff));
    }
    return *existing;
  }
  if (!existing.status().is_not_found()) {
    return existing.status();
  }
  MERKQL_TRY(finish_delete(name));
  const std::string tdir = topic_dir(m_config.dir, name);
  MERKQL_TRY(m_env->create_dir(tdir));
  for (uint32_t p = 0; p < config.partitions; ++p) {
    MERKQL_TRY(m_env->create_dir(partition_dir(m_config.dir, name, p)));
  }
  MERKQL_TRY(m_env->sync_dir(tdir));
  MERKQL_TRY(m_env->sync_dir(topics_dir(m_config.dir)));
  // The settings file is written last: its presence means the topic exists.
  MERKQL_TRY(write_file_atomically(m_env, topic_config_file(m_config.dir, name),
                                   encode_topic_config(config)));
  return load_topic(name);
}

Result<Topic*> Broker::topic(const std::string& name)
{
  MERKQL_TRY(check_name(name, "topic"));
  std::lock_guard guard(m_mutex);
  return load_topic(name);
}

Result<Topic*> Broker::topic_or_create(const std::string& name)
{
  auto existing = topic(name);
  if (existing.is_ok() || !existing.status().is_not_found() || !m_config.auto_create_topics) {
    return existing;
  }
  return topic_or_create(name, m_config.default_topic());
}

Result<Topic*> Broker::alter_topic(const std::string& name, const TopicConfig& config)
{
  MERKQL_TRY(check_name(name, "topic"));
  MERKQL_TRY(validate_topic_config(config));
  std::lock_guard guard(m_mutex);
  MERKQL_ASSIGN_OR_RETURN(auto lock, m_env->lock_file(broker_lock_file(m_config.dir),
                                                      LockMode::exclusive, m_config.lock_wait));
  MERKQL_ASSIGN_OR_RETURN(Topic * topic, load_topic(name));
  const TopicConfig have = topic->config();
  for (const auto& [fixed, a, b] :
       {std::tuple{"partitions", std::to_string(have.partitions),
                   std::to_string(config.partitions)},
        std::tuple{"compression", std::string(compression_name(have.compression)),
                   std::string(compression_name(config.compression))}}) {
    if (a != b) {
      return Status::invalid_argument(
        fmt::format("the {} of topic {} cannot change ({} now, {} asked); create a new topic",
                    fixed, name, a, b));
    }
  }
  if (have == config) {
    return topic;
  }
  if (m_config.repair == Repair::never) {
    return Status::invalid_argument("the data directory is open read-only");
  }
  // Record each partition's log start under the retention that removed
  // segments so far, so the new retention does not have to explain them.
  // Nothing is removed here: loosening retention must not cost a segment
  // the old limits would have taken at the next roll, and tightened limits
  // act at the next roll or compact, as they do on any topic.
  for (uint32_t p = 0; p < topic->partition_count(); ++p) {
    MERKQL_ASSIGN_OR_RETURN(Partition * partition, topic->partition(p));
    MERKQL_TRY(partition->record_log_start());
  }
  MERKQL_TRY(write_file_atomically(m_env, topic_config_file(m_config.dir, name),
                                   encode_topic_config(config)));
  topic->reconfigure(config);
  return topic;
}

namespace {

// Removes a directory and everything in it (no link is followed: the Env
// neither opens nor lists through one).
Status remove_tree(Env* env, const std::string& path)
{
  MERKQL_ASSIGN_OR_RETURN(auto names, env->list_dir(path));
  for (const std::string& name : names) {
    const std::string child = path + "/" + name;
    if (env->is_dir(child)) {
      MERKQL_TRY(remove_tree(env, child));
    } else {
      MERKQL_TRY(env->remove(child));
    }
  }
  return env->remove_dir(path);
}

} // namespace

Status Broker::finish_delete(const std::string& name)
{
  const std::string trash = deleted_topic_dir(m_config.dir, name);
  if (!m_env->exists(trash)) {
    return Status::ok();
  }
  // Offsets first: while the trash is there, the deletion is unfinished.
  MERKQL_ASSIGN_OR_RETURN(auto groups, group_names());
  for (const std::string& group : groups) {
    MERKQL_TRY(GroupOffsets(m_env, m_config.dir, group, m_config.lock_wait).forget_topic(name));
  }
  MERKQL_TRY(remove_tree(m_env, trash));
  return m_env->sync_dir(topics_dir(m_config.dir));
}

Status Broker::delete_topic(const std::string& name)
{
  MERKQL_TRY(check_name(name, "topic"));
  if (m_config.repair == Repair::never) {
    return Status::invalid_argument("the data directory is open read-only");
  }
  std::lock_guard guard(m_mutex);
  MERKQL_ASSIGN_OR_RETURN(auto lock, m_env->lock_file(broker_lock_file(m_config.dir),
                                                      LockMode::exclusive, m_config.lock_wait));
  MERKQL_TRY(finish_delete(name));
  MERKQL_ASSIGN_OR_RETURN(Topic * topic, load_topic(name));
  // No batch may be in flight: hold every partition's lock over the rename.
  std::vector<std::unique_ptr<FileLock>> held;
  for (uint32_t p = 0; p < topic->partition_count(); ++p) {
    const std::string pdir = partition_dir(m_config.dir, name, p);
    if (!m_env->is_dir(pdir)) {
      continue;
    }
    MERKQL_ASSIGN_OR_RETURN(auto plock, m_env->lock_file(partition_lock_file(pdir),
                                                         LockMode::exclusive, m_config.lock_wait));
    held.push_back(std::move(plock));
    MERKQL_ASSIGN_OR_RETURN(auto files, m_env->list_dir(pdir));
    for (const std::string& file : files) {
      m_files->forget(pdir + "/" + file);
    }
  }
  MERKQL_TRY(m_env->rename(topic_dir(m_config.dir, name), deleted_topic_dir(m_config.dir, name)));
  MERKQL_TRY(m_env->sync_dir(topics_dir(m_config.dir)));
  held.clear();
  auto it = m_topics.find(name);
  if (it != m_topics.end()) {
    m_deleted.push_back(std::move(it->second));
    m_topics.erase(it);
  }
  return finish_delete(name);
}

Result<bool> Broker::topic_dir_holds_data(const std::string& name)
{
  const std::string tdir = topic_dir(m_config.dir, name);
  if (!m_env->is_dir(tdir)) {
    return false;
  }
  MERKQL_ASSIGN_OR_RETURN(auto entries, m_env->list_dir(tdir));
  for (const std::string& entry : entries) {
    const std::string pdir = tdir + "/" + entry;
    if (!m_env->is_dir(pdir)) {
      continue;
    }
    MERKQL_ASSIGN_OR_RETURN(auto files, m_env->list_dir(pdir));
    if (!files.empty()) {
      return true;
    }
  }
  return false;
}

Result<std::vector<std::string>> Broker::topic_names()
{
  MERKQL_ASSIGN_OR_RETURN(auto names, m_env->list_dir(topics_dir(m_config.dir)));
  std::vector<std::string> topics;
  for (auto& n : names) {
    if (!is_valid_name(n)) {
      continue;
    }
    // A topic that lost its TOPIC file is listed, so that opening it
    // reports the damage.
    if (m_env->exists(topic_config_file(m_config.dir, n))) {
      topics.push_back(n);
    } else {
      MERKQL_ASSIGN_OR_RETURN(bool damaged, topic_dir_holds_data(n));
      if (damaged) {
        topics.push_back(n);
      }
    }
  }
  std::sort(topics.begin(), topics.end());
  return topics;
}

Result<std::vector<std::string>> Broker::group_names()
{
  MERKQL_ASSIGN_OR_RETURN(auto names, m_env->list_dir(groups_dir(m_config.dir)));
  std::vector<std::string> groups;
  for (auto& n : names) {
    if (is_valid_name(n) && m_env->is_dir(group_dir(m_config.dir, n))) {
      groups.push_back(n);
    }
  }
  std::sort(groups.begin(), groups.end());
  return groups;
}

Producer Broker::producer()
{
  return Producer(shared_from_this());
}

Result<std::unique_ptr<Consumer>> Broker::consumer(const ConsumerConfig& config)
{
  return Consumer::open(shared_from_this(), config);
}

} // namespace merkql
