// Fuzz target: opening a data directory whose files are damaged.
//
// Once per process it builds a small valid data directory on a tmpfs: topic
// "t" (2 partitions, LZ4, 4 KiB segments, 150 records over several segments),
// topic "u" (1 partition, uncompressed, 100 records, retention of 20 records,
// compacted: its lowest segments are gone) and group "g" with committed
// offsets. Each input is a list of mutations, each applied to one file of a
// chosen kind (MERKQL, TOPIC, HEAD, INDEX, TREE, a segment, OFFSETS, or
// another file): overwrite or flip bytes, truncate, extend, delete, replace
// the content, create a sibling (the next segment, a leftover temporary file)
// or remove the directory holding it; optionally with its checksums
// recomputed afterwards, as a forger would. Then, on a copy of the directory:
//
// 1. open the broker with Repair::never and read what it offers: every
//    partition's head, root, a proof, records, the audit, the usage, every
//    group's offsets; this changes nothing on disk;
// 2. open it with repair, consume and commit as group "g", produce a record
//    and read it back, compact;
// 3. a partition whose audit passed in step 1 must still pass, with the same
//    root for its first records, when opened read-only afterwards: recovery
//    never changes what the audit accepted.
//
// Every failure must be a Status: no crash, no undefined behaviour, no hang,
// bounded memory.
#include "fuzz_support.h"

#include <merkql/broker.h>
#include <merkql/coding.h>
#include <merkql/consumer.h>
#include <merkql/filename.h>
#include <merkql/group.h>
#include <merkql/log_block.h>
#include <merkql/producer.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace merkql;
using merkql::fuzz::FuzzInput;
using merkql::fuzz::ScratchDir;
namespace fs = std::filesystem;

namespace {

enum Kind { k_marker, k_topic, k_head, k_index, k_tree, k_segment, k_offsets, k_other, k_kinds };

Kind kind_of(const std::string& name)
{
  if (name == "MERKQL") {
    return k_marker;
  }
  if (name == "TOPIC") {
    return k_topic;
  }
  if (name == "HEAD") {
    return k_head;
  }
  if (name == "INDEX") {
    return k_index;
  }
  if (name == "TREE") {
    return k_tree;
  }
  if (name == "OFFSETS") {
    return k_offsets;
  }
  if (parse_segment_file_name(name)) {
    return k_segment;
  }
  return k_other;
}

constexpr TimestampNs k_base_time = 1700000000000000000;

// A small deterministic generator (splitmix64).
struct Rng {
  uint64_t state;
  uint64_t next()
  {
    uint64_t z = (state += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
  }
};

void require(const Status& s, const char* what)
{
  if (!s.is_ok()) {
    merkql::fuzz::fail(what, s.message());
  }
}

template<class T> T require(Result<T> r, const char* what)
{
  require(r.status(), what);
  return std::move(r).value();
}

// MERKQL_FUZZ_VERBOSE=1: describe the fixture and each mutation on stderr.
bool verbose()
{
  static const bool on = [] {
    const char* v = std::getenv("MERKQL_FUZZ_VERBOSE");
    return v && *v == '1';
  }();
  return on;
}

// The pristine directory and its files by kind (paths relative to it).
struct Fixture {
  ScratchDir root{"directory_open"};
  std::string base = root.path() + "/base";
  std::string scratch = root.path() + "/scratch";
  std::array<std::vector<std::string>, k_kinds> files;

  Fixture()
  {
    build();
    for (const auto& entry : fs::recursive_directory_iterator(base)) {
      if (entry.is_regular_file()) {
        const std::string rel = fs::relative(entry.path(), base).string();
        files[kind_of(entry.path().filename().string())].push_back(rel);
      }
    }
    for (auto& list : files) {
      std::sort(list.begin(), list.end());
    }
    // MERKQL_FUZZ_VERBOSE=1 lists the files a mutation can choose, by kind.
    if (verbose()) {
      for (size_t kind = 0; kind < files.size(); ++kind) {
        for (size_t i = 0; i < files[kind].size(); ++i) {
          std::fprintf(stderr, "kind %zu file %zu: %s (%ju bytes)\n", kind, i,
                       files[kind][i].c_str(),
                       static_cast<uintmax_t>(fs::file_size(base + "/" + files[kind][i])));
        }
      }
    }
  }

  void build()
  {
    BrokerConfig config;
    config.dir = base;
    auto broker = require(Broker::open(config), "open the fixture");
    TopicConfig t;
    t.partitions = 2;
    t.compression = Compression::lz4;
    t.segment_bytes = 4096;
    require(broker->create_topic("t", t).status(), "create t");
    TopicConfig u;
    u.partitions = 1;
    u.compression = Compression::none;
    u.segment_bytes = 4096;
    u.retention.max_records = 20;
    require(broker->create_topic("u", u).status(), "create u");

    Rng rng{42};
    Producer producer = broker->producer();
    uint64_t n = 0;
    auto value = [&](uint64_t i) {
      if (i % 3 == 2) { // incompressible: stored uncompressed even under LZ4
        std::string noise;
        for (int k = 0; k < 24; ++k) {
          noise += fmt::format("{:016x}", rng.next());
        }
        return noise;
      }
      return fmt::format(R"({{"sensor":"s{}","seq":{},"temp":{}.{},"note":"{}"}})", i % 5, i,
                         rng.next() % 40, rng.next() % 100, std::string(i % 200, 'x'));
    };
    for (int batch = 0; batch < 15; ++batch) {
      std::vector<ProducerRecord> records;
      for (int i = 0; i < 10; ++i, ++n) {
        ProducerRecord r;
        r.topic = "t";
        if (n % 4 != 0) {
          r.key = fmt::format("k{}", n % 7);
        }
        r.value = value(n);
        r.value_is_json = n % 3 != 2;
        r.partition = static_cast<uint32_t>(n % 2);
        r.timestamp = k_base_time + static_cast<TimestampNs>(n) * 1000;
        records.push_back(std::move(r));
      }
      require(producer.send_batch(records).status(), "produce to t");
    }
    for (int batch = 0; batch < 10; ++batch) {
      std::vector<ProducerRecord> records;
      for (int i = 0; i < 10; ++i, ++n) {
        records.push_back(ProducerRecord{"u", std::nullopt, value(n), 0,
                                         k_base_time + static_cast<TimestampNs>(n), false});
      }
      require(producer.send_batch(records).status(), "produce to u");
    }
    Partition* up = require(require(broker->topic("u"), "topic u")->partition(0), "u/0");
    require(up->compact().status(), "compact u");

    ConsumerConfig cc;
    cc.group_id = "g";
    cc.offset_reset = OffsetReset::earliest;
    cc.max_poll_records = 40;
    auto consumer = require(broker->consumer(cc), "consumer");
    require(consumer->subscribe({"t", "u"}), "subscribe");
    for (int i = 0; i < 3; ++i) {
      require(consumer->poll().status(), "poll");
    }
    require(consumer->commit_sync(), "commit");
    require(consumer->close(), "close");
  }
};

Fixture& fixture()
{
  static Fixture* f = new Fixture(); // lives until exit; ScratchDir removes it then
  static struct Cleanup {
    ~Cleanup() { delete f; }
  } cleanup;
  return *f;
}

std::string read_all(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_all(const std::string& path, const std::string& data)
{
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

void put_crc(std::string& s, size_t at, size_t from, size_t to)
{
  const uint32_t crc = crc32c(s.data() + from, to - from);
  for (int i = 0; i < 4; ++i) {
    s[at + static_cast<size_t>(i)] = static_cast<char>(crc >> (8 * i));
  }
}

// Recomputes every checksum a reader checks in a file of this kind.
void fix_checksums(Kind kind, std::string& s)
{
  switch (kind) {
  case k_topic:
    if (s.size() >= 36) {
      put_crc(s, 32, 0, 32);
    }
    break;
  case k_offsets:
    if (s.size() >= 4) {
      put_crc(s, s.size() - 4, 0, s.size() - 4);
    }
    break;
  case k_head:
    for (size_t slot = 0; slot + 256 <= s.size() && slot < 512; slot += 256) {
      put_crc(s, slot + 252, slot, slot + 252);
    }
    break;
  case k_segment: {
    size_t pos = 0;
    while (auto h = parse_block_header(std::string_view(s).substr(pos))) {
      if (h->total_size() > s.size() - pos) {
        break;
      }
      put_crc(s, pos, pos + 4, pos + h->total_size());
      pos += h->total_size();
    }
    break;
  }
  default:
    break;
  }
}

// The file created next to `path`: the segment after the last one of its
// directory, or a leftover temporary file.
std::string sibling_of(Kind kind, const std::string& path)
{
  if (kind != k_segment) {
    return temp_file(path);
  }
  const fs::path dir = fs::path(path).parent_path();
  uint32_t last = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (auto n = parse_segment_file_name(entry.path().filename().string())) {
      last = std::max(last, *n);
    }
  }
  return segment_file(dir.string(), last + 1);
}

void mutate(FuzzInput& in, const Fixture& f)
{
  static const char* const op_names[] = {"overwrite", "flip",    "truncate", "extend",
                                         "delete",    "replace", "sibling",  "remove-dir"};
  for (int step = 0; step < 8 && !in.empty(); ++step) {
    const uint8_t choice = in.u8();
    const auto kind = static_cast<Kind>(choice % k_kinds);
    const bool forge = choice & 0x80;
    const auto& list = f.files[kind];
    if (list.empty()) {
      continue;
    }
    std::string path = f.scratch + "/" + list[in.u8() % list.size()];
    std::string s = read_all(path);
    const uint8_t op = in.u8() % 8;
    switch (op) {
    case 0: { // overwrite a few bytes (past the end extends the file)
      const size_t pos = in.u16() % (s.size() + 1);
      std::string_view data = in.bytes(in.u8() % 16 + 1);
      s.resize(std::max(s.size(), pos + data.size()));
      s.replace(pos, data.size(), data);
      break;
    }
    case 1: // flip one bit
      if (!s.empty()) {
        const size_t pos = in.u16() % s.size();
        s[pos] = static_cast<char>(s[pos] ^ (1 << (in.u8() % 8)));
      }
      break;
    case 2: // truncate
      s.resize(in.u16() % (s.size() + 1));
      break;
    case 3: { // extend: with given bytes, else zeros
      std::string_view data = in.bytes(in.u8());
      if (data.empty()) {
        s.append(size_t{in.u16()} % 8192, '\0');
      } else {
        s.append(data);
      }
      break;
    }
    case 4: { // delete
      std::error_code ec;
      fs::remove(path, ec);
      if (verbose()) {
        std::fprintf(stderr, "mutation %d: delete %s\n", step,
                     fs::relative(path, f.scratch).c_str());
      }
      continue;
    }
    case 5: // replace the whole content
      s = std::string(in.bytes(in.u16() % 1024));
      break;
    case 6: // create a sibling
      path = sibling_of(kind, path);
      s = std::string(in.bytes(in.u8()));
      break;
    case 7: { // remove the directory holding the file
      std::error_code ec;
      fs::remove_all(fs::path(path).parent_path(), ec);
      if (verbose()) {
        std::fprintf(stderr, "mutation %d: remove-dir %s\n", step,
                     fs::relative(fs::path(path).parent_path(), f.scratch).c_str());
      }
      continue;
    }
    }
    if (forge) {
      fix_checksums(kind, s);
    }
    if (verbose()) {
      std::fprintf(stderr, "mutation %d: %s %s%s, now %zu bytes\n", step, op_names[op],
                   fs::relative(path, f.scratch).c_str(), forge ? " (checksums fixed)" : "",
                   s.size());
    }
    if (fs::is_directory(fs::path(path).parent_path())) {
      write_all(path, s);
    }
  }
}

struct Audited {
  uint64_t next_offset = 0;
  std::optional<Hash> root;
};
using AuditedPartitions = std::map<TopicPartition, Audited>;

// A partition that passes its audit serves every record it keeps, and its
// root and proofs, from the files as they are.
void check_usable(Partition* part, const AuditReport& report, const std::string& where)
{
  const uint64_t n = report.next_offset;
  auto root = part->merkle_root();
  MERKQL_FUZZ_CHECK(root.is_ok(), where + " passed its audit, but: " + root.status().message());
  MERKQL_FUZZ_CHECK(*root == report.root, where + " passed its audit with another root");
  auto root_at = part->merkle_root_at(n);
  MERKQL_FUZZ_CHECK(root_at.is_ok(),
                    where + " passed its audit, but: " + root_at.status().message());
  MERKQL_FUZZ_CHECK(*root_at == report.root, where + " passed its audit with another root");
  if (n == 0) {
    return;
  }
  const uint64_t first = part->watermark_for(n);
  PartitionReader reader(part);
  std::vector<Record> records;
  auto got = reader.read(first, n, 1000, records);
  MERKQL_FUZZ_CHECK(got.is_ok(), where + " passed its audit, but: " + got.status().message());
  MERKQL_FUZZ_CHECK(*got == n - first, where + " passed its audit, but misses records");
  if (first == n) {
    return; // retention keeps no record
  }
  for (uint64_t offset : {first, n - 1}) {
    auto proof = part->proof(offset);
    MERKQL_FUZZ_CHECK(proof.is_ok(), where + " passed its audit, but: " + proof.status().message());
  }
}

// Step 1 (and 3): read everything a read-only open offers. Returns the
// partitions whose audit passed. With `expected`, each partition in it must
// still pass, hold at least as many records and keep the root of those.
AuditedPartitions read_only_look(const std::string& dir,
                                 const AuditedPartitions* expected = nullptr)
{
  AuditedPartitions audited;
  BrokerConfig config;
  config.dir = dir;
  config.create = Create::no;
  config.repair = Repair::never;
  config.lock_wait = Wait::no;
  config.auto_create_topics = false;
  auto broker = Broker::open(config);
  if (!broker.is_ok()) {
    MERKQL_FUZZ_CHECK(!expected || expected->empty(), broker.status().message());
    return audited;
  }
  size_t checked = 0;
  if (auto names = (*broker)->topic_names(); names.is_ok()) {
    for (const std::string& name : *names) {
      auto topic = (*broker)->topic(name);
      if (!topic.is_ok()) {
        continue;
      }
      const uint32_t count = std::min<uint32_t>((*topic)->partition_count(), 4);
      for (uint32_t id = 0; id < count; ++id) {
        auto p = (*topic)->partition(id);
        if (!p.is_ok()) {
          continue;
        }
        Partition* part = *p;
        (void)part->head();
        (void)part->merkle_root();
        (void)part->usage();
        auto n = part->next_offset();
        if (n.is_ok() && *n > 0) {
          (void)part->proof(*n - 1);
          (void)part->proof(0, *n);
          (void)part->merkle_root_at(*n / 2 + 1);
          (void)part->read(*n - 1);
          PartitionReader reader(part);
          std::vector<Record> records;
          (void)reader.read(0, *n, 200, records);
        }
        auto report = part->audit();
        if (report.is_ok() && report->ok()) {
          check_usable(part, *report, fmt::format("{}/{}", name, id));
          audited[{name, id}] = Audited{report->next_offset, report->root};
        }
        if (expected && expected->count({name, id})) {
          const Audited& was = expected->at({name, id});
          const std::string where = fmt::format("{}/{}", name, id);
          MERKQL_FUZZ_CHECK(report.is_ok() && report->ok(),
                            where + " passed its audit before the repairing open, not after: "
                              + (report.is_ok() ? report->problem : report.status().message()));
          MERKQL_FUZZ_CHECK(report->next_offset >= was.next_offset, where + " lost records");
          auto root = part->merkle_root_at(was.next_offset);
          if (!root.is_ok() && root.status().is_not_found() && part->retention().max_records) {
            ++checked; // compacted under retention since: the old root needs records gone
            continue;
          }
          MERKQL_FUZZ_CHECK(root.is_ok(), where + ": " + root.status().message());
          MERKQL_FUZZ_CHECK(
            *root == was.root,
            fmt::format("{} changed the root of its first {} records", where, was.next_offset));
          ++checked;
        }
      }
    }
  }
  MERKQL_FUZZ_CHECK(!expected || checked == expected->size(),
                    "a partition that passed its audit can no longer be opened");
  if (auto groups = (*broker)->group_names(); groups.is_ok()) {
    for (const std::string& group : *groups) {
      (void)GroupOffsets((*broker)->env(), dir, group, Wait::no).load();
    }
  }
  return audited;
}

// Step 2: open with repair, consume, commit, produce and compact.
void write_look(const std::string& dir)
{
  BrokerConfig config;
  config.dir = dir;
  config.create = Create::no;
  config.lock_wait = Wait::no;
  config.auto_create_topics = false;
  auto broker = Broker::open(config);
  if (!broker.is_ok()) {
    return;
  }
  ConsumerConfig cc;
  cc.group_id = "g";
  cc.offset_reset = OffsetReset::earliest;
  cc.max_poll_records = 30;
  if (auto consumer = (*broker)->consumer(cc); consumer.is_ok()) {
    if ((*consumer)->subscribe({"t", "u"}).is_ok()) {
      for (int i = 0; i < 2; ++i) {
        (void)(*consumer)->poll();
      }
      (void)(*consumer)->commit_sync();
    }
    (void)(*consumer)->close();
  }
  Producer producer = (*broker)->producer();
  ProducerRecord r{"t", std::string("fuzz"), R"({"fuzz":1})", 0, k_base_time + 1, true};
  if (auto sent = producer.send(r); sent.is_ok()) {
    auto topic = (*broker)->topic("t");
    MERKQL_FUZZ_CHECK(topic.is_ok(), topic.status().message());
    auto part = (*topic)->partition(0);
    MERKQL_FUZZ_CHECK(part.is_ok(), part.status().message());
    auto back = (*part)->read(sent->offset);
    if (back.is_ok()) {
      MERKQL_FUZZ_CHECK(back->value == r.value && back->key == r.key
                          && back->timestamp == r.timestamp,
                        "a produced record reads back different");
    }
  }
  // Compaction deletes files: on a damaged partition it must only ever
  // remove what retention allows (step 3 checks what the audit accepted).
  for (const char* name : {"t", "u"}) {
    if (auto topic = (*broker)->topic(name); topic.is_ok()) {
      if (auto part = (*topic)->partition(0); part.is_ok()) {
        (void)(*part)->compact();
      }
    }
  }
}

// Every directory and file under dir, with the files' contents.
std::map<std::string, std::optional<std::string>> snapshot(const std::string& dir)
{
  std::map<std::string, std::optional<std::string>> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const std::string rel = fs::relative(it->path(), dir).string();
    if (it->is_regular_file()) {
      out[rel] = read_all(it->path().string());
    } else {
      out[rel] = std::nullopt;
    }
  }
  return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  Fixture& f = fixture();
  std::error_code ec;
  // libFuzzer's timeout timer (SIGALRM) can interrupt the copy's system
  // calls, which std::filesystem does not retry: start the copy again.
  for (int attempt = 0; attempt < 10; ++attempt) {
    ec.clear();
    fs::remove_all(f.scratch, ec);
    fs::copy(f.base, f.scratch, fs::copy_options::recursive, ec);
    if (ec != std::errc::interrupted) {
      break;
    }
  }
  if (ec) {
    merkql::fuzz::fail("copy the fixture", ec.message());
  }
  FuzzInput in(data, size);
  mutate(in, f);

  const auto untouched = snapshot(f.scratch);
  const AuditedPartitions before = read_only_look(f.scratch);
  MERKQL_FUZZ_CHECK(snapshot(f.scratch) == untouched,
                    "opening with Repair::never changed the disk");
  write_look(f.scratch);
  (void)read_only_look(f.scratch, &before);
  return 0;
}
