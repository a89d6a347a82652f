// Record proofs (merkql/proof.h): a proof built from a partition verifies
// with no storage, and every field of it is covered, so tampering with any
// one is caught.
#include "support/test_dir.h"

#include <merkql/merkql.h>

#include <filesystem>

using namespace merkql;
using merkql::test::TestDir;
using merkql::test::unwrap;

namespace {

// A partition of 11 records (keys on the even offsets) and the proof of
// offset 6 in its tree of 10.
RecordProof sample_proof(const TestDir& dir)
{
  std::filesystem::create_directories(dir.path());
  auto p = unwrap(Partition::open(Env::posix(), dir.path(), "t", 3, {}));
  std::vector<std::string> values, keys;
  for (int i = 0; i < 11; ++i) {
    values.push_back(R"({"i":)" + std::to_string(i) + "}");
    keys.push_back("clé-" + std::to_string(i));
  }
  std::vector<AppendInput> in;
  for (size_t i = 0; i < values.size(); ++i) {
    AppendInput a;
    if (i % 2 == 0) {
      a.key = keys[i];
    }
    a.value = values[i];
    a.timestamp = int64_t{1700000000} * 1000000000 + static_cast<int64_t>(i);
    in.push_back(a);
  }
  (void)unwrap(p->append(in));
  return unwrap(make_record_proof(*p, 6, 10));
}

Hash flipped(Hash h)
{
  h[31] ^= 1;
  return h;
}

} // namespace

TEST_SUITE_BEGIN("merkql::RecordProof");

TEST_CASE("a proof built from a partition verifies, also against its root as trusted")
{
  TestDir dir;
  const RecordProof p = sample_proof(dir);
  CHECK(p.record.offset == 6);
  CHECK(p.record.topic == "t");
  CHECK(p.record.partition == 3);
  CHECK(p.record.value == R"({"i":6})");
  CHECK(p.proof.tree_size == 10);
  CHECK(!p.proof.siblings.empty());
  CHECK(verify_record_proof(p).is_ok());
  CHECK(verify_record_proof(p, p.root).is_ok());
}

TEST_CASE("the proof of the whole log leads to the partition's root")
{
  TestDir dir;
  (void)sample_proof(dir);
  auto part = unwrap(Partition::open(Env::posix(), dir.path(), "t", 3, {}));
  const RecordProof p = unwrap(make_record_proof(*part, 4));
  CHECK(p.proof.tree_size == 11);
  CHECK(p.record.key == std::optional<std::string>("clé-4"));
  CHECK(p.root == *unwrap(part->merkle_root()));
  CHECK(verify_record_proof(p).is_ok());
}

TEST_CASE("an offset or tree size beyond the log is not found")
{
  TestDir dir;
  (void)sample_proof(dir);
  auto part = unwrap(Partition::open(Env::posix(), dir.path(), "t", 3, {}));
  CHECK(make_record_proof(*part, 11).status().is_not_found());
  CHECK(make_record_proof(*part, 4, 4).status().is_not_found());
  CHECK(make_record_proof(*part, 0, 12).status().is_not_found());
  CHECK(make_record_proof(*part, 3, 4).is_ok());
}

TEST_CASE("tampering with any field makes the proof fail")
{
  TestDir dir;
  const RecordProof good = sample_proof(dir);
  auto rejects = [&](std::string what, auto&& tamper, const char* reason) {
    CAPTURE(what);
    RecordProof p = good;
    tamper(p);
    const Status s = verify_record_proof(p);
    CHECK(s.is_corruption());
    CHECK(s.message().find(reason) != std::string::npos);
  };
  const char* no_match = "record hash does not match the record";
  rejects(
    "key", [](RecordProof& p) { p.record.key = "k"; }, no_match);
  rejects(
    "no key", [](RecordProof& p) { p.record.key.reset(); }, no_match);
  rejects(
    "value", [](RecordProof& p) { p.record.value = R"({"i":7})"; }, no_match);
  rejects(
    "topic", [](RecordProof& p) { p.record.topic = "u"; }, no_match);
  rejects(
    "partition", [](RecordProof& p) { p.record.partition = 2; }, no_match);
  rejects(
    "record offset", [](RecordProof& p) { p.record.offset = 7; }, no_match);
  rejects(
    "timestamp", [](RecordProof& p) { p.record.timestamp += 1; }, no_match);
  rejects(
    "record hash", [](RecordProof& p) { p.record_hash = flipped(p.record_hash); }, no_match);
  rejects(
    "leaf index", [](RecordProof& p) { p.proof.offset = 7; }, "not for the record's 6");
  rejects(
    "leaf hash", [](RecordProof& p) { p.proof.leaf_hash = flipped(p.proof.leaf_hash); },
    "leaf hash does not follow");
  rejects(
    "a sibling",
    [](RecordProof& p) { p.proof.siblings[0].hash = flipped(p.proof.siblings[0].hash); },
    "do not lead from the leaf to the root");
  rejects(
    "a sibling's side",
    [](RecordProof& p) {
      p.proof.siblings[0].side = p.proof.siblings[0].side == Side::left ? Side::right : Side::left;
    },
    "");
  rejects(
    "the last sibling", [](RecordProof& p) { p.proof.siblings.pop_back(); }, "");
  rejects(
    "tree size", [](RecordProof& p) { p.proof.tree_size = 9; }, "");
  rejects(
    "tree size", [](RecordProof& p) { p.proof.tree_size = 16; }, "");
  rejects(
    "root", [](RecordProof& p) { p.root = flipped(p.root); },
    "do not lead from the leaf to the root");
}

TEST_CASE("a proof that is sound in itself fails against another trusted root")
{
  TestDir dir;
  const RecordProof p = sample_proof(dir);
  const Status s = verify_record_proof(p, flipped(p.root));
  CHECK(s.is_corruption());
  CHECK(s.message()
        == "the proof leads to root " + to_hex(p.root) + ", not to the given root "
             + to_hex(flipped(p.root)));
}

TEST_CASE("a proof needs no storage: a hand-made one-record tree verifies")
{
  Record r;
  r.key = std::string("\xff\xfe", 2); // bytes an earlier build could store
  r.value = "v";
  r.topic = "t";
  r.offset = 0;
  RecordProof p;
  p.record = r;
  p.record_hash = record_hash(r);
  Sha256 ctx;
  p.proof.offset = 0;
  p.proof.tree_size = 1;
  p.proof.leaf_hash = leaf_hash(p.record_hash, 0, ctx);
  p.root = p.proof.leaf_hash;
  CHECK(verify_record_proof(p, p.root).is_ok());
}

TEST_SUITE_END();
