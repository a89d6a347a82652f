// Built against an installed merkql, through find_package(merkql) or
// `pkg-config --cflags --libs merkql`: the README's library example, as a
// user would write it, over a scratch directory. Prints the version from
// <merkql/version.h>, the pinned SHA-256 of "merk", then "example: ok".
#include <merkql/merkql.h>
#include <merkql/version.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

int readme_example(const std::string& dir)
{
  merkql::BrokerConfig config(dir);
  config.compression = merkql::Compression::lz4;
  config.default_retention = merkql::RetentionConfig{.max_records = 500}; // per partition
  auto broker = merkql::Broker::open(config).value();

  auto producer = broker->producer();
  auto meta = producer.send({"sensors", "sensor-a", R"({"temp":20.5})"}).value(); // durable

  auto consumer = broker->consumer({"analytics", false, merkql::OffsetReset::earliest}).value();
  if (!consumer->subscribe({"sensors"}))
    return 1; // a Status: ok, or why not
  size_t polled = 0;
  for (const merkql::Record& r : consumer->poll(std::chrono::milliseconds(100)).value()) {
    polled += r.value == R"({"temp":20.5})";
  }
  if (!consumer->commit_sync())
    return 1;

  auto* partition = broker->topic("sensors").value()->partition(meta.partition).value();
  auto proof = partition->proof(meta.offset).value();
  bool ok = merkql::verify_proof(proof, *partition->merkle_root().value()); // needs no storage
  return polled == 1 && ok ? 0 : 1;
}

} // namespace

int main(int argc, char** argv)
{
  std::printf("version %s\n", MERKQL_VERSION);
  std::printf("%s\n", merkql::to_hex(merkql::sha256("merk")).c_str());
  if (argc > 1) {
    if (readme_example(argv[1]) != 0) {
      return 1;
    }
    std::printf("example: ok\n");
  }
  return 0;
}
