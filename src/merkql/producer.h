// Producer, RecordBatch and ProducerPipeline: appending records to topics.
// A record goes to the partition the caller names, else to one chosen by its
// key (SHA-256) or round-robin (Topic::route). Every way in shares one
// routine: route each record, group the records per partition, append the
// groups as one group commit (each group written to its partition, then
// all of them fdatasynced at once, then each published), and hand back
// RecordMetadata in input order. A record is acknowledged only once its
// partition's segment is synced; if one partition fails, the others whose
// batches were synced keep their records (the failure names the partition). Producer calls are
// synchronous and thread-safe (a Producer only holds a Broker); ProducerPipeline overlaps the
// caller's work with a writer thread of its own (the merkql produce command is built on it).
// Nothing here is stored as such: the records' format is docs/FORMAT.md
// §Segment.
#pragma once

#include <merkql/record.h>
#include <merkql/status.h>

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace merkql {

class Broker;

// One record to send: ProducerRecord("readings", "sensor-1", R"({"t":21.5})")
// as the seed's ProducerRecord::new(topic, key, value), with std::nullopt
// for no key; partition, timestamp and value_is_json may follow, or be set
// afterwards.
struct ProducerRecord {
  ProducerRecord() = default;
  ProducerRecord(std::string topic, std::optional<std::string> key, std::string value,
                 std::optional<uint32_t> partition = std::nullopt,
                 std::optional<TimestampNs> timestamp = std::nullopt, bool value_is_json = false)
    : topic(std::move(topic)), key(std::move(key)), value(std::move(value)), partition(partition),
      timestamp(timestamp), value_is_json(value_is_json)
  {}

  std::string topic;
  std::optional<std::string> key;
  std::string value;
  std::optional<uint32_t> partition = std::nullopt;    // overrides routing
  std::optional<TimestampNs> timestamp = std::nullopt; // default: now
  bool value_is_json = false;                          // vouch that value is one line of valid JSON
};

// Where a record was stored.
struct RecordMetadata {
  std::string topic;
  uint32_t partition = 0;
  uint64_t offset = 0;
  TimestampNs timestamp = 0;
  Hash record_hash{};
};

// One record of a RecordBatch. As the result of iterating a batch, key and
// value point into the batch and stay valid until the batch is next changed.
struct RecordView {
  std::optional<std::string_view> key;
  std::string_view value;
  std::optional<uint32_t> partition = std::nullopt;    // overrides routing
  std::optional<TimestampNs> timestamp = std::nullopt; // default: now
  bool value_is_json = false;                          // vouch that value is one line of valid JSON
};

// A RecordBatch holds records for one topic, to be appended together by
// Producer::send(const RecordBatch&) or a ProducerPipeline. Keys and values
// are copied into one buffer (an arena) owned by the batch, so filling a
// batch costs no allocation per record once the batch has been used; clear()
// keeps the memory for the next batch. Keys and values must be UTF-8 text
// (Partition::append refuses other bytes when the batch is sent).
//
// Multiple threads can call const methods on a RecordBatch without external
// synchronization, but if any thread may call a non-const method, all
// threads accessing the same RecordBatch must use external synchronization.
class RecordBatch {
public:
  RecordBatch() = default;
  explicit RecordBatch(std::string topic) : m_topic(std::move(topic)) {}

  // The topic every record of the batch goes to.
  const std::string& topic() const { return m_topic; }

  // Appends a copy of the record to the batch.
  void add(const RecordView& record);
  void add(std::optional<std::string_view> key, std::string_view value)
  {
    add(RecordView{key, value});
  }

  // Removes every record; the topic and the memory stay.
  void clear();

  size_t size() const { return m_entries.size(); }
  bool empty() const { return m_entries.empty(); }

  // Bytes the batch holds: keys, values and a fixed cost per record. Tied
  // to implementation details; meant for sizing batches, not for accounting.
  size_t approximate_bytes() const { return m_arena.size() + m_entries.size() * sizeof(Entry); }

  // The i-th record added (i < size()).
  RecordView operator[](size_t i) const;

  // Iteration in the order records were added, as RecordView values.
  class Iterator {
  public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = RecordView;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = RecordView;

    Iterator() = default;
    RecordView operator*() const { return (*m_batch)[m_index]; }
    Iterator& operator++()
    {
      ++m_index;
      return *this;
    }
    Iterator operator++(int)
    {
      Iterator old = *this;
      ++m_index;
      return old;
    }
    bool operator==(const Iterator& other) const { return m_index == other.m_index; }

  private:
    friend class RecordBatch;
    Iterator(const RecordBatch* batch, size_t index) : m_batch(batch), m_index(index) {}
    const RecordBatch* m_batch = nullptr;
    size_t m_index = 0;
  };
  Iterator begin() const { return Iterator(this, 0); }
  Iterator end() const { return Iterator(this, m_entries.size()); }

private:
  friend class ProducerPipeline;

  struct Entry {
    size_t key_pos = 0; // key, then value, at this arena position
    size_t key_len = 0; // with has_key
    size_t value_len = 0;
    std::optional<uint32_t> partition;
    std::optional<TimestampNs> timestamp;
    bool has_key = false;
    bool value_is_json = false;
  };

  std::string m_topic;
  std::string m_arena;
  std::vector<Entry> m_entries;
};

class Producer {
public:
  explicit Producer(std::shared_ptr<Broker> broker) : m_broker(std::move(broker)) {}

  // Appends one record; durable (one fsync) when it returns.
  Result<RecordMetadata> send(const ProducerRecord& record);
  // Appends records of any topics as one group commit: one batch per
  // partition they go to, all written, then all fdatasynced at once, then
  // published. Returns their metadata in input order. Routing (an unknown
  // topic, a partition out of range) is checked before anything is
  // written; a failure to lock or write a partition takes every batch back;
  // when a sync (or what follows it) fails, the partitions whose batches
  // were synced keep their records, unacknowledged.
  Result<std::vector<RecordMetadata>> send_batch(const std::vector<ProducerRecord>& records);
  // The same for a RecordBatch (its topic is created when missing and the
  // broker auto-creates topics). The message of a failed append names the
  // partition: "topic/3: ...".
  Result<std::vector<RecordMetadata>> send(const RecordBatch& batch);

private:
  std::shared_ptr<Broker> m_broker;
};

// ProducerPipeline appends batches on a writer thread of its own, so that
// the caller fills the next batch while the previous one is hashed,
// compressed and synced: the group commit of merkql produce, for library
// users. At most two batches are in flight: one being written and one
// waiting; submit() blocks while one waits (back-pressure).
//
// Acknowledgements: after a batch is durable, the AckCallback is called with
// the batch and one RecordMetadata per record, in the batch's order. Calls
// come one batch at a time, in the order the batches were submitted, on the
// writer thread (never on the caller's), and never concurrently. The
// callback must not call submit() or finish() of its pipeline; it may call
// status(). An error it returns stops the pipeline like a failed append (an
// exception it throws too, as an io_error; it does not cross threads).
//
// Errors: the first error (of routing, of an append, or of the callback)
// stops the pipeline. Records acknowledged before it stay acknowledged and
// stored; no later batch is written or acknowledged (the batch that failed
// may have some partitions stored without acknowledgement, as with
// send_batch). submit(), status() and finish() then return that error.
//
// submit(), status() and finish() are meant for one thread; status() may
// also be called from the callback. The destructor writes what was
// submitted and not yet written (unless an error stopped the pipeline) and
// joins the writer thread; call finish() first to learn the outcome.
class ProducerPipeline {
public:
  using AckCallback =
    std::function<Status(const RecordBatch& batch, std::span<const RecordMetadata> acks)>;

  explicit ProducerPipeline(std::shared_ptr<Broker> broker, AckCallback on_ack = {});
  ~ProducerPipeline();
  ProducerPipeline(const ProducerPipeline&) = delete;
  ProducerPipeline& operator=(const ProducerPipeline&) = delete;

  // Takes the records of batch for the writer and leaves batch empty, for
  // the same topic (its memory is that of an earlier batch, reused). Waits
  // while another batch is waiting. Returns the pipeline's error instead,
  // taking nothing, once there is one. An empty batch is not submitted.
  Status submit(RecordBatch& batch);
  // The pipeline's error so far, without waiting.
  Status status() const;
  // Waits until every batch submitted is written and acknowledged; returns
  // the first error. The pipeline can take more batches afterwards.
  Status finish();

private:
  void loop();

  std::shared_ptr<Broker> m_broker;
  AckCallback m_on_ack;

  mutable std::mutex m_mutex;
  std::condition_variable m_changed;
  RecordBatch m_next;     // with m_waiting: the batch the writer takes next
  bool m_waiting = false; // m_next holds a batch
  bool m_busy = false;    // the writer is writing one
  bool m_stop = false;
  Status m_error;
  std::thread m_thread; // started last, once the members above exist
};

} // namespace merkql
