// merkql_bench: Google Benchmark micro benchmarks of the library on the
// issue's workload (lines like {"sensor":"sensor-a","temp":23.4,"ts":...},
// 4 sensors round-robin, keyed by sensor, LZ4): durable appends of one
// record and of a batch, sequential and random reads, inclusion proof
// (generate + verify), consistency proof (build + verify) and the open of a
// partition, each at the sizes given as arguments. Partitions are built once
// per size in a temporary directory removed at exit. Run with --help for
// Google Benchmark's options (--benchmark_filter, --benchmark_min_time, ...).
#include <merkql/merkql.h>

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace merkql;

template<class T> T check(Result<T> r)
{
  if (!r.is_ok()) {
    std::fprintf(stderr, "merkql_bench: %s\n", r.status().message().c_str());
    std::exit(1);
  }
  return std::move(*r);
}

// The workload's i-th line and key.
const char* const k_sensors[] = {"sensor-a", "sensor-b", "sensor-c", "sensor-d"};

std::string line(uint64_t i)
{
  char buf[96];
  const int n =
    std::snprintf(buf, sizeof buf, R"({"sensor":"%s","temp":%.1f,"ts":%llu})", k_sensors[i % 4],
                  15.0 + double(i % 200) * 0.1, static_cast<unsigned long long>(1700000000 + i));
  return std::string(buf, static_cast<size_t>(n));
}

// A temporary directory for the whole run, removed at exit.
class Scratch {
public:
  Scratch()
  {
    char tmpl[] = "/tmp/merkql-bench-XXXXXX";
    if (!mkdtemp(tmpl)) {
      std::perror("mkdtemp");
      std::exit(1);
    }
    m_dir = tmpl;
  }
  ~Scratch() { std::filesystem::remove_all(m_dir); }
  std::string path(const std::string& name) const { return m_dir + "/" + name; }

private:
  std::string m_dir;
};

Scratch& scratch()
{
  static Scratch s;
  return s;
}

// Appends records [from, to) in batches of batch records.
void fill(Partition& p, uint64_t from, uint64_t to, uint64_t batch)
{
  std::vector<std::string> values;
  std::vector<AppendInput> inputs;
  for (uint64_t first = from; first < to; first += batch) {
    values.clear();
    inputs.clear();
    const uint64_t end = std::min(to, first + batch);
    for (uint64_t i = first; i < end; ++i) {
      values.push_back(line(i));
    }
    for (uint64_t i = first; i < end; ++i) {
      inputs.push_back(AppendInput{k_sensors[i % 4], values[i - first], std::nullopt, true});
    }
    check(p.append(inputs));
  }
}

std::unique_ptr<Partition> open_partition(const std::string& dir)
{
  return check(Partition::open(Env::posix(), dir, "bench", 0, PartitionOptions{}));
}

// The directory of a partition of size records, built on first use.
const std::string& filled_dir(uint64_t size)
{
  static std::map<uint64_t, std::string> dirs;
  auto it = dirs.find(size);
  if (it == dirs.end()) {
    const std::string dir = scratch().path("filled-" + std::to_string(size));
    std::filesystem::create_directories(dir);
    fill(*open_partition(dir), 0, size, 1000);
    it = dirs.emplace(size, dir).first;
  }
  return it->second;
}

// One partition of each size, open for the whole run.
Partition& filled(uint64_t size)
{
  static std::map<uint64_t, std::unique_ptr<Partition>> open;
  auto& p = open[size];
  if (!p) {
    p = open_partition(filled_dir(size));
  }
  return *p;
}

// A fresh partition for appends, one per benchmark run.
std::unique_ptr<Partition> fresh(const std::string& name)
{
  static int n = 0;
  const std::string dir = scratch().path(name + "-" + std::to_string(n++));
  std::filesystem::create_directories(dir);
  return open_partition(dir);
}

void BM_AppendSingle(benchmark::State& state)
{
  auto p = fresh("single");
  uint64_t i = 0;
  for (auto _ : state) {
    fill(*p, i, i + 1, 1);
    ++i;
  }
  state.SetItemsProcessed(static_cast<int64_t>(i));
}
BENCHMARK(BM_AppendSingle)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_AppendBatch(benchmark::State& state)
{
  const auto batch = static_cast<uint64_t>(state.range(0));
  auto p = fresh("batch");
  uint64_t i = 0;
  for (auto _ : state) {
    fill(*p, i, i + batch, batch);
    i += batch;
  }
  state.SetItemsProcessed(static_cast<int64_t>(i));
}
BENCHMARK(BM_AppendBatch)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_SequentialRead(benchmark::State& state)
{
  const auto size = static_cast<uint64_t>(state.range(0));
  Partition& p = filled(size);
  std::vector<Record> out;
  int64_t records = 0;
  for (auto _ : state) {
    PartitionReader reader(&p);
    for (uint64_t at = 0; at < size;) {
      out.clear();
      at += check(reader.read(at, size, 10000, out));
    }
    records += static_cast<int64_t>(size);
  }
  state.SetItemsProcessed(records);
}
BENCHMARK(BM_SequentialRead)->Arg(100000)->Unit(benchmark::kMillisecond);

void BM_RandomRead(benchmark::State& state)
{
  const auto size = static_cast<uint64_t>(state.range(0));
  Partition& p = filled(size);
  uint64_t step = 0;
  for (auto _ : state) {
    const uint64_t offset = (step++ * 2654435761u) % size;
    benchmark::DoNotOptimize(check(p.read(offset)));
  }
  state.SetItemsProcessed(static_cast<int64_t>(step));
}
BENCHMARK(BM_RandomRead)->Arg(100000)->Unit(benchmark::kMicrosecond);

void BM_Proof(benchmark::State& state)
{
  const auto size = static_cast<uint64_t>(state.range(0));
  Partition& p = filled(size);
  uint64_t step = 0;
  for (auto _ : state) {
    const uint64_t offset = (step++ * 2654435761u) % size;
    const RecordProof proof = check(make_record_proof(p, offset));
    if (!verify_record_proof(proof).is_ok()) {
      state.SkipWithError("proof does not verify");
      break;
    }
  }
}
BENCHMARK(BM_Proof)->Arg(1000)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMicrosecond);

void BM_ConsistencyProof(benchmark::State& state)
{
  const auto size = static_cast<uint64_t>(state.range(0));
  Partition& p = filled(size);
  const Hash to_root = *check(p.merkle_root());
  const uint64_t from = size / 3 + 1;
  const Hash from_root = *check(p.merkle_root_at(from));
  for (auto _ : state) {
    const ConsistencyProof proof = check(p.consistency_proof(from));
    if (!verify_consistency(proof, from_root, to_root)) {
      state.SkipWithError("consistency proof does not verify");
      break;
    }
  }
}
BENCHMARK(BM_ConsistencyProof)->Arg(1000)->Arg(1000000)->Unit(benchmark::kMicrosecond);

void BM_Open(benchmark::State& state)
{
  const std::string& dir = filled_dir(static_cast<uint64_t>(state.range(0)));
  for (auto _ : state) {
    auto p = open_partition(dir);
    benchmark::DoNotOptimize(check(p->next_offset()));
  }
}
BENCHMARK(BM_Open)->Arg(1000)->Arg(1000000)->Unit(benchmark::kMicrosecond);

} // namespace

BENCHMARK_MAIN();
