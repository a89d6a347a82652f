// The file layer: every operating-system call merkql makes goes through Env.
// The engine receives an Env* (default: Env::posix()); tests substitute one
// that drops unsynced data or fails the Nth call (tests/support/fault_env.h).
// Env::posix() is stateless and thread-safe; a File is used by one thread at a
// time; a FileLock excludes other processes and other FileLocks of this one.
#pragma once

#include <merkql/status.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace merkql {

enum class Create { no, if_missing };
enum class Wait { no, yes };
enum class LockMode { shared, exclusive };

// An open file addressed by absolute position (pread/pwrite).
class File {
public:
  virtual ~File() = default;
  // Reads up to n bytes at pos into out; fewer only at end of file.
  virtual Result<size_t> read_at(uint64_t pos, size_t n, char* out) = 0;
  virtual Status write_at(uint64_t pos, std::string_view data) = 0;
  // Makes every byte written so far durable (fdatasync).
  virtual Status sync() = 0;
  virtual Result<uint64_t> size() = 0;
  virtual Status truncate(uint64_t size) = 0;
  // Reserves disk space for [pos, pos+len) without changing the file size.
  virtual Status preallocate(uint64_t pos, uint64_t len) = 0;
  virtual const std::string& path() const = 0;

  // Reads exactly n bytes or fails with corruption (short file).
  Status read_exact(uint64_t pos, size_t n, char* out);
};

// An advisory lock on a file, held until destruction.
class FileLock {
public:
  virtual ~FileLock() = default;
};

class Env {
public:
  virtual ~Env() = default;
  static Env* posix();

  // Opens for reading and writing (Create::if_missing creates it).
  virtual Result<std::unique_ptr<File>> open_file(const std::string& path, Create create) = 0;
  // Opens read-only.
  virtual Result<std::unique_ptr<File>> open_read_only(const std::string& path) = 0;
  virtual Status rename(const std::string& from, const std::string& to) = 0;
  virtual Status remove(const std::string& path) = 0;
  // Makes the directory's entries (creations, renames, removals) durable.
  virtual Status sync_dir(const std::string& path) = 0;
  // Creates one directory level; ok if it exists.
  virtual Status create_dir(const std::string& path) = 0;
  virtual Result<std::vector<std::string>> list_dir(const std::string& path) = 0;
  virtual bool exists(const std::string& path) = 0;
  virtual bool is_dir(const std::string& path) = 0;
  // Size of a file without opening it.
  virtual Result<uint64_t> file_size(const std::string& path) = 0;
  // Takes an advisory lock on path (created if missing). With Wait::no a lock
  // held elsewhere gives Status::busy.
  virtual Result<std::unique_ptr<FileLock>> lock_file(const std::string& path, LockMode mode,
                                                      Wait wait) = 0;
  // Wall clock, nanoseconds since the Unix epoch.
  virtual int64_t now_ns() = 0;
  virtual void sleep_ms(int ms) = 0;
};

// Reads a whole (small) file.
Result<std::string> read_file(Env* env, const std::string& path);

} // namespace merkql
