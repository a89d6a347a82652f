// Exit statuses of the merkql executable (see man/merkql.1, EXIT STATUS) and
// the one table mapping library Status codes to them.
#pragma once

#include <merkql/status.h>

#include <stdexcept>
#include <string>

namespace merkql::cli {

enum ExitCode : int {
  exit_ok = 0,
  exit_verify_failed = 1, // a proof or an audit did not verify
  exit_usage = 2,         // command line not understood, invalid name
  exit_records_lost = 3,  // merkql forward: retention removed records before they were forwarded
  exit_data_err = 65,     // EX_DATAERR: bad input data
  exit_no_input = 66,     // EX_NOINPUT: no such topic, partition, offset or directory
  exit_unavailable = 69,  // EX_UNAVAILABLE: Kafka unreachable, or built without Kafka support
  exit_io_err = 74,       // EX_IOERR: I/O error or corrupt data
  exit_temp_fail = 75,    // EX_TEMPFAIL: lock held and --no-wait given
};

inline int exit_code_for(Status::Code code)
{
  switch (code) {
  case Status::Code::ok:
    return exit_ok;
  case Status::Code::not_found:
    return exit_no_input;
  case Status::Code::corruption:
    return exit_io_err;
  case Status::Code::io_error:
    return exit_io_err;
  case Status::Code::invalid_argument:
    return exit_usage;
  case Status::Code::busy:
    return exit_temp_fail;
  case Status::Code::closed:
    return exit_io_err;
  case Status::Code::unavailable:
    return exit_unavailable;
  }
  return exit_io_err;
}

// Thrown inside cli/ to stop a command; main() prints it and exits with code.
// An empty message means the reason was already printed.
class Exit : public std::runtime_error {
public:
  Exit(int code, const std::string& message) : std::runtime_error(message), m_code(code) {}
  int code() const { return m_code; }

private:
  int m_code;
};

} // namespace merkql::cli
