// Consistency proof benchmark: the largest proof (in hashes) over every
// from-size for a few tree sizes, and the time to build a proof from a
// partition's stored nodes and to verify it, beside its peer measured in the
// same run: what an auditor without a proof does, replaying the whole log
// (audit_partition: read and hash every record, rebuild the tree).
// Usage: merkql_consistency_bench [RECORDS=1000000]
#include <merkql/merkql.h>

#include <fmt/format.h>

#include <sys/utsname.h>
#include <unistd.h>

#include <bit>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

namespace {

double micros_since(std::chrono::steady_clock::time_point t)
{
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t).count();
}

template<class T> T check(merkql::Result<T> r)
{
  if (!r.is_ok()) {
    fmt::print(stderr, "error: {}\n", r.status().message());
    std::exit(1);
  }
  return std::move(*r);
}

// "CPU model, N cores, kernel RELEASE" of the machine this runs on.
std::string machine()
{
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  std::string model = "unknown CPU";
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  utsname u{};
  uname(&u);
  return fmt::format("{}, {} cores, kernel {}", model, sysconf(_SC_NPROCESSORS_ONLN), u.release);
}

} // namespace

int main(int argc, char** argv)
{
  using namespace merkql;
  const uint64_t records = argc > 1 ? std::stoull(argv[1]) : 1000000;
  fmt::print("machine: {}\n", machine());

  for (uint64_t n : {uint64_t{1000}, uint64_t{1000000}, uint64_t{1000000000}}) {
    uint64_t largest = 0;
    uint64_t at = 0;
    for (uint64_t m = 1; m <= n; ++m) {
      const uint64_t size = consistency_proof_size(m, n);
      if (size > largest) {
        largest = size;
        at = m;
      }
    }
    fmt::print("N = {}: at most {} hashes (reached at M = {}; bound bit_width(N) + 1 = {}); "
               "M = N/2: {}, M = N-1: {}\n",
               n, largest, at, std::bit_width(n) + 1, consistency_proof_size(n / 2, n),
               consistency_proof_size(n - 1, n));
  }

  char tmpl[] = "/tmp/merkql-consistency-bench-XXXXXX";
  if (!mkdtemp(tmpl)) {
    return 1;
  }
  const std::string dir = tmpl;
  {
    auto p = check(Partition::open(Env::posix(), dir, "bench", 0, {}));
    std::vector<std::string> values;
    std::vector<AppendInput> batch;
    for (uint64_t first = 0; first < records; first += 1000) {
      values.clear();
      batch.clear();
      const uint64_t count = std::min<uint64_t>(1000, records - first);
      for (uint64_t i = 0; i < count; ++i) {
        values.push_back(fmt::format(R"({{"i":{}}})", first + i));
      }
      for (const std::string& v : values) {
        batch.push_back(AppendInput{std::nullopt, v, int64_t{1700000000} * 1000000000});
      }
      check(p->append(batch));
    }
    const Hash to_root = *check(p->merkle_root());
    for (uint64_t m : std::set<uint64_t>{1, records / 3, records / 2, records - 1}) {
      if (m == 0 || m > records) {
        continue;
      }
      const Hash from_root = *check(p->merkle_root_at(m));
      auto t = std::chrono::steady_clock::now();
      const ConsistencyProof proof = check(p->consistency_proof(m));
      const double build = micros_since(t);
      t = std::chrono::steady_clock::now();
      constexpr int k_rounds = 1000;
      bool ok = true;
      for (int i = 0; i < k_rounds; ++i) {
        ok = ok && verify_consistency(proof, from_root, to_root);
      }
      const double verify = micros_since(t) / k_rounds;
      fmt::print("M = {}, N = {}: {} hashes, built in {:.0f} us from stored nodes, verified in "
                 "{:.1f} us ({})\n",
                 m, records, proof.hashes.size(), build, verify, ok ? "valid" : "INVALID");
    }
    // The peer: checking the same claim by replaying the log.
    const auto t = std::chrono::steady_clock::now();
    const AuditReport report = check(audit_partition(*p));
    const double replay = micros_since(t);
    fmt::print("peer: replaying all {} records (audit_partition) takes {:.0f} ms ({})\n",
               report.records_checked, replay / 1000, report.ok() ? "ok" : report.problem);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
