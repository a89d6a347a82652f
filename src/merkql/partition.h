// A partition: an append-only log of records that is also a SHA-256 merkle
// tree (docs/FORMAT.md §Partition). Owns the files of one partition
// directory: log segments, INDEX, TREE, HEAD and LOCK.
//
// Writers (append, compact) hold the exclusive flock on LOCK and re-read the
// tail from disk under it, so any number of processes may append at once.
// An append may also be driven in steps (begin_append, PendingAppend::sync,
// finish_append), so that the producer writes the batches of several
// partitions and syncs them all at once (a group commit).
// Readers take no lock: they read HEAD, which is only advanced after a batch
// is durable, and serve only checksummed records below it. One Partition
// object may be shared by threads: appends are serialised by a mutex;
// create a PartitionReader per reading thread.
//
// Partition orchestrates; the formats live apart: the log's blocks in
// log_block.h, reading them across segments in segment.h, HEAD, INDEX and
// TREE in partition_meta.h, the offline audit in audit.h. partition.cc
// holds open, append, roots and proofs; partition_retention.cc retention
// (compaction) and usage; partition_recovery.cc the tail check and crash
// recovery; partition_reader.cc PartitionReader.
#pragma once

#include <merkql/audit.h>
#include <merkql/consistency.h>
#include <merkql/env.h>
#include <merkql/merkle.h>
#include <merkql/options.h>
#include <merkql/proof.h>
#include <merkql/record.h>
#include <merkql/status.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace merkql {

class FileCache;
class SegmentReader;
enum class Access;

// One record to append; the timestamp defaults to the wall clock.
struct AppendInput {
  std::optional<std::string_view> key;
  std::string_view value;
  std::optional<TimestampNs> timestamp;
  // The caller vouches that value is valid JSON text on one line; readers
  // may then skip validating it (docs/FORMAT.md §Segment, flag bit 1).
  bool value_is_json = false;
};

// A byte position in the log: segment number, then position inside it.
struct LogPosition {
  uint32_t segment = 0;
  uint64_t position = 0;
  auto operator<=>(const LogPosition&) const = default;
};

// The published end of the log, as HEAD records it.
struct PartitionHead {
  uint64_t sequence = 0;
  uint64_t next_offset = 0;
  uint32_t segment = 0;
  uint64_t segment_end = 0;
  std::vector<Hash> low_peaks; // peaks below chunk height, oldest first
  // The first offset retention keeps (a multiple of 64, the first chunk
  // whose records are all stored); 0 until retention removed a segment.
  // Written and synced before any segment is removed.
  uint64_t log_start = 0;
};

struct AppendedRecord {
  uint64_t offset = 0;
  TimestampNs timestamp = 0;
  Hash record_hash{};
};

struct CompactResult {
  uint64_t segments_removed = 0;
  uint64_t bytes_reclaimed = 0;
};

struct PartitionUsage {
  uint64_t records_bytes = 0; // log segments
  uint64_t index_bytes = 0;
  uint64_t tree_bytes = 0;
  uint64_t metadata_bytes = 0;    // HEAD, LOCK
  uint64_t reclaimable_bytes = 0; // segments compact() would remove
  // Disk space the files hold (allocated blocks): more than total() by
  // what is reserved ahead of the log, less for sparse files.
  uint64_t allocated_bytes = 0;
  uint64_t total() const { return records_bytes + index_bytes + tree_bytes + metadata_bytes; }
  // Adds another partition's usage (for totals per topic or directory).
  void add(const PartitionUsage& other)
  {
    records_bytes += other.records_bytes;
    index_bytes += other.index_bytes;
    tree_bytes += other.tree_bytes;
    metadata_bytes += other.metadata_bytes;
    reclaimable_bytes += other.reclaimable_bytes;
    allocated_bytes += other.allocated_bytes;
  }
};

class Partition;

// A batch between the steps of an append: written to its segment by
// Partition::begin_append, not yet durable. Until finish_append the
// partition's mutex and LOCK stay held, so finish it on the thread that
// began it; sync() may run on any thread.
class PendingAppend {
public:
  PendingAppend() = default;
  PendingAppend(PendingAppend&&) = default;
  PendingAppend& operator=(PendingAppend&&) = default;

  // Makes the batch's bytes durable (fdatasync of its segment). Touches
  // nothing else of the partition, so the batches of several partitions
  // sync at the same time.
  Status sync();
  bool active() const { return m_guard.owns_lock(); }

private:
  friend class Partition;
  std::unique_lock<std::mutex> m_guard; // the partition's m_mutex
  std::shared_ptr<File> m_segment_file;
  std::vector<StoredRecordView> m_views;
  std::vector<std::pair<size_t, uint64_t>> m_block_starts; // (record, position in the batch)
  std::vector<AppendedRecord> m_appended;
  std::vector<Hash> m_leaves;      // leaf hash of each record
  MerkleAccumulator m_tree_before; // the tail's tree before hashing
  std::string m_tree_out;
  std::string m_index_out;
  uint64_t m_first = 0; // offset of the first record
  uint32_t m_segment = 0;
  uint64_t m_pos = 0;   // where the batch begins in the segment
  uint64_t m_bytes = 0; // its encoded size
  bool m_roll = false;
  bool m_hashed = false;
};

// Sequential reader over one partition; keeps its place between calls.
class PartitionReader {
public:
  explicit PartitionReader(Partition* partition);
  ~PartitionReader();

  // Appends records [offset, min(end, offset + max)) to out.
  Result<size_t> read(uint64_t offset, uint64_t end, size_t max, std::vector<Record>& out);
  // Calls fn(offset, stored record) for [offset, end); stops early if fn returns false.
  Status scan(uint64_t offset, uint64_t end,
              const std::function<bool(uint64_t, const StoredRecordView&)>& fn);
  // Where the block holding the record scan passed last begins.
  LogPosition block_position() const { return m_block_at; }

private:
  // Makes the record at offset the cursor's, decoding its block up to the
  // record before `until` (at least).
  Status seek(uint64_t offset, uint64_t until);
  // Reads the next block of m_log and decodes it up to the record before until.
  Status load_block(uint64_t until);
  Status decode(uint64_t until); // decodes m_block up to the record before until

  Partition* m_partition;
  std::unique_ptr<SegmentReader> m_log; // its file is held only during a call
  // The decoded block under the cursor.
  bool m_have_block = false;
  LogPosition m_block_at;
  uint64_t m_block_first = 0;
  uint64_t m_block_count = 0; // records the block holds; m_records views a prefix
  std::string_view m_block;   // the block, in m_block_bytes
  std::string m_block_bytes;
  std::string m_scratch;
  std::vector<StoredRecordView> m_records;
};

class Partition {
public:
  ~Partition();

  // Opens (creating files as needed) the partition directory `dir`, which
  // must exist. Repairs a torn tail left by a crash.
  static Result<std::unique_ptr<Partition>> open(Env* env, std::string dir, std::string topic,
                                                 uint32_t id, PartitionOptions options);

  const std::string& topic() const { return m_topic; }
  uint32_t id() const { return m_id; }
  const std::string& dir() const { return m_dir; }
  // The options given to open (retention and segment size as then; see
  // retention()).
  const PartitionOptions& options() const { return m_options; }
  // The retention and segment size in force now.
  RetentionConfig retention();
  uint64_t segment_bytes();
  // Changes retention and segment size for this object's later appends and
  // compactions (Broker::alter_topic; other processes read TOPIC anew).
  void set_retention(const RetentionConfig& retention, uint64_t segment_bytes);

  // Appends records as one batch with one fsync; returns their offsets.
  // The same as begin_append, sync, hash_append and finish_append.
  Result<std::vector<AppendedRecord>> append(const std::vector<AppendInput>& records);
  // The steps of append. begin_append checks the records, locks, and writes
  // the batch to the segment unsynced (the records must outlive
  // finish_append). hash_append hashes it into the tree, in memory only (it
  // may run while pending.sync() does). finish_append then, if synced is ok,
  // writes TREE, INDEX and HEAD (the batch is acknowledged), else takes the
  // bytes back and returns synced; either way it unlocks. On an error
  // begin_append leaves nothing locked and nothing written.
  Status begin_append(const std::vector<AppendInput>& records, PendingAppend& pending);
  void hash_append(PendingAppend& pending);
  Result<std::vector<AppendedRecord>> finish_append(PendingAppend& pending, Status synced);

  Result<PartitionHead> head();
  Result<uint64_t> next_offset();
  // First offset visible under retention, for a log ending at next_offset:
  // the newest max_records records, and nothing below HEAD's log_start (as
  // of the HEAD this object read last, e.g. by next_offset()).
  uint64_t watermark_for(uint64_t next_offset) const;
  // The same, from HEAD read now.
  Result<uint64_t> watermark();

  // Root of the whole log (none when empty), from HEAD and TREE alone.
  Result<std::optional<Hash>> merkle_root();
  // Root the log had when it held tree_size records (any past size).
  Result<std::optional<Hash>> merkle_root_at(uint64_t tree_size);
  // Inclusion proof of offset in the tree of tree_size records (default: now).
  Result<InclusionProof> proof(uint64_t offset, std::optional<uint64_t> tree_size = {});
  // Consistency proof that the tree of from_size records is a prefix of the
  // tree of to_size (default: now). invalid_argument unless 1 <= from_size
  // <= to_size; not_found when either size is beyond the log or a node it needs
  // is no longer stored (compacted).
  Result<ConsistencyProof> consistency_proof(uint64_t from_size,
                                             std::optional<uint64_t> to_size = {});
  Result<Record> read(uint64_t offset);
  // The record at offset with its inclusion proof in the tree of tree_size
  // records and that tree's root, from one read of its block (the part of
  // make_record_proof that needs storage).
  Result<RecordProof> record_proof(uint64_t offset, uint64_t tree_size);

  // Removes the oldest segments retention no longer keeps (also done by
  // append whenever the log rolls to a new segment).
  Result<CompactResult> compact();
  // Records in HEAD where the log starts, as the stored segments say, and
  // removes nothing: done before a topic's retention changes, so that the
  // new limits need not explain what the old ones removed.
  Status record_log_start();
  // The first failure of the retention that appends enforce when the log
  // rolls (ok if none failed): such a failure never fails the append, whose
  // records are already durable; the segments go at a later roll or compact.
  Status retention_error();
  Result<PartitionUsage> usage();
  // The offline audit (audit.h).
  Result<AuditReport> audit(const AuditProgress& progress = {});

private:
  friend class PartitionReader;
  friend Result<AuditReport> audit_partition(Partition&, const AuditProgress&);
  Partition(Env* env, std::string dir, std::string topic, uint32_t id, PartitionOptions options);

  struct Tail {
    bool valid = false;
    uint64_t sequence = 0;
    uint32_t segment = 0;
    uint64_t segment_end = 0;
    MerkleAccumulator tree;
    bool unacknowledged_bytes = false; // a failed append left bytes past segment_end
    uint64_t log_start = 0;            // HEAD's log_start
  };

  // Where the stored log begins, and whether compaction explains the
  // segments missing below it (see log_start).
  struct LogStart {
    std::optional<uint64_t> first;      // first offset stored (none: no valid block)
    uint64_t keep = 0;                  // offsets retention keeps from
    std::optional<PartitionHead> newer; // a newer HEAD read to explain a later start
    bool explained() const { return first && *first <= keep; }
  };

  Status open_files();
  // A file of this partition, opened as the partition's mode allows.
  Result<std::shared_ptr<File>> file(const std::string& path);
  Result<uint64_t> entries_bytes(const std::string& path);
  Result<std::optional<PartitionHead>> read_head();
  Status write_head();
  // Whether the files hold exactly what `head` publishes.
  Result<bool> head_matches_files(const PartitionHead& head);
  Status refresh_tail();
  Status recover(const std::optional<PartitionHead>& head);
  Result<std::vector<Peak>> high_peaks(uint64_t chunks);
  // Every peak of the tree HEAD describes: high ones from TREE, low from HEAD.
  Result<std::vector<Peak>> peaks_at(const PartitionHead& head);
  Result<uint64_t> tree_node_count();
  Result<uint64_t> index_entry_count();
  Result<LogPosition> index_entry(uint64_t chunk);
  Result<Hash> stored_node(const NodeId& node);
  // The hash of any node of the tree of tree_size records: a stored one
  // (kept in m_nodes), or one hashed from its chunk's leaves. Under m_mutex.
  Result<Hash> node_hash(const NodeId& node, uint64_t tree_size, PartitionReader& reader);
  // The leaves of chunk's records below tree_size (kept in m_leaves).
  Result<const std::vector<Hash>*> chunk_leaves(uint64_t chunk, uint64_t tree_size,
                                                PartitionReader& reader);
  Result<std::shared_ptr<File>> open_active_segment(uint32_t segment, Create create);
  // Whether segment `segment` holds no block from `end` on: the file ends
  // there, or zero bytes follow (the size set ahead, docs/FORMAT.md §Segment).
  Result<bool> segment_ends_at(uint32_t segment, uint64_t end);
  // The segment a batch at `pos` of `segment` goes to, opened, its size set
  // ahead of the batch's `bytes` (a roll trims the previous one first).
  Result<std::shared_ptr<File>> prepare_segment(uint32_t segment, uint64_t pos, uint64_t bytes,
                                                bool roll);
  // Takes the partition's LOCK through a handle kept open between batches.
  Status lock_for_append();
  void unlock_after_append();
  // Drops cached handles of a segment that was removed or may have been.
  void forget_segment(uint32_t segment);
  Status sync_tree_and_index();
  // Trims a segment whose size was set ahead back to the log's end `end`
  // when zero bytes follow there (best effort). Under the partition lock.
  void release_preallocation(uint32_t segment, uint64_t end);
  // Takes a batch that was never acknowledged back out of its segment.
  void take_back(PendingAppend& pending);
  // Compaction keeps every segment holding an offset at or above this: the
  // chunk of the first record max_records keeps, and log_start.
  uint64_t keep_from(uint64_t next_offset, uint64_t log_start) const;
  // Under the lock with a fresh tail: removes what retention no longer keeps
  // (partition_retention.cc), HEAD's log_start first.
  Result<CompactResult> enforce_retention();
  // Raises and syncs HEAD's log_start to the first whole chunk of
  // segments[removable], then removes segments[0, removable).
  Result<CompactResult> remove_segments(const std::vector<uint32_t>& segments, size_t removable);
  // How many segments from the front of `segments` retention removes now.
  // `end`: the end of the log (in the active segment, HEAD's).
  Result<size_t> removable_segments(const std::vector<uint32_t>& segments, uint64_t next_offset,
                                    uint64_t log_start, LogPosition end);
  // The newest record timestamp a closed segment holds (cached).
  Result<std::optional<TimestampNs>> segment_newest(uint32_t segment);
  // Where the log of `head` begins: the first offset of the lowest of
  // `segments` (listed, not empty; listed again if compaction removes the
  // lowest meanwhile), and the offsets retention keeps, from a newer HEAD
  // when compaction in another process acted on one.
  Result<LogStart> log_start(const PartitionHead& head, std::vector<uint32_t>& segments);
  // Corruption when the log is not what HEAD acknowledges and no crash can
  // explain it (cut short, a segment missing that compaction did not
  // remove, log data with no valid HEAD). Reads only; changes nothing.
  Status check_log(const std::optional<PartitionHead>& head);
  Result<std::unique_ptr<FileLock>> lock();

  Env* m_env;
  std::string m_dir;
  std::string m_topic;
  uint32_t m_id;
  PartitionOptions m_options;

  std::shared_ptr<FileCache> m_files;
  Access m_access;
  std::string m_head_path;
  std::string m_index_path;
  std::string m_tree_path;

  std::mutex m_mutex; // serialises writers of this object
  Tail m_tail;
  std::unique_ptr<LockHandle> m_lock;    // LOCK, kept open between appends
  bool m_lock_kept = false;              // m_lock counts against m_files' lock handles
  uint32_t m_known_segment = UINT32_MAX; // a segment known to exist
  uint32_t m_preallocated_segment = UINT32_MAX;
  uint64_t m_preallocated_end = 0;          // the size this object set that segment to
  Sha256 m_sha;                             // under m_mutex
  RetentionConfig m_retention;              // under m_mutex
  uint64_t m_segment_bytes;                 // under m_mutex
  std::map<uint32_t, TimestampNs> m_newest; // closed segments' newest timestamps
  bool m_retention_waits = false;           // a segment is due once the log reaches a chunk's end
  Status m_retention_error;                 // under m_mutex
  std::atomic<uint64_t> m_max_records{0};   // retention.max_records, 0: none
  mutable std::atomic<uint64_t> m_seen_log_start{0}; // highest log_start read from HEAD
  // Proofs, under m_mutex: the leaves of the chunk proved last, and stored
  // tree nodes read (both immutable once acknowledged).
  uint64_t m_leaves_chunk = UINT64_MAX;
  std::vector<Hash> m_leaves;
  std::unordered_map<uint64_t, Hash> m_nodes; // by position in TREE
};

} // namespace merkql
