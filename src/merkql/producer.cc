#include <merkql/broker.h>
#include <merkql/partition.h>
#include <merkql/producer.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <system_error>
#include <thread>

namespace merkql {

namespace {

// The one way records are appended. add() routes each record (the
// partition it names, else Topic::route) and groups it with the others for
// its (topic, partition); append() writes the groups as one group commit
// (begin_append each, in order of topic name and partition, so that
// writers lock partitions in one order; then every segment synced at once;
// then each published) and scatters the metadata back in the order the
// records were added. Keeps its buffers between uses, so a pipeline writing
// batch after batch allocates little.
class GroupAppender {
public:
  // Forgets the records added so far.
  void clear();
  // Routes record (its key and value must outlive append()) and groups it.
  Status add(Topic& topic, const RecordView& record);
  // Opens every partition, then appends. On an append failure, *failed_at
  // (when given) names the partition, "topic/3" (the first in order when
  // several failed). A failure before anything is synced (a lock, a write)
  // takes every group's bytes back; a failed sync or publish loses only that
  // group: the groups that synced keep their records. out (when given)
  // gets one entry per record.
  Status append(std::vector<RecordMetadata>* out, std::string* failed_at = nullptr);

private:
  struct Group {
    Topic* topic = nullptr;
    uint32_t partition = 0;
    Partition* target = nullptr;
    std::vector<AppendInput> inputs;
    std::vector<size_t> positions;
  };
  static constexpr size_t k_none = SIZE_MAX;

  Group& group_of(Topic& topic, uint32_t partition);
  // Syncs the begun batches at once, hashing them meanwhile.
  void sync_all(size_t count);

  size_t m_records = 0;
  std::vector<Group> m_groups; // the first m_used are in use
  size_t m_used = 0;
  // Per topic: the group index of each partition, or k_none.
  std::vector<std::pair<Topic*, std::vector<size_t>>> m_index;
  std::vector<size_t> m_order;
  std::vector<PendingAppend> m_pending; // per group, in m_order
  std::vector<Status> m_synced;
};

// A batch this large (or batches of several partitions) is synced on a
// thread of its own while this one hashes the records: the fdatasync and
// the SHA-256 work overlap. Smaller ones are synced in place, cheaper than
// starting a thread.
constexpr size_t k_sync_thread_records = 64;

void GroupAppender::clear()
{
  // The index stays (topics live as long as their broker); only its used
  // slots are reset, so a topic of many partitions costs nothing per batch.
  for (size_t k = 0; k < m_used; ++k) {
    for (auto& [topic, slots] : m_index) {
      if (topic == m_groups[k].topic) {
        slots[m_groups[k].partition] = k_none;
      }
    }
  }
  m_records = 0;
  m_used = 0;
}

GroupAppender::Group& GroupAppender::group_of(Topic& topic, uint32_t partition)
{
  auto entry =
    std::find_if(m_index.begin(), m_index.end(), [&](const auto& e) { return e.first == &topic; });
  if (entry == m_index.end()) {
    m_index.emplace_back(&topic, std::vector<size_t>(topic.partition_count(), k_none));
    entry = std::prev(m_index.end());
  }
  size_t& slot = entry->second[partition];
  if (slot == k_none) {
    slot = m_used++;
    if (m_groups.size() < m_used) {
      m_groups.emplace_back();
    }
    Group& g = m_groups[slot];
    g.topic = &topic;
    g.partition = partition;
    g.target = nullptr;
    g.inputs.clear();
    g.positions.clear();
  }
  return m_groups[slot];
}

Status GroupAppender::add(Topic& topic, const RecordView& record)
{
  uint32_t p = 0;
  if (!record.partition) {
    p = topic.route(record.key);
  } else if (*record.partition < topic.partition_count()) {
    p = *record.partition;
  } else {
    return topic.partition(*record.partition).status(); // not_found naming the count
  }
  Group& g = group_of(topic, p);
  g.inputs.push_back(AppendInput{record.key, record.value, record.timestamp, record.value_is_json});
  g.positions.push_back(m_records++);
  return Status::ok();
}

Status GroupAppender::append(std::vector<RecordMetadata>* out, std::string* failed_at)
{
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
  if (out) {
    out->resize(m_records);
  }
  m_pending.resize(std::max(m_pending.size(), m_order.size()));
  m_synced.assign(m_order.size(), Status::ok());
  auto name = [&](size_t i) {
    if (failed_at) {
      const Group& g = m_groups[m_order[i]];
      *failed_at = fmt::format("{}/{}", g.topic->name(), g.partition);
    }
  };
  for (size_t i = 0; i < m_order.size(); ++i) {
    const Group& g = m_groups[m_order[i]];
    Status begun = g.target->begin_append(g.inputs, m_pending[i]);
    if (!begun.is_ok()) {
      // Nothing is durable yet: every batch written goes back.
      for (size_t j = 0; j < i; ++j) {
        (void)m_groups[m_order[j]].target->finish_append(m_pending[j], begun);
      }
      name(i);
      return begun;
    }
  }
  sync_all(m_order.size());
  Status first_error;
  for (size_t i = 0; i < m_order.size(); ++i) {
    const Group& g = m_groups[m_order[i]];
    Result<std::vector<AppendedRecord>> appended =
      g.target->finish_append(m_pending[i], std::move(m_synced[i]));
    if (!appended.is_ok()) {
      if (first_error.is_ok()) {
        first_error = appended.status();
        name(i);
      }
      continue;
    }
    if (!out) {
      continue;
    }
    for (size_t j = 0; j < g.positions.size(); ++j) {
      const AppendedRecord& r = (*appended)[j];
      RecordMetadata& m = (*out)[g.positions[j]];
      m.topic = g.topic->name();
      m.partition = g.partition;
      m.offset = r.offset;
      m.timestamp = r.timestamp;
      m.record_hash = r.record_hash;
    }
  }
  return first_error;
}

void GroupAppender::sync_all(size_t count)
{
  std::vector<std::thread> threads; // threads[i] syncs m_pending[i]
  if (count > 1 || m_records >= k_sync_thread_records) {
    threads.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      try {
        threads.emplace_back([this, i] { m_synced[i] = m_pending[i].sync(); });
      } catch (const std::system_error&) {
        break; // no thread: the rest sync here
      }
    }
  }
  for (size_t i = 0; i < count; ++i) {
    m_groups[m_order[i]].target->hash_append(m_pending[i]);
  }
  for (size_t i = threads.size(); i < count; ++i) {
    m_synced[i] = m_pending[i].sync();
  }
  for (std::thread& t : threads) {
    t.join();
  }
}

// Sends records of any topics.
Result<std::vector<RecordMetadata>> send_records(Broker& broker,
                                                 std::span<const ProducerRecord> records)
{
  GroupAppender appender;
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
      appender.add(*topic, RecordView{key, r.value, r.partition, r.timestamp, r.value_is_json}));
  }
  std::vector<RecordMetadata> out;
  MERKQL_TRY(appender.append(&out));
  return out;
}

// Sends the records of batch (its topic resolved through broker); an append
// failure names its partition. out may be null when nobody reads it.
Status send_batch_into(Broker& broker, const RecordBatch& batch, GroupAppender& appender,
                       std::vector<RecordMetadata>* out)
{
  appender.clear();
  MERKQL_ASSIGN_OR_RETURN(Topic * topic, broker.topic_or_create(batch.topic()));
  for (const RecordView r : batch) {
    MERKQL_TRY(appender.add(*topic, r));
  }
  std::string failed_at;
  Status status = appender.append(out, &failed_at);
  if (!status.is_ok() && !failed_at.empty()) {
    return status.with_context(failed_at);
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
  GroupAppender appender;
  std::vector<RecordMetadata> out;
  MERKQL_TRY(send_batch_into(*m_broker, batch, appender, &out));
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
      status = send_batch_into(*m_broker, current, appender, m_on_ack ? &acks : nullptr);
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
