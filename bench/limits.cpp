// merkql_limits: what this machine allows, measured without merkql, so that
// bench/run can state every merkql figure as a ratio to a limit taken in the
// same run. Each probe prints one line "name value unit" on stdout:
//   fsync  DIR N   fdatasync floors: 100 bytes written and synced in place on
//                  a file whose size and space were set ahead (fallocate, mode
//                  0), the same on a file first written whole and synced
//                  (overwrite), and appended to a growing file
//   hash   FILE    SHA-256 per record of FILE's lines as merkql hashes them:
//                  the record encoding (docs/FORMAT.md §Record hash), its
//                  44-byte leaf and one 84-byte branch (a tree of n leaves
//                  has n - 1 branches), with OpenSSL's low-level API
//   lz4    FILE    LZ4 compression and decompression of FILE's bytes in
//                  64 KiB blocks (the log's default block size)
// hash and lz4 count this thread's CPU time, the fsync probes wall time.
// Standalone: links OpenSSL and liblz4 only, never the library.
#define OPENSSL_API_COMPAT 0x10100000L

#include <openssl/sha.h>

#include <lz4.h>

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t)
{
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The CPU time of this thread: what hashing and compressing cost, however
// busy the machine is with other work (wall time would count waiting for a
// core).
double cpu_seconds()
{
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

[[noreturn]] void die(const char* what)
{
  std::perror(what);
  std::exit(1);
}

void print(const char* name, double value, const char* unit)
{
  std::printf("%s %.4f %s\n", name, value, unit);
}

// Microseconds per (pwrite of 100 bytes + fdatasync), each record after the
// last: in place when the file already spans them, appended when it grows.
double sync_loop(int fd, int n)
{
  char record[100];
  std::memset(record, 'r', sizeof record);
  const auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    if (pwrite(fd, record, sizeof record, off_t{i} * off_t{sizeof record}) != sizeof record) {
      die("pwrite");
    }
    if (fdatasync(fd) != 0) {
      die("fdatasync");
    }
  }
  return seconds_since(start) * 1e6 / n;
}

int open_fresh(const std::string& path)
{
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    die("open");
  }
  return fd;
}

void probe_fsync(const std::string& dir, int n)
{
  const off_t size = off_t{n} * 100 + 4096;
  const std::string path = dir + "/merkql-limits.sync";

  int fd = open_fresh(path);
  if (posix_fallocate(fd, 0, size) != 0 || fsync(fd) != 0) {
    die("posix_fallocate");
  }
  print("fsync_preallocated_us", sync_loop(fd, n), "us");
  close(fd);

  fd = open_fresh(path);
  std::vector<char> zeros(static_cast<size_t>(size), 0);
  if (pwrite(fd, zeros.data(), zeros.size(), 0) != static_cast<ssize_t>(zeros.size())
      || fsync(fd) != 0) {
    die("write ahead");
  }
  print("fsync_overwrite_us", sync_loop(fd, n), "us");
  close(fd);

  fd = open_fresh(path);
  if (fsync(fd) != 0) {
    die("fsync");
  }
  print("fsync_growing_us", sync_loop(fd, n), "us");
  close(fd);
  unlink(path.c_str());
}

std::vector<std::string> read_lines(const std::string& path)
{
  std::ifstream in(path);
  if (!in) {
    die(path.c_str());
  }
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(line);
  }
  return lines;
}

void put_u64(std::string& out, uint64_t v)
{
  for (int i = 0; i < 8; ++i) {
    out.push_back(static_cast<char>(v >> (8 * i)));
  }
}

void put_str(std::string& out, std::string_view s)
{
  put_u64(out, s.size());
  out.append(s);
}

// The key the workload's lines carry: the value of "sensor".
std::string_view sensor_of(std::string_view line)
{
  const size_t at = line.find("\"sensor\":\"");
  if (at == std::string_view::npos) {
    return {};
  }
  const size_t from = at + 10;
  return line.substr(from, line.find('"', from) - from);
}

void probe_hash(const std::string& path)
{
  const std::vector<std::string> lines = read_lines(path);
  if (lines.empty()) {
    die("no lines");
  }
  // The encodings, built ahead: only hashing is timed. The timestamp has
  // nanoseconds, the longest form (a produced record's arrival time).
  std::vector<std::string> encodings;
  encodings.reserve(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string e;
    const std::string_view key = sensor_of(lines[i]);
    e.push_back(1);
    put_str(e, key);
    put_str(e, lines[i]);
    put_str(e, "bench");
    e.append(4, '\0');
    put_u64(e, i);
    put_str(e, "2026-11-27T16:51:00.123456789Z");
    encodings.push_back(std::move(e));
  }
  unsigned char leaf[44] = {};
  unsigned char branch[84] = {};
  unsigned char digest[32];
  SHA256_CTX ctx;
  const double start = cpu_seconds();
  for (size_t i = 0; i < encodings.size(); ++i) {
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, encodings[i].data(), encodings[i].size());
    SHA256_Final(leaf + 4, &ctx);
    std::memcpy(leaf + 36, &i, 8);
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, leaf, sizeof leaf);
    SHA256_Final(digest, &ctx);
    std::memcpy(branch + 4 + (i & 1) * 32, digest, 32);
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, branch, sizeof branch);
    SHA256_Final(digest, &ctx);
  }
  const double s = cpu_seconds() - start;
  volatile unsigned char sink = digest[0];
  (void)sink;
  print("sha256_record_leaf_tree_ns", s * 1e9 / encodings.size(), "ns/record");
}

void probe_lz4(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string data = buffer.str();
  const size_t records = std::max<size_t>(1, std::count(data.begin(), data.end(), '\n'));
  constexpr size_t k_block = 64 << 10;
  const size_t blocks = (data.size() + k_block - 1) / k_block;
  std::vector<std::vector<char>> compressed(blocks);
  double start = cpu_seconds();
  size_t compressed_bytes = 0;
  for (size_t b = 0; b < blocks; ++b) {
    const size_t size = std::min(k_block, data.size() - b * k_block);
    compressed[b].resize(static_cast<size_t>(LZ4_compressBound(static_cast<int>(size))));
    const int n =
      LZ4_compress_default(data.data() + b * k_block, compressed[b].data(), static_cast<int>(size),
                           static_cast<int>(compressed[b].size()));
    if (n <= 0) {
      die("LZ4_compress_default");
    }
    compressed[b].resize(static_cast<size_t>(n));
    compressed_bytes += static_cast<size_t>(n);
  }
  const double compress_s = cpu_seconds() - start;
  std::vector<char> out(k_block);
  start = cpu_seconds();
  for (size_t b = 0; b < blocks; ++b) {
    if (LZ4_decompress_safe(compressed[b].data(), out.data(),
                            static_cast<int>(compressed[b].size()), static_cast<int>(out.size()))
        < 0) {
      die("LZ4_decompress_safe");
    }
  }
  const double decompress_s = cpu_seconds() - start;
  const double mb = double(data.size()) / 1e6;
  print("lz4_compress_mb_s", mb / compress_s, "MB/s");
  print("lz4_decompress_mb_s", mb / decompress_s, "MB/s");
  print("lz4_compress_ns", compress_s * 1e9 / double(records), "ns/record");
  print("lz4_decompress_ns", decompress_s * 1e9 / double(records), "ns/record");
  print("lz4_bytes_per_record", double(compressed_bytes) / double(records), "B/record");
}

int usage()
{
  std::fprintf(stderr, "usage: merkql_limits fsync DIR N | hash FILE | lz4 FILE\n");
  return 2;
}

} // namespace

int main(int argc, char** argv)
{
  if (argc < 3) {
    return usage();
  }
  const std::string probe = argv[1];
  if (probe == "fsync" && argc == 4) {
    probe_fsync(argv[2], std::max(1, std::atoi(argv[3])));
  } else if (probe == "hash") {
    probe_hash(argv[2]);
  } else if (probe == "lz4") {
    probe_lz4(argv[2]);
  } else {
    return usage();
  }
  return 0;
}
