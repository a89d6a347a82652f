// TestDir: a fresh temporary directory per test, removed afterwards.
#pragma once

#include <merkql/merkql.h>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace merkql::test {

class TestDir {
public:
  TestDir()
  {
    char tmpl[] = "/tmp/merkql-test-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    m_path = tmpl;
  }
  ~TestDir()
  {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  TestDir(const TestDir&) = delete;
  TestDir& operator=(const TestDir&) = delete;

  const std::string& path() const { return m_path; }
  std::string data() const { return m_path + "/data"; }

private:
  std::string m_path;
};

// Unwraps a Result in a test, failing with its message.
template<class T> T unwrap(Result<T> result)
{
  if (!result.is_ok()) {
    FAIL("unexpected error: " << result.status().message());
  }
  return std::move(result).value();
}

inline void require_ok(const Status& status)
{
  if (!status.is_ok()) {
    FAIL("unexpected error: " << status.message());
  }
}

inline std::string read_bytes(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void write_bytes(const std::string& path, const std::string& data)
{
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

// XORs n bytes of a file at offset with 0xff (leveldb's corruption helper).
inline void corrupt(const std::string& path, uint64_t offset, size_t n)
{
  std::string data = read_bytes(path);
  for (size_t i = 0; i < n && offset + i < data.size(); ++i) {
    data[offset + i] = static_cast<char>(data[offset + i] ^ 0xff);
  }
  write_bytes(path, data);
}

inline std::string golden_dir()
{
  return MERKQL_GOLDEN_DIR;
}

} // namespace merkql::test
