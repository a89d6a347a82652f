// The reference IoT sensor pipeline (SCENARIO.md) against the library API.
// Usage: sensor_pipeline [DIR]   (default: a fresh directory under /tmp)
#include <merkql/merkql.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

namespace {

template<class T> T check(merkql::Result<T> result, const char* what)
{
  if (!result.is_ok()) {
    fmt::print(stderr, "sensor_pipeline: {}: {}\n", what, result.status().message());
    std::exit(1);
  }
  return std::move(result).value();
}

void check(const merkql::Status& status, const char* what)
{
  if (!status.is_ok()) {
    fmt::print(stderr, "sensor_pipeline: {}: {}\n", what, status.message());
    std::exit(1);
  }
}

// Adds one reading, keyed by its sensor, to a batch for the "sensors" topic.
void add_reading(merkql::RecordBatch& batch, int sensor, double temp, int64_t ts)
{
  const std::string id = fmt::format("sensor-{}", static_cast<char>('a' + sensor));
  nlohmann::ordered_json value = {{"temp", temp}, {"ts", ts}};
  batch.add(id, value.dump());
}

void add_first_reading(merkql::RecordBatch& batch, int i)
{
  add_reading(batch, i % 4, 20.0 + std::fmod(i * 0.1, 20.0), 1700000000 + i);
}

std::string sensor_of(const merkql::Record& r)
{
  return r.key.value_or("?");
}

} // namespace

int main(int argc, char** argv)
{
  std::string dir;
  if (argc > 1) {
    dir = argv[1];
  } else {
    char tmpl[] = "/tmp/merkql-sensors-XXXXXX";
    if (!mkdtemp(tmpl)) {
      fmt::print(stderr, "sensor_pipeline: cannot create a directory under /tmp\n");
      return 1;
    }
    dir = tmpl;
  }

  merkql::BrokerConfig config(dir);
  config.compression = merkql::Compression::lz4;
  config.default_retention = merkql::RetentionConfig{.max_records = 500};
  {
    auto broker = check(merkql::Broker::open(config), "open");
    // Ingest in batches of 100 through a pipeline: one batch is appended
    // (one fsync) while the next is filled.
    merkql::ProducerPipeline pipeline(broker);
    merkql::RecordBatch batch("sensors");
    for (int i = 0; i < 1000; ++i) {
      add_first_reading(batch, i);
      if (batch.size() == 100) {
        check(pipeline.submit(batch), "submit");
      }
    }
    check(pipeline.finish(), "ingest");

    // Group "analytics": statistics per sensor.
    auto analytics =
      check(broker->consumer({"analytics", false, merkql::OffsetReset::earliest}), "consumer");
    check(analytics->subscribe({"sensors"}), "subscribe");
    auto records = check(analytics->poll(), "poll");
    fmt::print("Polled {} records.\n", records.size());
    struct Stats {
      double min = 1e9, max = -1e9, sum = 0;
      int count = 0;
    };
    std::map<std::string, Stats> stats;
    for (const auto& r : records) {
      double temp = nlohmann::json::parse(r.value)["temp"].get<double>();
      Stats& s = stats[sensor_of(r)];
      s.min = std::min(s.min, temp);
      s.max = std::max(s.max, temp);
      s.sum += temp;
      s.count++;
    }
    for (const auto& [sensor, s] : stats) {
      fmt::print("{}: min={:.1f}, max={:.1f}, avg={:.1f} ({} readings)\n", sensor, s.min, s.max,
                 s.sum / s.count, s.count);
    }
    check(analytics->commit_sync(), "commit");
    check(analytics->close(), "close");

    // Group "alerts": readings above 35.0.
    auto alerts =
      check(broker->consumer({"alerts", false, merkql::OffsetReset::earliest}), "consumer");
    check(alerts->subscribe({"sensors"}), "subscribe");
    records = check(alerts->poll(), "poll");
    int total = 0;
    for (const auto& r : records) {
      auto value = nlohmann::json::parse(r.value);
      double temp = value["temp"].get<double>();
      if (temp > 35.0) {
        if (++total <= 5) {
          fmt::print("ALERT: {} temp={:.1f} at ts={}\n", sensor_of(r), temp,
                     value["ts"].get<int64_t>());
        }
      }
    }
    if (total > 5) {
      fmt::print("... and {} more alerts\n", total - 5);
    }
    fmt::print("Total alerts: {} out of {} readings\n", total, records.size());
    check(alerts->close(), "close");
  }

  // A restart: reopen the directory.
  auto broker = check(merkql::Broker::open(config), "reopen");
  auto analytics =
    check(broker->consumer({"analytics", false, merkql::OffsetReset::earliest}), "consumer");
  check(analytics->subscribe({"sensors"}), "subscribe");
  auto records = check(analytics->poll(), "poll");
  fmt::print("After reopen, analytics polled {} records.\n", records.size());

  merkql::RecordBatch batch("sensors");
  for (int j = 0; j < 100; ++j) {
    add_reading(batch, j % 4, 25.0 + std::fmod(j * 0.2, 10.0), 1700001100 + j);
  }
  check(broker->producer().send(batch), "send");
  records = check(analytics->poll(), "poll");
  fmt::print("After 100 more readings, analytics polled {} records.\n", records.size());
  check(analytics->commit_sync(), "commit");
  check(analytics->close(), "close");

  // The sizes of every file in the directory, groups included.
  const uint64_t bytes = check(merkql::disk_usage(*broker), "disk usage").file_bytes();
  fmt::print("Data directory: {:.1f} KiB ({} bytes) for 1100 records\n", bytes / 1024.0, bytes);
  return 0;
}
