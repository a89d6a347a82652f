// libFuzzer target: the proof-file reader and verifier (cli/proof_file.h).
// The input is a proof document; every outcome must be a verdict, never a
// crash, a hang or unbounded memory. A trusted root is passed for inputs
// with an odd first byte.
#include "proof_file.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace merkql::cli;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::optional<merkql::Hash> trusted;
  if (size > 0 && (data[0] & 1)) {
    trusted = merkql::Hash{};
  }
  const ProofVerdict verdict = check_proof_text(text, trusted);
  if (verdict.kind == ProofVerdict::Kind::io_error) {
    std::abort(); // no I/O happens on text in memory
  }
  return 0;
}
