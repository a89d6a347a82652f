// libFuzzer target: the proof-file reader and verifier (cli/proof_file.h).
// The input is a proof document; every outcome must be a verdict, never a
// crash, a hang or unbounded memory. A trusted root is passed for inputs
// with an odd first byte. Every document that reads as a proof must read
// back the same after write_proof_json: the writer and the reader agree.
#include "proof_file.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace merkql::cli;

namespace {

bool same(const merkql::RecordProof& a, const merkql::RecordProof& b)
{
  return a.record == b.record && a.record_hash == b.record_hash && a.root == b.root
         && a.proof.offset == b.proof.offset && a.proof.tree_size == b.proof.tree_size
         && a.proof.leaf_hash == b.proof.leaf_hash && a.proof.siblings == b.proof.siblings;
}

} // namespace

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
  const ProofRead read = read_proof_text(text);
  if (read.kind == ProofRead::Kind::ok) {
    const ProofRead again = read_proof_text(write_proof_json(read.proof));
    if (again.kind != ProofRead::Kind::ok || !same(again.proof, read.proof)) {
      std::abort(); // the writer wrote what the reader takes differently
    }
  }
  return 0;
}
