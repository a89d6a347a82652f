// merkql_figures: the library-level figures bench/run reports beside the
// command line's, each printed as one line "name value unit" on stdout:
//   send  DIR FILE N      durable Producer::send of one record, N times (the
//                         first N lines of FILE, keyed by "sensor"): us/record
//   proof DIR TOPIC N     make_record_proof + verify_record_proof of N offsets
//                         spread over partition 0 of TOPIC: us each, and each
//                         part apart
//   open  DIR TOPIC N     Broker::open + topic + partition 0 + next_offset,
//                         N times: us each (the smallest, and the mean)
// DIR for proof and open is a data directory bench/run filled with merkql
// produce; send creates topic "send" in DIR.
#include <merkql/merkql.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double micros_since(Clock::time_point t)
{
  return std::chrono::duration<double, std::micro>(Clock::now() - t).count();
}

template<class T> T check(merkql::Result<T> r, const char* what)
{
  if (!r.is_ok()) {
    std::fprintf(stderr, "merkql_figures: %s: %s\n", what, r.status().message().c_str());
    std::exit(1);
  }
  return std::move(*r);
}

void check(const merkql::Status& s, const char* what)
{
  if (!s.is_ok()) {
    std::fprintf(stderr, "merkql_figures: %s: %s\n", what, s.message().c_str());
    std::exit(1);
  }
}

void print(const char* name, double value, const char* unit)
{
  std::printf("%s %.3f %s\n", name, value, unit);
}

std::string sensor_of(const std::string& line)
{
  const size_t at = line.find("\"sensor\":\"");
  if (at == std::string::npos) {
    return {};
  }
  const size_t from = at + 10;
  return line.substr(from, line.find('"', from) - from);
}

void figure_send(const std::string& dir, const std::string& file, int n)
{
  std::ifstream in(file);
  std::vector<merkql::ProducerRecord> records;
  std::string line;
  while (static_cast<int>(records.size()) < n + 1 && std::getline(in, line)) {
    records.emplace_back("send", sensor_of(line), line);
    records.back().value_is_json = true;
  }
  if (records.size() < 2) {
    std::fprintf(stderr, "merkql_figures: %s: too few lines\n", file.c_str());
    std::exit(1);
  }
  auto broker = check(merkql::Broker::open(merkql::BrokerConfig(dir)), "open");
  merkql::Producer producer = broker->producer();
  check(producer.send(records[0]), "send"); // creates the topic: not timed
  const auto start = Clock::now();
  for (size_t i = 1; i < records.size(); ++i) {
    check(producer.send(records[i]), "send");
  }
  print("send_us", micros_since(start) / double(records.size() - 1), "us");
}

merkql::Partition* partition_zero(merkql::Broker& broker, const std::string& topic)
{
  merkql::Topic* t = check(broker.topic(topic), "topic");
  return check(t->partition(0), "partition");
}

void figure_proof(const std::string& dir, const std::string& topic, int n)
{
  merkql::BrokerConfig config(dir);
  config.create = merkql::Create::no;
  auto broker = check(merkql::Broker::open(config), "open");
  merkql::Partition* p = partition_zero(*broker, topic);
  const uint64_t size = check(p->next_offset(), "next_offset");
  if (size == 0) {
    std::fprintf(stderr, "merkql_figures: partition 0 of %s is empty\n", topic.c_str());
    std::exit(1);
  }
  // Offsets spread over the whole log, the same each run (a multiplicative
  // step coprime with most sizes), so each proof meets a cold chunk.
  std::vector<uint64_t> offsets;
  for (int i = 0; i < n; ++i) {
    offsets.push_back((uint64_t(i) * 2654435761u + 12345) % size);
  }
  check(merkql::make_record_proof(*p, offsets[0]), "proof"); // opens files: not timed
  double generate_us = 0;
  double verify_us = 0;
  for (uint64_t offset : offsets) {
    auto t = Clock::now();
    const merkql::RecordProof proof = check(merkql::make_record_proof(*p, offset), "proof");
    generate_us += micros_since(t);
    t = Clock::now();
    check(merkql::verify_record_proof(proof), "verify");
    verify_us += micros_since(t);
  }
  print("proof_records", double(size), "records");
  print("proof_us", (generate_us + verify_us) / n, "us");
  print("proof_generate_us", generate_us / n, "us");
  print("proof_verify_us", verify_us / n, "us");
}

void figure_open(const std::string& dir, const std::string& topic, int n)
{
  merkql::BrokerConfig config(dir);
  config.create = merkql::Create::no;
  double best = 1e300;
  double total = 0;
  uint64_t records = 0;
  for (int i = 0; i < n; ++i) {
    const auto t = Clock::now();
    auto broker = check(merkql::Broker::open(config), "open");
    records = check(partition_zero(*broker, topic)->next_offset(), "next_offset");
    const double us = micros_since(t);
    best = std::min(best, us);
    total += us;
  }
  print("open_records", double(records), "records");
  print("open_us", best, "us");
  print("open_mean_us", total / n, "us");
}

int usage()
{
  std::fprintf(stderr, "usage: merkql_figures send DIR FILE N | proof DIR TOPIC N | "
                       "open DIR TOPIC N\n");
  return 2;
}

} // namespace

int main(int argc, char** argv)
{
  if (argc != 5) {
    return usage();
  }
  const std::string what = argv[1];
  const int n = std::max(1, std::atoi(argv[4]));
  if (what == "send") {
    figure_send(argv[2], argv[3], n);
  } else if (what == "proof") {
    figure_proof(argv[2], argv[3], n);
  } else if (what == "open") {
    figure_open(argv[2], argv[3], n);
  } else {
    return usage();
  }
  return 0;
}
