#include <merkql/consumer.h>
#include <merkql/forward.h>
#include <merkql/kafka_forwarder.h>
#include <merkql/record.h>
#include <merkql/sha256.h>

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <set>

namespace merkql {

namespace {

using Clock = std::chrono::steady_clock;

// A record's delivery opaque: its merkql partition and offset in one word
// (librdkafka hands it back with the acknowledgement, no allocation).
constexpr int k_offset_bits = 48;
constexpr uint64_t k_max_forward_offset = (uint64_t{1} << k_offset_bits) - 1;

void* delivery_tag(uint32_t partition, uint64_t offset)
{
  return reinterpret_cast<void*>(
    static_cast<uintptr_t>(uint64_t{partition} << k_offset_bits | offset));
}

std::pair<uint32_t, uint64_t> from_delivery_tag(void* tag)
{
  const auto word = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(tag));
  return {static_cast<uint32_t>(word >> k_offset_bits), word & k_max_forward_offset};
}

struct RdKafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
  void operator()(rd_kafka_topic_t* rkt) const { rd_kafka_topic_destroy(rkt); }
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
  void operator()(const rd_kafka_metadata_t* md) const { rd_kafka_metadata_destroy(md); }
};

// What the delivery and error callbacks report; librdkafka calls them from
// rd_kafka_poll/flush on the forwarding thread.
struct Deliveries {
  std::string topic;
  DeliveryTracker tracker;
  uint64_t acknowledged = 0;
  Status failure;          // the first record Kafka refused
  std::string unreachable; // the last connection error, while unreachable
  Clock::time_point unreachable_since{};
  const ForwardOptions* options = nullptr;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque)
{
  auto* d = static_cast<Deliveries*>(opaque);
  const auto [partition, offset] = from_delivery_tag(message->_private);
  if (message->err) {
    if (d->failure.is_ok()) {
      d->failure =
        Status::unavailable(fmt::format("Kafka did not take {}/{} offset {}: {}", d->topic,
                                        partition, offset, rd_kafka_err2str(message->err)));
    }
    return;
  }
  if (!d->tracker.delivered({d->topic, partition}, offset)) {
    return; // the partition went to another member since it was sent
  }
  d->unreachable.clear();
  ++d->acknowledged;
  if (d->options->on_step) {
    d->options->on_step(ForwardStep::delivered);
  }
}

void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque)
{
  auto* d = static_cast<Deliveries*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char text[512];
    const rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(rk, text, sizeof text);
    if (d->failure.is_ok()) {
      d->failure = Status::unavailable(
        fmt::format("Kafka producer failed: {}: {}", rd_kafka_err2name(fatal), text));
    }
    return;
  }
  if (d->unreachable.empty()) {
    d->unreachable_since = Clock::now();
  }
  d->unreachable = reason ? reason : rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(err));
}

// librdkafka logs to stderr by default; a connection refused is logged at
// every retry. The errors reach the user through on_error instead, once.
void drop_log(const rd_kafka_t*, int, const char*, const char*) {}

Result<std::unique_ptr<rd_kafka_t, RdKafkaDeleter>> make_producer(const ForwardOptions& o,
                                                                  Deliveries& d)
{
  std::unique_ptr<rd_kafka_conf_t, RdKafkaDeleter> conf(rd_kafka_conf_new());
  char err[512];
  bool debug = false;
  std::vector<std::pair<std::string, std::string>> properties = {
    {"bootstrap.servers", o.brokers},
    {"enable.idempotence", "true"},
    {"acks", "all"},
    // Without --follow, a record not acknowledged within the timeout fails;
    // with it, librdkafka retries for ever (0: no limit).
    {"message.timeout.ms", o.follow ? "0" : std::to_string(o.timeout.count())},
    // Back from an outage within a second, not librdkafka's ten.
    {"reconnect.backoff.max.ms", "1000"},
  };
  properties.insert(properties.end(), o.properties.begin(), o.properties.end());
  for (const auto& [name, value] : properties) {
    if (rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), err, sizeof err)
        != RD_KAFKA_CONF_OK) {
      return Status::invalid_argument(fmt::format("Kafka property {}={}: {}", name, value, err));
    }
    debug = debug || name == "debug";
  }
  rd_kafka_conf_set_opaque(conf.get(), &d);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), on_delivery);
  rd_kafka_conf_set_error_cb(conf.get(), on_error);
  if (!debug) {
    rd_kafka_conf_set_log_cb(conf.get(), drop_log);
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err);
  if (!rk) {
    return Status::invalid_argument(fmt::format("cannot make a Kafka producer: {}", err));
  }
  conf.release(); // rd_kafka_new took it
  return std::unique_ptr<rd_kafka_t, RdKafkaDeleter>(rk);
}

// The Kafka topic's partition count, waiting for the cluster as long as
// the options allow (for ever with follow, until stop).
Result<int> kafka_partitions(rd_kafka_t* rk, rd_kafka_topic_t* rkt, const ForwardOptions& o,
                             const std::string& name, Clock::time_point deadline)
{
  bool warned = false;
  for (;;) {
    const rd_kafka_metadata_t* raw = nullptr;
    const auto wait = std::chrono::milliseconds(1000);
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &raw, static_cast<int>(wait.count()));
    std::unique_ptr<const rd_kafka_metadata_t, RdKafkaDeleter> md(raw);
    if (!err && md && md->topic_cnt == 1) {
      err = md->topics[0].err;
      if (!err) {
        return md->topics[0].partition_cnt;
      }
      if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        return Status::not_found(fmt::format("Kafka has no topic {} (at {})", name, o.brokers));
      }
    }
    if (o.stop && o.stop->load()) {
      return Status::unavailable("stopped while waiting for Kafka");
    }
    if (!o.follow && Clock::now() >= deadline) {
      return Status::unavailable(fmt::format("Kafka at {} did not answer within {} s: {}",
                                             o.brokers, o.timeout.count() / 1000.0,
                                             rd_kafka_err2str(err)));
    }
    if (o.follow && !warned && o.warn) {
      o.warn(fmt::format("Kafka at {} does not answer ({}); retrying", o.brokers,
                         rd_kafka_err2str(err)));
      warned = true;
    }
  }
}

class Forwarder {
public:
  Forwarder(std::shared_ptr<Broker> broker, const ForwardOptions& o, rd_kafka_t* rk,
            rd_kafka_topic_t* rkt, Deliveries& d)
    : m_broker(std::move(broker)), m_o(o), m_rk(rk), m_rkt(rkt), m_d(d)
  {}

  Status run(ForwardResult& result);

private:
  Status forward_all();
  void warn_unreachable(bool& warned);
  Status forward(const PolledRecord& r);
  Status follow_assignment();
  void note_gap(const TopicPartition& tp, uint64_t from, uint64_t to);
  Status commit(bool force);
  bool stopping() const { return m_o.stop && m_o.stop->load(); }

  std::shared_ptr<Broker> m_broker;
  const ForwardOptions& m_o;
  rd_kafka_t* m_rk;
  rd_kafka_topic_t* m_rkt;
  Deliveries& m_d;
  std::unique_ptr<Consumer> m_consumer;
  Sha256 m_sha;
  std::vector<KafkaHeader> m_headers;             // the record being sent's, reused
  std::map<TopicPartition, uint64_t> m_expected;  // next offset to send, per owned partition
  std::map<TopicPartition, uint64_t> m_committed; // what this call committed last
  std::vector<ForwardGap> m_gaps;
  Clock::time_point m_last_commit{};
};

void Forwarder::note_gap(const TopicPartition& tp, uint64_t from, uint64_t to)
{
  m_gaps.push_back(ForwardGap{tp, from, to});
  m_d.tracker.skip_to(tp, to);
  if (m_o.warn) {
    m_o.warn(fmt::format("{}/{}: offsets {} to {} ({} records) were removed by retention before "
                         "they were forwarded",
                         tp.first, tp.second, from, to - 1, to - from));
  }
}

// Partitions come and go as members of the group join and leave. A new one
// starts where the group committed; one that left is forgotten, its records
// in flight acknowledged to nobody (the new owner sends them again).
Status Forwarder::follow_assignment()
{
  const auto assignment = m_consumer->assignment();
  std::set<uint32_t> now;
  bool added = false;
  for (const TopicPartition& tp : assignment) {
    now.insert(tp.second);
    added = added || !m_expected.count(tp);
  }
  for (auto it = m_expected.begin(); it != m_expected.end();) {
    if (!now.count(it->first.second)) {
      m_d.tracker.forget(it->first);
      m_committed.erase(it->first);
      it = m_expected.erase(it);
    } else {
      ++it;
    }
  }
  if (added) {
    GroupOffsets offsets(m_broker->env(), m_broker->dir(), m_o.group);
    MERKQL_ASSIGN_OR_RETURN(auto committed, offsets.load());
    for (const TopicPartition& tp : assignment) {
      if (!m_expected.count(tp)) {
        auto it = committed.find(tp);
        m_expected[tp] = it == committed.end() ? 0 : it->second;
        m_committed[tp] = m_expected[tp];
      }
    }
  }
  // A position past what was expected: retention removed records before
  // this member read them.
  for (const auto& [tp, position] : m_consumer->positions()) {
    uint64_t& expected = m_expected[tp];
    if (position > expected) {
      note_gap(tp, expected, position);
      expected = position;
    }
  }
  return Status::ok();
}

Status Forwarder::forward(const PolledRecord& r)
{
  const TopicPartition tp{std::string(r.topic), r.partition};
  uint64_t& expected = m_expected[tp];
  if (r.offset > expected) {
    note_gap(tp, expected, r.offset);
  }
  expected = r.offset + 1;
  if (r.offset > k_max_forward_offset) {
    return Status::invalid_argument(fmt::format(
      "{}/{} offset {} is beyond what merkql forward can track", r.topic, r.partition, r.offset));
  }
  const Hash hash = record_hash(StoredRecordView{r.key, r.value, r.timestamp, r.value_is_json},
                                r.topic, r.partition, r.offset, m_sha);
  forward_headers(r.topic, r.partition, r.offset, r.timestamp, hash, m_headers);
  const int32_t kafka_partition = m_o.partitioner == KafkaPartitioner::same
                                    ? static_cast<int32_t>(r.partition)
                                    : RD_KAFKA_PARTITION_UA;
  // (The macros below cast their arguments without parentheses.)
  const void* key = r.key ? r.key->data() : nullptr;
  const size_t key_size = r.key ? r.key->size() : 0;
  // An empty value is empty, not Kafka's null: librdkafka sends a null
  // pointer as null.
  static char empty[1] = {0};
  void* value = r.value.empty() ? empty : const_cast<char*>(r.value.data());
  const size_t value_size = r.value.size();
  const int64_t timestamp_ms = kafka_timestamp_ms(r.timestamp);
  void* tag = delivery_tag(r.partition, r.offset);
  for (;;) {
    rd_kafka_headers_t* hdrs = rd_kafka_headers_new(m_headers.size());
    for (const KafkaHeader& h : m_headers) {
      rd_kafka_header_add(hdrs, h.name.data(), static_cast<ssize_t>(h.name.size()), h.value.data(),
                          static_cast<ssize_t>(h.value.size()));
    }
    const rd_kafka_resp_err_t err =
      rd_kafka_producev(m_rk, RD_KAFKA_V_RKT(m_rkt), RD_KAFKA_V_PARTITION(kafka_partition),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, key_size),
                        RD_KAFKA_V_VALUE(value, value_size), RD_KAFKA_V_TIMESTAMP(timestamp_ms),
                        RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(tag), RD_KAFKA_V_END);
    if (!err) {
      break; // the message owns hdrs now
    }
    rd_kafka_headers_destroy(hdrs);
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      return Status::unavailable(fmt::format("Kafka refused {}/{} offset {}: {}", r.topic,
                                             r.partition, r.offset, rd_kafka_err2str(err)));
    }
    // librdkafka's queue is full: serve acknowledgements until it has room.
    rd_kafka_poll(m_rk, 100);
    if (!m_d.failure.is_ok()) {
      return m_d.failure;
    }
  }
  m_d.tracker.sent(tp, r.offset);
  if (m_o.commit_before_delivery) {
    m_d.tracker.delivered(tp, r.offset);
  }
  if (m_o.on_step) {
    m_o.on_step(ForwardStep::produced);
  }
  return Status::ok();
}

// Commits, per owned partition, up to the first record Kafka has not
// acknowledged; at most every 100 ms unless forced.
Status Forwarder::commit(bool force)
{
  const auto now = Clock::now();
  if (!force && now - m_last_commit < std::chrono::milliseconds(100)) {
    return Status::ok();
  }
  m_last_commit = now;
  std::map<TopicPartition, uint64_t> changed;
  for (const auto& [tp, offset] : m_d.tracker.committable()) {
    auto it = m_committed.find(tp);
    if (it != m_committed.end() && offset > it->second) {
      changed[tp] = offset;
    }
  }
  if (changed.empty()) {
    return Status::ok();
  }
  if (m_o.on_step) {
    m_o.on_step(ForwardStep::committing);
  }
  MERKQL_TRY(m_consumer->commit_sync(changed));
  for (const auto& [tp, offset] : changed) {
    m_committed[tp] = offset;
  }
  if (m_o.on_step) {
    m_o.on_step(ForwardStep::committed);
  }
  return Status::ok();
}

Status Forwarder::run(ForwardResult& result)
{
  ConsumerConfig config;
  config.group_id = m_o.group;
  config.auto_commit = false;
  config.offset_reset = OffsetReset::earliest;
  config.max_poll_records = 10000;
  config.coordination = Coordination::file_locks;
  // Only acknowledged records are committed, never a start position.
  config.commit_start_position = false;
  MERKQL_ASSIGN_OR_RETURN(m_consumer, m_broker->consumer(config));
  MERKQL_TRY(m_consumer->subscribe({m_o.topic}));
  Status status = forward_all();
  // Wait for the acknowledgements of what was sent, as long as the timeout
  // allows, and commit what they cover, whatever stopped the loop.
  const auto deadline = Clock::now() + m_o.timeout;
  while (m_d.tracker.in_flight() > 0 && m_d.failure.is_ok() && Clock::now() < deadline) {
    rd_kafka_poll(m_rk, 100);
    if (Status committed = commit(false); status.is_ok()) {
      status = committed;
    }
  }
  if (Status committed = commit(true); status.is_ok()) {
    status = committed;
  }
  result.records = m_d.acknowledged;
  result.gaps = m_gaps;
  result.committed = m_committed;
  MERKQL_TRY(status);
  MERKQL_TRY(m_d.failure);
  if (m_d.tracker.in_flight() > 0) {
    return Status::unavailable(
      fmt::format("Kafka at {} did not acknowledge {} record(s) within {} s{}", m_o.brokers,
                  m_d.tracker.in_flight(), m_o.timeout.count() / 1000.0,
                  m_d.unreachable.empty() ? "" : fmt::format(" ({})", m_d.unreachable)));
  }
  return m_consumer->close();
}

// Reads and sends until the end of the log (or for ever with follow), the
// record limit, a stop, or a failure.
Status Forwarder::forward_all()
{
  MERKQL_ASSIGN_OR_RETURN(Topic * topic, m_broker->topic(m_o.topic));
  const size_t total_partitions = topic->partition_count();
  MERKQL_TRY(follow_assignment());
  uint64_t remaining = m_o.max_records.value_or(UINT64_MAX);
  auto assignment = m_consumer->assignment();
  auto last_change = Clock::now();
  bool warned = false;
  while (remaining > 0 && !stopping()) {
    Status failed;
    auto polled = m_consumer->poll(
      [&](const PolledRecord& r) {
        if (failed.is_ok()) {
          failed = forward(r);
        }
      },
      std::chrono::milliseconds(m_o.follow ? 100 : 0),
      static_cast<size_t>(std::min<uint64_t>(remaining, 10000)));
    MERKQL_TRY(polled.status());
    MERKQL_TRY(failed);
    remaining -= *polled;
    rd_kafka_poll(m_rk, 0);
    MERKQL_TRY(m_d.failure);
    if (auto now = m_consumer->assignment(); now != assignment) {
      assignment = std::move(now);
      last_change = Clock::now();
    }
    MERKQL_TRY(follow_assignment());
    MERKQL_TRY(commit(false));
    warn_unreachable(warned);
    if (*polled == 0 && !m_o.follow) {
      // Done unless partitions may still come to this member: it owns fewer
      // than all of them and the group has not been settled for a while.
      if (assignment.size() >= total_partitions
          || Clock::now() - last_change > std::chrono::milliseconds(600)) {
        return Status::ok();
      }
      rd_kafka_poll(m_rk, 50);
    }
  }
  return Status::ok();
}

// Says once when Kafka has been unreachable for a second with records in
// flight, and once when it answers again.
void Forwarder::warn_unreachable(bool& warned)
{
  if (!m_o.warn) {
    return;
  }
  const bool down = !m_d.unreachable.empty() && m_d.tracker.in_flight() > 0
                    && Clock::now() - m_d.unreachable_since > std::chrono::seconds(1);
  if (down && !warned) {
    m_o.warn(
      fmt::format("Kafka at {} is unreachable ({}); {}", m_o.brokers, m_d.unreachable,
                  m_o.follow ? "retrying, committing nothing new meanwhile" : "waiting for it"));
    warned = true;
  } else if (warned && m_d.unreachable.empty()) {
    m_o.warn(fmt::format("Kafka at {} answers again", m_o.brokers));
    warned = false;
  }
}

} // namespace

Result<ForwardResult> forward_to_kafka(std::shared_ptr<Broker> broker,
                                       const ForwardOptions& options)
{
  const auto start = Clock::now();
  MERKQL_ASSIGN_OR_RETURN(Topic * topic, broker->topic(options.topic));
  const std::string kafka_topic = options.kafka_topic.empty() ? options.topic : options.kafka_topic;
  Deliveries d;
  d.topic = options.topic;
  d.options = &options;
  MERKQL_ASSIGN_OR_RETURN(auto rk, make_producer(options, d));
  std::unique_ptr<rd_kafka_topic_t, RdKafkaDeleter> rkt(
    rd_kafka_topic_new(rk.get(), kafka_topic.c_str(), nullptr));
  if (!rkt) {
    return Status::invalid_argument(
      fmt::format("Kafka topic {}: {}", kafka_topic, rd_kafka_err2str(rd_kafka_last_error())));
  }
  MERKQL_ASSIGN_OR_RETURN(int partitions, kafka_partitions(rk.get(), rkt.get(), options,
                                                           kafka_topic, start + options.timeout));
  if (options.partitioner == KafkaPartitioner::same
      && static_cast<uint32_t>(partitions) < topic->partition_count()) {
    return Status::not_found(fmt::format(
      "Kafka topic {} has {} partition(s), fewer than the {} of merkql topic {}: give it as many, "
      "or use --partitioner kafka",
      kafka_topic, partitions, topic->partition_count(), options.topic));
  }
  ForwardResult result;
  Forwarder forwarder(broker, options, rk.get(), rkt.get(), d);
  Status status = forwarder.run(result);
  if (!status.is_ok()) {
    // Give back what librdkafka still holds; nothing of it was committed.
    rd_kafka_purge(rk.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(rk.get(), 0);
    return status;
  }
  result.elapsed = Clock::now() - start;
  return result;
}

} // namespace merkql
