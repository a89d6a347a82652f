// The reference IoT sensor pipeline (SCENARIO.md) against the library API,
// step by step as the seed's walkthrough: four sensors stream readings into
// one topic with LZ4 and a retention of 500 records; two consumer groups
// read it independently; the broker restarts and the groups resume exactly.
// Usage: sensor_pipeline [DIR]   (default: a fresh directory under /tmp)
#include <merkql/merkql.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

using namespace std::chrono_literals;

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

const char* const k_sensors[] = {"sensor-a", "sensor-b", "sensor-c", "sensor-d"};

// A reading for the "sensors" topic, keyed by its sensor: the key routes
// every reading of one sensor to the same partition, in order.
merkql::ProducerRecord reading(int sensor, double temp, int64_t ts)
{
  nlohmann::ordered_json value = {{"temp", temp}, {"ts", ts}};
  merkql::ProducerRecord record("sensors", k_sensors[sensor], value.dump());
  record.value_is_json = true; // consume prints it as JSON
  return record;
}

merkql::ProducerRecord first_reading(int i)
{
  return reading(i % 4, 20.0 + std::fmod(i * 0.1, 20.0), 1700000000 + i);
}

merkql::ConsumerConfig group(const char* id)
{
  merkql::ConsumerConfig config;
  config.group_id = id;
  config.auto_commit = false;
  config.offset_reset = merkql::OffsetReset::earliest;
  return config;
}

std::string sensor_of(const merkql::Record& r)
{
  return r.key.value_or("unknown");
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

  // Step 1: configure the broker. BrokerConfig(path) has the seed's
  // defaults (topics created on first use, one partition each).
  merkql::BrokerConfig config(dir);
  config.compression = merkql::Compression::lz4;
  config.default_retention = merkql::RetentionConfig{.max_records = 500};
  {
    auto broker = check(merkql::Broker::open(config), "open");
    auto producer = broker->producer();

    // Step 2: 200 readings one at a time, each durable (one fsync) when
    // send returns.
    for (int i = 0; i < 200; ++i) {
      check(producer.send(first_reading(i)), "send");
    }

    // Step 3: 800 more in 8 batches of 100, one fsync per batch.
    for (int batch_num = 0; batch_num < 8; ++batch_num) {
      std::vector<merkql::ProducerRecord> batch;
      for (int j = 0; j < 100; ++j) {
        batch.push_back(first_reading(200 + batch_num * 100 + j));
      }
      check(producer.send_batch(batch), "send_batch");
    }

    // Step 4: group "analytics" reads from the earliest retained record:
    // retention keeps the newest 500 visible. Statistics per sensor, then
    // commit and close.
    auto analytics = check(broker->consumer(group("analytics")), "consumer");
    check(analytics->subscribe({"sensors"}), "subscribe");
    auto records = check(analytics->poll(100ms), "poll");
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

    // Step 5: group "alerts" reads the same records independently and
    // alerts on readings above 35.0.
    auto alerts = check(broker->consumer(group("alerts")), "consumer");
    check(alerts->subscribe({"sensors"}), "subscribe");
    records = check(alerts->poll(100ms), "poll");
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
  } // the broker is closed here

  // Step 6: a restart: reopen the same directory. Topics, trees and
  // committed offsets are all on disk.
  auto broker = check(merkql::Broker::open(config), "reopen");

  // Step 7: "analytics" resumes at its committed offset: nothing new yet.
  auto analytics = check(broker->consumer(group("analytics")), "consumer");
  check(analytics->subscribe({"sensors"}), "subscribe");
  auto records = check(analytics->poll(100ms), "poll");
  fmt::print("After reopen, analytics polled {} records.\n", records.size());

  // Step 8: 100 more readings; "analytics" gets exactly those.
  std::vector<merkql::ProducerRecord> more;
  for (int j = 0; j < 100; ++j) {
    more.push_back(reading(j % 4, 25.0 + std::fmod(j * 0.2, 10.0), 1700001100 + j));
  }
  check(broker->producer().send_batch(more), "send_batch");
  records = check(analytics->poll(100ms), "poll");
  fmt::print("After 100 more readings, analytics polled {} records.\n", records.size());
  check(analytics->commit_sync(), "commit");
  check(analytics->close(), "close");

  // Step 9: the size of every file in the directory, groups included.
  const uint64_t bytes = check(merkql::disk_usage(*broker), "disk usage").file_bytes();
  fmt::print("Data directory: {:.1f} KiB ({} bytes) for 1100 records\n", bytes / 1024.0, bytes);
  return 0;
}
