// Every value in the golden vectors produced by the reference merkql.
#include "support/test_dir.h"

#include <merkql/merkql.h>

#include <nlohmann/json.hpp>

#include <fstream>

using namespace merkql;
using merkql::test::golden_dir;
using nlohmann::json;

namespace {

json load(const std::string& name)
{
  std::ifstream in(golden_dir() + "/" + name);
  REQUIRE(in.good());
  return json::parse(in);
}

std::string hex(std::string_view bytes)
{
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

Hash h(const json& j)
{
  return *hash_from_hex(j.get<std::string>());
}

} // namespace

TEST_SUITE_BEGIN("golden");

TEST_CASE("pinned hashes from COMPAT")
{
  CHECK(to_hex(sha256("merk"))
        == "357d3a1111b12e15ea855ff09a8bc0b20a814667dd56d15ab90fe6667f17e9da");
  Record r{std::string("golden-key"), R"({"n":42})", "golden", 1, 7, 1700000000LL * 1000000000LL};
  CHECK(to_hex(record_hash(r))
        == "1acc6b28eef646fde3348f1eea22a50895605e60a49d929333abdca695b16787");
}

TEST_CASE("record encodings, hashes, timestamps and routing")
{
  json doc = load("records.json");
  REQUIRE(doc["records"].size() >= 10);
  for (const json& g : doc["records"]) {
    CAPTURE(g["hash_hex"].get<std::string>());
    Record r;
    if (!g["key"].is_null()) {
      r.key = g["key"].get<std::string>();
    }
    r.value = g["value"].get<std::string>();
    r.topic = g["topic"].get<std::string>();
    r.partition = g["partition"].get<uint32_t>();
    r.offset = g["offset"].get<uint64_t>();
    r.timestamp = g["timestamp_secs"].get<int64_t>() * 1000000000LL
                  + g["timestamp_subsec_nanos"].get<int64_t>();
    CHECK(format_timestamp(r.timestamp) == g["timestamp_string"].get<std::string>());
    CHECK(parse_timestamp(g["timestamp_string"].get<std::string>()).value() == r.timestamp);
    CHECK(hex(encode_record(r)) == g["bincode_hex"].get<std::string>());
    CHECK(encode_record(r).size() == g["bincode_len"].get<size_t>());
    CHECK(to_hex(record_hash(r)) == g["hash_hex"].get<std::string>());
    // The writer's path: a stored view hashed where its block lives, with
    // the hasher's cached timestamp text both fresh and reused.
    StoredRecordView view{r.key, r.value, r.timestamp};
    RecordHasher hasher(r.topic, r.partition);
    Sha256 ctx;
    CHECK(to_hex(hasher.hash(view, r.offset, ctx)) == g["hash_hex"].get<std::string>());
    CHECK(to_hex(hasher.hash(view, r.offset, ctx)) == g["hash_hex"].get<std::string>());
    CHECK(to_hex(record_hash(view, r.topic, r.partition, r.offset, ctx))
          == g["hash_hex"].get<std::string>());
    if (!g["key_routing"].is_null()) {
      const json& routing = g["key_routing"];
      CHECK(to_hex(sha256(*r.key)) == routing["key_sha256"].get<std::string>());
      for (auto& [count, partition] : routing["partition_if_num_partitions"].items()) {
        CHECK(route_key(*r.key, static_cast<uint32_t>(std::stoul(count)))
              == partition.get<uint32_t>());
      }
    }
  }
}

TEST_CASE("leaf and branch encodings")
{
  json doc = load("tree.json");
  Sha256 ctx;
  for (const json& leaf : doc["leaves"]) {
    Hash rh = h(leaf["record_hash"]);
    uint64_t offset = leaf["offset"].get<uint64_t>();
    CHECK(to_hex(sha256("record-" + std::to_string(offset))) == to_hex(rh));
    CHECK(hex(leaf_node_bytes(rh, offset)) == leaf["leaf_node_hex"].get<std::string>());
    CHECK(to_hex(leaf_hash(rh, offset, ctx)) == leaf["leaf_hash"].get<std::string>());
  }
  const json& example = doc["node_encoding"]["branch_example"];
  Hash l = h(doc["leaves"][0]["leaf_hash"]);
  Hash r = h(doc["leaves"][1]["leaf_hash"]);
  CHECK(hex(branch_node_bytes(l, r, 0, 1)) == example["hex"].get<std::string>());
  CHECK(to_hex(branch_hash(l, r, 0, 1, ctx)) == example["hash"].get<std::string>());
}

TEST_CASE("roots and peaks for every size 1..37")
{
  json doc = load("tree.json");
  Sha256 ctx;
  MerkleAccumulator tree;
  size_t checked = 0;
  for (const json& leaf : doc["leaves"]) {
    tree.append(h(leaf["leaf_hash"]), ctx);
    const json& expected = doc["roots"][tree.size() - 1];
    REQUIRE(expected["n"].get<uint64_t>() == tree.size());
    CHECK(to_hex(*tree.root(ctx)) == expected["root"].get<std::string>());
    const json& pending = expected["pending_after_append"];
    REQUIRE(pending.size() == tree.peaks().size());
    for (size_t i = 0; i < pending.size(); ++i) {
      const Peak& peak = tree.peaks()[i];
      CHECK(to_hex(peak.hash) == pending[i]["hash"].get<std::string>());
      CHECK(peak.node.height == pending[i]["height"].get<uint32_t>());
      CHECK(peak.node.min_offset() == pending[i]["min_offset"].get<uint64_t>());
      CHECK(peak.node.max_offset() == pending[i]["max_offset"].get<uint64_t>());
    }
    ++checked;
  }
  CHECK(checked == 37);
}

TEST_CASE("full proofs match the reference and verify without storage")
{
  json doc = load("tree.json");
  Sha256 ctx;
  std::vector<Hash> leaves;
  for (const json& leaf : doc["leaves"]) {
    leaves.push_back(h(leaf["leaf_hash"]));
  }
  for (auto& [size_text, proofs] : doc["proofs"].items()) {
    const uint64_t n = std::stoull(size_text);
    // Build the reference tree of n leaves to answer node lookups.
    auto node = [&](const NodeId& id) -> Result<Hash> {
      MerkleAccumulator sub;
      for (uint64_t o = id.min_offset(); o <= id.max_offset(); ++o) {
        sub.append(leaves[o], ctx);
      }
      // A perfect subtree's root is its only peak; offsets inside differ from
      // a standalone tree, so recompute with the true offsets.
      std::vector<Hash> level(leaves.begin() + static_cast<long>(id.min_offset()),
                              leaves.begin() + static_cast<long>(id.max_offset() + 1));
      uint64_t width = 1;
      while (level.size() > 1) {
        std::vector<Hash> up;
        for (size_t i = 0; i < level.size(); i += 2) {
          uint64_t lo = id.min_offset() + i * width;
          up.push_back(branch_hash(level[i], level[i + 1], lo, lo + 2 * width - 1, ctx));
        }
        level = up;
        width *= 2;
      }
      return level[0];
    };
    for (const json& expected : proofs) {
      const uint64_t offset = expected["offset"].get<uint64_t>();
      CAPTURE(n);
      CAPTURE(offset);
      InclusionProof proof = make_proof(offset, n, leaves[offset], node, ctx).value();
      REQUIRE(proof.siblings.size() == expected["siblings"].size());
      for (size_t i = 0; i < proof.siblings.size(); ++i) {
        CHECK(to_hex(proof.siblings[i].hash) == expected["siblings"][i][0].get<std::string>());
        CHECK(side_name(proof.siblings[i].side) == expected["siblings"][i][1].get<std::string>());
      }
      CHECK(to_hex(proof.leaf_hash) == expected["leaf_hash"].get<std::string>());
      CHECK(verify_proof(proof, h(expected["root"])));
      // The reference's own proof, taken as data, verifies too.
      InclusionProof theirs;
      theirs.offset = offset;
      theirs.tree_size = n;
      theirs.leaf_hash = h(expected["leaf_hash"]);
      for (const json& s : expected["siblings"]) {
        theirs.siblings.push_back(
          ProofSibling{h(s[0]), s[1].get<std::string>() == "Left" ? Side::left : Side::right});
      }
      CHECK(verify_proof(theirs, h(expected["root"])));
      Hash wrong = h(expected["root"]);
      wrong[0] ^= 1;
      CHECK_FALSE(verify_proof(theirs, wrong));
    }
  }
}

TEST_SUITE_END();
