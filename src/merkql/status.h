// Status and Result<T>: how every fallible library call reports failure.
// The library never throws across its API; callers branch on the code
// (is_corruption(), is_not_found(), ...) and show message() to people.
// Both types are plain values: safe to copy and move between threads.
#pragma once

#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace merkql {

class [[nodiscard]] Status {
public:
  enum class Code {
    ok = 0,
    not_found,        // no such topic, partition, offset or directory
    corruption,       // stored bytes fail a checksum or disagree with the tree
    io_error,         // the operating system refused an operation
    invalid_argument, // the caller asked for something malformed
    busy,             // a lock is held by another process (non-blocking mode)
    closed,           // the object was closed
    unavailable,      // a remote service (a Kafka cluster) could not be reached in time
  };

  Status() = default;

  static Status ok() { return Status(); }
  static Status not_found(std::string msg) { return {Code::not_found, std::move(msg)}; }
  static Status corruption(std::string msg) { return {Code::corruption, std::move(msg)}; }
  static Status io_error(std::string msg) { return {Code::io_error, std::move(msg)}; }
  static Status invalid_argument(std::string msg)
  {
    return {Code::invalid_argument, std::move(msg)};
  }
  static Status busy(std::string msg) { return {Code::busy, std::move(msg)}; }
  static Status closed(std::string msg) { return {Code::closed, std::move(msg)}; }
  static Status unavailable(std::string msg) { return {Code::unavailable, std::move(msg)}; }

  bool is_ok() const { return m_code == Code::ok; }
  explicit operator bool() const { return is_ok(); }
  bool is_not_found() const { return m_code == Code::not_found; }
  bool is_corruption() const { return m_code == Code::corruption; }
  bool is_io_error() const { return m_code == Code::io_error; }
  bool is_invalid_argument() const { return m_code == Code::invalid_argument; }
  bool is_busy() const { return m_code == Code::busy; }
  bool is_closed() const { return m_code == Code::closed; }
  bool is_unavailable() const { return m_code == Code::unavailable; }

  Code code() const { return m_code; }
  const std::string& message() const { return m_message; }

  // This status with "context: " before its message, its code kept (ok
  // stays ok): for naming the partition or file a failure came from.
  Status with_context(std::string_view context) const
  {
    if (is_ok()) {
      return *this;
    }
    std::string message(context);
    message += ": ";
    message += m_message;
    return Status(m_code, std::move(message));
  }

private:
  Status(Code code, std::string message) : m_code(code), m_message(std::move(message)) {}

  Code m_code = Code::ok;
  std::string m_message;
};

// A value or the Status explaining why there is none.
template<class T> class [[nodiscard]] Result {
public:
  Result(T value) : m_value(std::move(value)) {}
  Result(Status status) : m_status(std::move(status)) { assert(!m_status.is_ok()); }

  bool is_ok() const { return m_status.is_ok(); }
  explicit operator bool() const { return is_ok(); }
  const Status& status() const { return m_status; }

  // The value; on an error, prints the status message and aborts (in
  // every build), rather than reading a value that is not there.
  T& value() &
  {
    check_ok();
    return *m_value;
  }
  const T& value() const&
  {
    check_ok();
    return *m_value;
  }
  // Moves the value out, so `for (auto& r : consumer->poll().value())`
  // iterates a value the loop owns, not one inside a destroyed temporary.
  T value() &&
  {
    check_ok();
    return std::move(*m_value);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T operator*() && { return std::move(*this).value(); }

private:
  void check_ok() const
  {
    if (!m_status.is_ok()) {
      std::fprintf(stderr, "merkql: value() of a failed Result: %s\n", m_status.message().c_str());
      std::abort();
    }
  }

  Status m_status;
  std::optional<T> m_value;
};

} // namespace merkql

#define MERKQL_CONCAT_INNER(a, b) a##b
#define MERKQL_CONCAT(a, b) MERKQL_CONCAT_INNER(a, b)

// Return the Status of `expr` from the enclosing function if it is not ok.
#define MERKQL_TRY(expr)                                                                           \
  do {                                                                                             \
    ::merkql::Status merkql_try_status_ = (expr);                                                  \
    if (!merkql_try_status_.is_ok()) {                                                             \
      return merkql_try_status_;                                                                   \
    }                                                                                              \
  } while (false)

// Declare `lhs` from the value of the Result `expr`, or return its Status.
#define MERKQL_ASSIGN_OR_RETURN(lhs, expr)                                                         \
  MERKQL_ASSIGN_OR_RETURN_IMPL(MERKQL_CONCAT(merkql_result_, __LINE__), lhs, expr)
#define MERKQL_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)                                               \
  auto tmp = (expr);                                                                               \
  if (!tmp.is_ok()) {                                                                              \
    return tmp.status();                                                                           \
  }                                                                                                \
  lhs = std::move(tmp).value()
