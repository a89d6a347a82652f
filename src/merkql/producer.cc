#include <merkql/broker.h>
#include <merkql/producer.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <system_error>

namespace merkql {

namespace {

// A record with its partition chosen.
struct Routed {
  Topic* topic;
  uint32_t partition;
  AppendInput input;
};

// status with "context: " before its message.
Status with_context(const Status& status, std::string_view context)
{
  std::string message = fmt::format("{}: {}", context, status.message());
  switch (status.code()) {
  case Status::Code::ok:
    return status;
  case Status::Code::not_found:
    return Status::not_found(std::move(message));
  case Status::Code::corruption:
    return Status::corruption(std::move(message));
  case Status::Code::io_error:
    return Status::io_error(std::move(message));
  case Status::Code::invalid_argument:
    return Status::invalid_argument(std::move(message));
  case Status::Code::busy:
    return Status::busy(std::move(message));
  case Status::Code::closed:
    return Status::closed(std::move(message));
  }
  return Status::io_error(std::move(message));
}

// The one way records are appended: grouped per (topic, partition), each
// group with one Partition::append, in order of topic name and partition;
// the metadata scattered back in input order. Keeps its buffers between
// calls, so a pipeline writing batch after batch allocates little.
class GroupAppender {
public:
  // On an append failure, *failed_at (when given) names the partition,
  // "topic/3"; the groups appended before it keep their records.
  Status append(std::span<const Routed> records, std::vector<RecordMetadata>& out,
                std::string* failed_at = nullptr);

private:
  struct Group {
    Topic* topic = nullptr;
    uint32_t partition = 0;
    Partition* target = nullptr;
    std::vector<AppendInput> inputs;
    std::vector<size_t> positions;
  };
  static constexpr size_t k_none = SIZE_MAX;

  size_t group_of(const Routed& record);

  std::vector<Group> m_groups; // the first m_used are this call's
  size_t m_used = 0;
  // Per topic: the group index of each partition, or k_none.
  std::vector<std::pair<Topic*, std::vector<size_t>>> m_index;
  std::vector<size_t> m_order;
};

size_t GroupAppender::group_of(const Routed& record)
{
  auto topic = std::find_if(m_index.begin(), m_index.end(),
                            [&](const auto& entry) { return entry.first == record.topic; });
  if (topic == m_index.end()) {
    m_index.emplace_back(record.topic, std::vector<size_t>());
    topic = std::prev(m_index.end());
  }
  std::vector<size_t>& slots = topic->second;
  if (record.partition >= slots.size()) {
    slots.resize(record.partition + 1, k_none);
  }
  size_t& slot = slots[record.partition];
  if (slot == k_none) {
    slot = m_used++;
    if (m_groups.size() < m_used) {
      m_groups.emplace_back();
    }
    Group& g = m_groups[slot];
    g.topic = record.topic;
    g.partition = record.partition;
    g.target = nullptr;
    g.inputs.clear();
    g.positions.clear();
  }
  return slot;
}

Status GroupAppender::append(std::span<const Routed> records, std::vector<RecordMetadata>& out,
                             std::string* failed_at)
{
  m_used = 0;
  m_index.clear();
  for (size_t i = 0; i < records.size(); ++i) {
    Group& g = m_groups[group_of(records[i])];
    g.inputs.push_back(records[i].input);
    g.positions.push_back(i);
  }
  // Every partition is opened (and so checked) before anything is written.
  m_order.clear();
  for (size_t k = 0; k < m_used; ++k) {
    Group& g = m_groups[k];
    MERKQL_ASSIGN_OR_RETURN(g.target, g.topic->partition(g.partition));
    m_order.push_back(k);
  }
  std::sort(m_order.begin(), m_order.end(), [&](size_t a, size_t b) {
    const Group& x = m_groups[a];
    const Group& y = m_groups[b];
    if (x.topic != y.topic) {
      return x.topic->name() < y.topic->name();
    }
    return x.partition < y.partition;
  });
  out.resize(records.size());
  for (size_t k : m_order) {
    const Group& g = m_groups[k];
    Result<std::vector<AppendedRecord>> appended = g.target->append(g.inputs);
    if (!appended.is_ok()) {
      if (failed_at) {
        *failed_at = fmt::format("{}/{}", g.topic->name(), g.partition);
      }
      return appended.status();
    }
    for (size_t j = 0; j < g.positions.size(); ++j) {
      const AppendedRecord& r = (*appended)[j];
      RecordMetadata& m = out[g.positions[j]];
      m.topic = g.topic->name();
      m.partition = g.partition;
      m.offset = r.offset;
      m.timestamp = r.timestamp;
      m.record_hash = r.record_hash;
    }
  }
  return Status::ok();
}

// Chooses the partition of record (Topic::route unless it names one) and
// appends it to out.
Status route(Topic& topic, const RecordView& record, std::vector<Routed>& out)
{
  uint32_t p = 0;
  if (!record.partition) {
    p = topic.route(record.key);
  } else if (*record.partition < topic.partition_count()) {
    p = *record.partition;
  } else {
    return topic.partition(*record.partition).status(); // not_found naming the count
  }
  out.push_back(Routed{
    &topic, p, AppendInput{record.key, record.value, record.timestamp, record.value_is_json}});
  return Status::ok();
}

// Routes records of any topics into out.
Status route_records(Broker& broker, std::span<const ProducerRecord> records,
                     std::vector<Routed>& out)
{
  out.clear();
  out.reserve(records.size());
  Topic* topic = nullptr;
  for (const ProducerRecord& r : records) {
    if (!topic || topic->name() != r.topic) {
      MERKQL_ASSIGN_OR_RETURN(topic, broker.topic_or_create(r.topic));
    }
    std::optional<std::string_view> key;
    if (r.key) {
      key = *r.key;
    }
    MERKQL_TRY(
      route(*topic, RecordView{key, r.value, r.partition, r.timestamp, r.value_is_json}, out));
  }
  return Status::ok();
}

Result<std::vector<RecordMetadata>> send_records(Broker& broker,
                                                 std::span<const ProducerRecord> records)
{
  std::vector<Routed> routed;
  MERKQL_TRY(route_records(broker, records, routed));
  GroupAppender appender;
  std::vector<RecordMetadata> out;
  MERKQL_TRY(appender.append(routed, out));
  return out;
}

// Routes the records of batch (its topic resolved through broker) into out.
Status route_batch(Broker& broker, const RecordBatch& batch, std::vector<Routed>& out)
{
  out.clear();
  MERKQL_ASSIGN_OR_RETURN(Topic * topic, broker.topic_or_create(batch.topic()));
  out.reserve(batch.size());
  for (const RecordView r : batch) {
    MERKQL_TRY(route(*topic, r, out));
  }
  return Status::ok();
}

// Routes batch and appends it; an append failure names its partition.
Status send_batch_into(Broker& broker, const RecordBatch& batch, std::vector<Routed>& routed,
                       GroupAppender& appender, std::vector<RecordMetadata>& out)
{
  MERKQL_TRY(route_batch(broker, batch, routed));
  std::string failed_at;
  Status status = appender.append(routed, out, &failed_at);
  if (!status.is_ok() && !failed_at.empty()) {
    return with_context(status, failed_at);
  }
  return status;
}

} // namespace

// ---------------------------------------------------------------------------

void RecordBatch::add(const RecordView& record)
{
  Entry e;
  e.key_pos = m_arena.size();
  if (record.key) {
    e.has_key = true;
    e.key_len = record.key->size();
    m_arena.append(*record.key);
  }
  e.value_len = record.value.size();
  m_arena.append(record.value);
  e.partition = record.partition;
  e.timestamp = record.timestamp;
  e.value_is_json = record.value_is_json;
  m_entries.push_back(e);
}

void RecordBatch::clear()
{
  m_arena.clear();
  m_entries.clear();
}

RecordView RecordBatch::operator[](size_t i) const
{
  const Entry& e = m_entries[i];
  const std::string_view arena(m_arena);
  RecordView r;
  if (e.has_key) {
    r.key = arena.substr(e.key_pos, e.key_len);
  }
  r.value = arena.substr(e.key_pos + e.key_len, e.value_len);
  r.partition = e.partition;
  r.timestamp = e.timestamp;
  r.value_is_json = e.value_is_json;
  return r;
}

// ---------------------------------------------------------------------------

Result<RecordMetadata> Producer::send(const ProducerRecord& record)
{
  MERKQL_ASSIGN_OR_RETURN(auto out, send_records(*m_broker, std::span(&record, 1)));
  return std::move(out.front());
}

Result<std::vector<RecordMetadata>> Producer::send_batch(const std::vector<ProducerRecord>& records)
{
  return send_records(*m_broker, records);
}

Result<std::vector<RecordMetadata>> Producer::send(const RecordBatch& batch)
{
  if (batch.empty()) {
    return std::vector<RecordMetadata>();
  }
  std::vector<Routed> routed;
  GroupAppender appender;
  std::vector<RecordMetadata> out;
  MERKQL_TRY(send_batch_into(*m_broker, batch, routed, appender, out));
  return out;
}

// ---------------------------------------------------------------------------

ProducerPipeline::ProducerPipeline(std::shared_ptr<Broker> broker, AckCallback on_ack)
  : m_broker(std::move(broker)), m_on_ack(std::move(on_ack))
{
  try {
    m_thread = std::thread([this] { loop(); });
  } catch (const std::system_error& e) {
    m_error = Status::io_error(fmt::format("cannot start the writer thread: {}", e.what()));
  }
}

ProducerPipeline::~ProducerPipeline()
{
  {
    std::lock_guard guard(m_mutex);
    m_stop = true;
  }
  m_changed.notify_all();
  if (m_thread.joinable()) {
    m_thread.join();
  }
}

Status ProducerPipeline::submit(RecordBatch& batch)
{
  if (batch.empty()) {
    return status();
  }
  std::unique_lock lock(m_mutex);
  m_changed.wait(lock, [this] { return !m_waiting || !m_error.is_ok(); });
  if (!m_error.is_ok()) {
    return m_error;
  }
  // The writer left m_next empty, with the memory of a batch it wrote.
  std::swap(m_next.m_arena, batch.m_arena);
  std::swap(m_next.m_entries, batch.m_entries);
  m_next.m_topic = batch.m_topic;
  batch.clear();
  m_waiting = true;
  lock.unlock();
  m_changed.notify_all();
  return Status::ok();
}

Status ProducerPipeline::status() const
{
  std::lock_guard guard(m_mutex);
  return m_error;
}

Status ProducerPipeline::finish()
{
  std::unique_lock lock(m_mutex);
  m_changed.wait(lock, [this] { return (!m_waiting && !m_busy) || !m_error.is_ok(); });
  return m_error;
}

void ProducerPipeline::loop()
{
  RecordBatch current;
  std::vector<Routed> routed;
  GroupAppender appender;
  std::vector<RecordMetadata> acks;
  for (;;) {
    {
      std::unique_lock lock(m_mutex);
      m_busy = false;
      m_changed.notify_all();
      m_changed.wait(lock, [this] { return m_waiting || m_stop; });
      if (!m_waiting) {
        return;
      }
      std::swap(current, m_next);
      m_waiting = false;
      m_busy = true;
    }
    m_changed.notify_all();
    Status status;
    try {
      status = send_batch_into(*m_broker, current, routed, appender, acks);
      if (status.is_ok() && m_on_ack) {
        status = m_on_ack(current, std::span<const RecordMetadata>(acks.data(), current.size()));
      }
    } catch (const std::exception& e) {
      // The caller's callback (or memory) failed: stop, do not terminate.
      status = Status::io_error(fmt::format("producer pipeline: {}", e.what()));
    }
    if (!status.is_ok()) {
      std::lock_guard guard(m_mutex);
      m_error = std::move(status);
      m_busy = false;
      m_changed.notify_all();
      return;
    }
    current.clear();
  }
}

} // namespace merkql
