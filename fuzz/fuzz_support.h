// Helpers shared by the fuzz targets: a reader that turns the fuzzer's bytes
// into typed choices, a checked abort for broken invariants, and scratch
// directories on a tmpfs. Single-threaded, like the targets.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

namespace merkql::fuzz {

// Reads values from the front of the input; past its end every value is 0,
// so that any byte string is a valid program.
class FuzzInput {
public:
  FuzzInput(const uint8_t* data, size_t size)
    : m_data(reinterpret_cast<const char*>(data)), m_size(size)
  {}
  explicit FuzzInput(std::string_view bytes) : m_data(bytes.data()), m_size(bytes.size()) {}

  bool empty() const { return m_pos >= m_size; }
  size_t remaining() const { return m_size - m_pos; }

  uint8_t u8() { return empty() ? 0 : static_cast<uint8_t>(m_data[m_pos++]); }
  uint16_t u16() { return static_cast<uint16_t>(u8() | (u8() << 8)); }
  uint32_t u32() { return u16() | (uint32_t{u16()} << 16); }
  uint64_t u64() { return u32() | (uint64_t{u32()} << 32); }
  bool flag() { return u8() & 1; }

  // Up to n bytes (fewer at the end of the input).
  std::string_view bytes(size_t n)
  {
    n = std::min(n, remaining());
    std::string_view out(m_data + m_pos, n);
    m_pos += n;
    return out;
  }
  std::string_view rest() { return bytes(remaining()); }

private:
  const char* m_data;
  size_t m_size;
  size_t m_pos = 0;
};

// A broken invariant: report and abort, which the fuzzer records as a crash.
[[noreturn]] inline void fail(const char* what, const std::string& detail = {})
{
  std::fprintf(stderr, "fuzz invariant broken: %s %s\n", what, detail.c_str());
  std::abort();
}

#define MERKQL_FUZZ_CHECK(cond, ...)                                                               \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      ::merkql::fuzz::fail(#cond, ##__VA_ARGS__);                                                  \
    }                                                                                              \
  } while (0)

// A fresh directory under $TMPDIR, else /dev/shm (a tmpfs: fast), else /tmp,
// removed with everything in it when the process exits normally.
class ScratchDir {
public:
  explicit ScratchDir(const char* tag)
  {
    std::string base;
    if (const char* t = std::getenv("TMPDIR"); t && *t) {
      base = t;
    } else if (std::filesystem::is_directory("/dev/shm")) {
      base = "/dev/shm";
    } else {
      base = "/tmp";
    }
    std::string tmpl = base + "/merkql-fuzz-" + tag + "-XXXXXX";
    if (!mkdtemp(tmpl.data())) {
      std::perror("mkdtemp");
      std::abort();
    }
    m_path = tmpl;
  }
  ~ScratchDir()
  {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return m_path; }

private:
  std::string m_path;
};

} // namespace merkql::fuzz
