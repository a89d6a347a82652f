// The broker: a data directory of topics, each a fixed set of partitions,
// plus consumer groups (docs/FORMAT.md §Directory layout). Opening is O(1):
// topics and partitions are opened on first use. A Broker is shared by the
// producers and consumers made from it and is thread-safe; several processes
// may open the same directory at once (they coordinate through file locks).
#pragma once

#include <merkql/env.h>
#include <merkql/options.h>
#include <merkql/partition.h>
#include <merkql/status.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace merkql {

class Topic {
public:
  const std::string& name() const { return m_name; }
  // The settings now (alter_topic may change retention and segment size).
  TopicConfig config();
  uint32_t partition_count() const { return m_partition_count; }
  // Opens the partition on first use.
  Result<Partition*> partition(uint32_t id);
  // Partition for a record: by key hash, else round-robin.
  uint32_t route(const std::optional<std::string_view>& key);

private:
  friend class Broker;
  Topic(Env* env, std::string dir, std::string name, TopicConfig config, Wait lock_wait,
        Repair repair, std::shared_ptr<FileCache> files);
  // New retention and segment size, for the partitions opened and to come.
  void reconfigure(const TopicConfig& config);

  Env* m_env;
  std::shared_ptr<FileCache> m_files;
  std::string m_dir;
  std::string m_name;
  const uint32_t m_partition_count;
  TopicConfig m_config; // under m_mutex
  Wait m_lock_wait;
  Repair m_repair;
  std::mutex m_mutex;
  std::vector<std::unique_ptr<Partition>> m_partitions;
  uint32_t m_round_robin = 0;
};

class Producer;
class Consumer;
struct ConsumerConfig;

class Broker : public std::enable_shared_from_this<Broker> {
public:
  static Result<std::shared_ptr<Broker>> open(BrokerConfig config);

  const BrokerConfig& config() const { return m_config; }
  const std::string& dir() const { return m_config.dir; }
  Env* env() const { return m_env; }

  // Creates a topic; invalid_argument if it exists with other settings
  // (the message names the first setting that differs and both values).
  Result<Topic*> create_topic(const std::string& name, uint32_t partitions);
  Result<Topic*> create_topic(const std::string& name, const TopicConfig& config);
  // An existing topic whatever its settings, else a new one with these;
  // safe against other processes creating it at the same moment.
  Result<Topic*> topic_or_create(const std::string& name, const TopicConfig& config);
  // An existing topic, or not_found.
  Result<Topic*> topic(const std::string& name);
  // Changes a topic's retention and segment size (TOPIC is replaced
  // atomically); invalid_argument naming partitions or compression when
  // config asks to change them. Each partition is first compacted under the
  // retention it had, so that HEAD records where its log starts.
  Result<Topic*> alter_topic(const std::string& name, const TopicConfig& config);
  // Deletes a topic and every group's committed offsets for it. Waits (as
  // lock_wait says) for a batch in flight on each partition, then renames
  // the topic to T~deleted (the topic is gone at once, atomically), removes
  // the group offsets and the files; a crash part way leaves T~deleted,
  // which the next delete or create of T finishes first. A process that
  // still has the topic open sees its appends fail (not_found) and must
  // open it anew once the topic is re-created.
  Status delete_topic(const std::string& name);
  // An existing topic, or a new one with the default settings when
  // auto_create_topics is on.
  Result<Topic*> topic_or_create(const std::string& name);
  Result<std::vector<std::string>> topic_names();
  Result<std::vector<std::string>> group_names();

  Producer producer();
  // Consumer::open(this broker, config).
  Result<std::unique_ptr<Consumer>> consumer(const ConsumerConfig& config);

private:
  enum class IfExists { same_settings, any_settings };
  explicit Broker(BrokerConfig config);
  Result<Topic*> load_topic(const std::string& name);
  Result<Topic*> create_topic(const std::string& name, const TopicConfig& config,
                              IfExists if_exists);
  // Whether a topic directory has partitions holding files.
  Result<bool> topic_dir_holds_data(const std::string& name);
  // Finishes a deletion a crash interrupted; under m_mutex and DIR/LOCK.
  Status finish_delete(const std::string& name);

  BrokerConfig m_config;
  Env* m_env;
  std::shared_ptr<FileCache> m_files; // open files of every partition
  std::mutex m_mutex;
  std::map<std::string, std::unique_ptr<Topic>> m_topics;
  // Deleted topics, kept so that pointers handed out stay valid.
  std::vector<std::unique_ptr<Topic>> m_deleted;
};

// invalid_argument unless name is a valid topic or group name (1-249
// characters of A-Z a-z 0-9 . _ -, not "." or ".."); `what` ("topic",
// "group") starts the message: "invalid topic name '...': use ...".
Status check_name(std::string_view name, std::string_view what);
// invalid_argument naming the first setting out of range; the one check of a
// TopicConfig (create_topic and decode_topic_config use it).
Status validate_topic_config(const TopicConfig& config);
// The first setting in which `want` differs from `have`, as
// "<setting> is <have>, not <want>" with the CLI's option names; none when
// they are equal.
std::optional<std::string> topic_config_difference(const TopicConfig& have,
                                                   const TopicConfig& want);
// "none" or the number, for messages and reports.
std::string limit_text(const std::optional<uint64_t>& limit);
// TOPIC's bytes: version 1 unless a byte or age retention needs version 2
// (docs/FORMAT.md §Topic); decoding reads both.
std::string encode_topic_config(const TopicConfig& config);
Result<TopicConfig> decode_topic_config(std::string_view bytes);

} // namespace merkql
