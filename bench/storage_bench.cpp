// Storage benchmark: bytes per record on disk (everything in the directory
// counted) and library-level ingest / read throughput for small JSON records.
// Usage: merkql_bench [RECORDS=100000] [BATCH=1000]
#include <merkql/merkql.h>

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include <sys/utsname.h>

namespace {

std::string cpu_model()
{
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      return line.substr(line.find(':') + 2);
    }
  }
  return "unknown";
}

double seconds_since(std::chrono::steady_clock::time_point t)
{
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

void run(merkql::Compression compression, uint64_t records, size_t batch_size)
{
  char tmpl[] = "/tmp/merkql-bench-XXXXXX";
  std::string dir = std::string(mkdtemp(tmpl)) + "/data";
  merkql::BrokerConfig config;
  config.dir = dir;
  config.compression = compression;
  auto broker = merkql::Broker::open(config).value();
  merkql::Partition* p = broker->topic_or_create("sensors").value()->partition(0).value();

  // Ingest through a pipeline: one batch is appended while the next is filled.
  const auto start = std::chrono::steady_clock::now();
  {
    merkql::ProducerPipeline pipeline(broker);
    merkql::RecordBatch batch("sensors");
    std::string value;
    for (uint64_t i = 0; i < records; ++i) {
      value.clear();
      fmt::format_to(std::back_inserter(value), R"({{"sensor":"s-{}","temp":{:.1f},"ts":{}}})",
                     i % 16, 20.0 + std::fmod(i * 0.1, 20.0), 1700000000 + i);
      batch.add(std::nullopt, value);
      if (batch.size() == batch_size || i + 1 == records) {
        if (!pipeline.submit(batch).is_ok()) {
          break; // finish() reports the error
        }
      }
    }
    if (merkql::Status status = pipeline.finish(); !status.is_ok()) {
      fmt::print(stderr, "append failed: {}\n", status.message());
      std::exit(1);
    }
  }
  const double write_s = seconds_since(start);
  // The sizes of every file in the directory.
  const uint64_t bytes = merkql::disk_usage(*broker).value().file_bytes();
  auto usage = p->usage().value();

  const auto read_start = std::chrono::steady_clock::now();
  merkql::PartitionReader reader(p);
  std::vector<merkql::Record> out;
  uint64_t read = 0;
  while (read < records) {
    out.clear();
    read += reader.read(read, records, 10000, out).value();
  }
  const double read_s = seconds_since(read_start);

  fmt::print(
    "{:<5} {:>9} records, batch {:>5}: {:>9} bytes = {:5.2f} B/record "
    "(log {:.2f}, index {:.2f}, tree {:.2f}); append {:>9.0f} rec/s; read {:>9.0f} rec/s\n",
    merkql::compression_name(compression), records, batch_size, bytes, double(bytes) / records,
    double(usage.records_bytes) / records, double(usage.index_bytes) / records,
    double(usage.tree_bytes) / records, records / write_s, records / read_s);
  std::filesystem::remove_all(std::filesystem::path(dir).parent_path());
}

// Durable single-record sends, as the reference measured them (256-byte
// values, one fsync each).
void run_single_sends(uint64_t records)
{
  char tmpl[] = "/tmp/merkql-bench-XXXXXX";
  std::string dir = std::string(mkdtemp(tmpl)) + "/data";
  merkql::BrokerConfig config;
  config.dir = dir;
  auto broker = merkql::Broker::open(config).value();
  merkql::Producer producer = broker->producer();
  merkql::ProducerRecord record;
  record.topic = "single";
  record.value = std::string(256, 'v');
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < records; ++i) {
    if (!producer.send(record).is_ok()) {
      fmt::print(stderr, "send failed\n");
      std::exit(1);
    }
  }
  const double s = seconds_since(start);
  fmt::print("send   {:>9} records of 256 B, one fsync each: {:.1f} us/record\n", records,
             s * 1e6 / records);
  std::filesystem::remove_all(std::filesystem::path(dir).parent_path());
}

} // namespace

int main(int argc, char** argv)
{
  const uint64_t records = argc > 1 ? std::stoull(argv[1]) : 100000;
  const size_t batch = argc > 2 ? std::stoul(argv[2]) : 1000;
  struct utsname u;
  uname(&u);
  fmt::print("machine: {} {} {}, {}, {} cores\n", u.sysname, u.release, u.machine, cpu_model(),
             std::thread::hardware_concurrency());
  fmt::print("record: {}\n", R"({"sensor":"s-3","temp":20.3,"ts":1700000003})");
  run(merkql::Compression::lz4, records, batch);
  run(merkql::Compression::none, records, batch);
  run_single_sends(2000);
}
