// Unit tests of the reader of kcat -J record lines and of its comparison
// with a proven record (cli/kafka_record.h).
#include "kafka_record.h"

#include <merkql/merkql.h>

#include <doctest/doctest.h>

#include <fcntl.h>
#include <string>
#include <unistd.h>
#include <vector>

using namespace merkql;
using namespace merkql::cli;

namespace {

// A line exactly as kcat 1.7.1 writes one (one JSON object, no spaces).
const std::string k_line =
  R"({"topic":"readings","partition":3,"offset":17,"tstype":"create","ts":1700000000500,)"
  R"("broker":1,"headers":["merkql.topic","readings","merkql.partition","3","merkql.offset",)"
  R"("41","merkql.timestamp","2023-11-14T22:13:20.500Z","other",null],"key":"k1",)"
  R"("payload":"{\"reading\":7}"})";

KafkaRecordLine parsed(const std::string& text)
{
  KafkaRecordRead read = parse_kafka_record_line(text);
  REQUIRE_MESSAGE(read.kind == KafkaRecordRead::Kind::ok, read.message);
  return read.line;
}

std::string refused(const std::string& text)
{
  KafkaRecordRead read = parse_kafka_record_line(text);
  REQUIRE(read.kind == KafkaRecordRead::Kind::invalid);
  CHECK(read.message.starts_with("not a kcat -J record line: "));
  return read.message;
}

// A proof of the record the line above carries (as a RecordProof; its tree
// is not used by kafka_record_mismatch).
RecordProof proof_of_line()
{
  RecordProof p;
  p.record.topic = "readings";
  p.record.partition = 3;
  p.record.offset = 41;
  p.record.timestamp = 1700000000500000000LL;
  p.record.key = "k1";
  p.record.value = R"({"reading":7})";
  p.record_hash = record_hash(p.record);
  return p;
}

ForwardedRecord rebuilt(const KafkaRecordLine& line)
{
  auto r = record_from_kafka(line.key, line.value.value_or(""), line.headers);
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  return std::move(r).value();
}

} // namespace

TEST_SUITE_BEGIN("cli::kafka_record");

TEST_CASE("a kcat -J line is read member by member")
{
  const KafkaRecordLine line = parsed(k_line + "\n");
  CHECK(*line.topic == "readings");
  CHECK(*line.partition == 3);
  CHECK(*line.offset == 17);
  CHECK(*line.tstype == "create");
  CHECK(*line.ts == 1700000000500LL);
  CHECK(*line.key == "k1");
  CHECK(*line.value == R"({"reading":7})");
  // The header with a null value is not a merkql one: dropped.
  REQUIRE(line.headers.size() == 4);
  CHECK(line.headers[0] == KafkaHeader{"merkql.topic", "readings"});
  CHECK(line.headers[3] == KafkaHeader{"merkql.timestamp", "2023-11-14T22:13:20.500Z"});

  const KafkaRecordLine nulls = parsed(R"({"key":null,"payload":null})");
  CHECK_FALSE(nulls.key);
  CHECK_FALSE(nulls.value);
  CHECK(nulls.headers.empty());
  CHECK_FALSE(nulls.topic);
  CHECK_FALSE(nulls.ts);
  // Escapes decode to the bytes they stand for.
  CHECK(*parsed(R"({"key":"a\u0000b","payload":"\u00e9\n"})").key == std::string("a\0b", 3));
  CHECK(*parsed(R"({"key":"a","payload":"\u00e9\n"})").value == "\xC3\xA9\n");
  CHECK(*parsed(R"({"key":"a","payload":"","ts":-5})").ts == -5);
}

TEST_CASE("what is not one kcat -J line is refused, naming why")
{
  CHECK(refused("").find("invalid JSON") != std::string::npos);
  CHECK(refused("{").find("invalid JSON") != std::string::npos);
  CHECK(refused("[]").find("not a JSON object") != std::string::npos);
  CHECK(refused(k_line + "\n" + k_line + "\n").find("invalid JSON") != std::string::npos);
  CHECK(refused(R"({"payload":"v"})").find("\"key\"") != std::string::npos);
  CHECK(
    refused(R"({"key":"k","payload":"v","payload":"w"})").find("\"payload\" appears more than once")
    != std::string::npos);
  CHECK(parsed(R"({"key":"k","payload":"v","x":{"a":1,"a":2},"y":[{"a":1},{"a":2}]})").value
        == "v");
  CHECK(refused(R"({"key":"k"})").find("\"payload\"") != std::string::npos);
  CHECK(refused(R"({"key":1,"payload":"v"})").find("\"key\"") != std::string::npos);
  CHECK(refused(R"({"key":"k","payload":["v"]})").find("\"payload\"") != std::string::npos);
  CHECK(refused(R"({"key":"k","payload":"v","partition":"3"})").find("\"partition\"")
        != std::string::npos);
  CHECK(refused(R"({"key":"k","payload":"v","offset":1.5})").find("\"offset\"")
        != std::string::npos);
  CHECK(refused(R"({"key":"k","payload":"v","offset":9223372036854775808})").find("\"offset\"")
        != std::string::npos);
  CHECK(refused(R"({"key":"k","payload":"v","ts":"1"})").find("\"ts\"") != std::string::npos);
  CHECK(refused(R"({"key":"k","payload":"v","topic":7})").find("\"topic\"") != std::string::npos);
  CHECK(refused(R"({"key":"k","payload":"v","headers":{}})").find("\"headers\"")
        != std::string::npos);
  CHECK(refused(R"({"key":"k","payload":"v","headers":["a"]})").find("\"headers\"")
        != std::string::npos);
  CHECK(refused(R"({"key":"k","payload":"v","headers":[1,"a"]})").find("\"headers\"")
        != std::string::npos);
  CHECK(refused(R"({"key":"k","payload":"v","headers":["merkql.offset",null]})")
          .find("merkql.offset has a null value")
        != std::string::npos);
  // kcat writes bytes that are not UTF-8 as they are: not JSON.
  CHECK(refused("{\"key\":\"k\",\"payload\":\"\xff\xfe\"}").find("not UTF-8") != std::string::npos);
  CHECK(refused(std::string("{\"key\":\"k\",\"payload\":\"a") + '\0' + "b\"}").find("NUL")
        != std::string::npos);
  CHECK(refused(std::string(600, '[') + std::string(600, ']')).find("nested deeper")
        != std::string::npos);
}

TEST_CASE("a kcat line is read from a descriptor up to a bound")
{
  char path[] = "/tmp/merkql-kafka-record-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, k_line.data(), k_line.size()) == static_cast<ssize_t>(k_line.size()));
  REQUIRE(::lseek(fd, 0, SEEK_SET) == 0);
  CHECK(read_kafka_record_fd(fd).kind == KafkaRecordRead::Kind::ok);
  REQUIRE(::lseek(fd, 0, SEEK_SET) == 0);
  const KafkaRecordRead small = read_kafka_record_fd(fd, k_line.size() - 1);
  CHECK(small.kind == KafkaRecordRead::Kind::invalid);
  CHECK(small.message.find("longer than") != std::string::npos);
  ::close(fd);
  ::unlink(path);
  CHECK(read_kafka_record_fd(-1).kind == KafkaRecordRead::Kind::io_error);
}

TEST_CASE("the Kafka record of a proven record matches it; each altered field is named")
{
  const RecordProof proof = proof_of_line();
  const KafkaRecordLine line = parsed(k_line);
  CHECK(kafka_record_mismatch(line, rebuilt(line), proof).empty());

  auto differs = [&](KafkaRecordLine l, const char* what) {
    const std::string m = kafka_record_mismatch(l, rebuilt(l), proof);
    CHECK_MESSAGE(m.starts_with(std::string(what) + " differs"), m);
  };
  auto with_header = [&](const char* name, const char* value) {
    KafkaRecordLine l = line;
    for (KafkaHeader& h : l.headers) {
      if (h.name == name) {
        h.value = value;
      }
    }
    return l;
  };
  differs(with_header("merkql.topic", "other"), "topic");
  differs(with_header("merkql.partition", "2"), "partition");
  differs(with_header("merkql.offset", "40"), "offset");
  differs(with_header("merkql.timestamp", "2023-11-14T22:13:20.501Z"), "timestamp");
  KafkaRecordLine l = line;
  l.ts = 1700000000501LL;
  differs(l, "timestamp");
  l.tstype = "logappend"; // the broker's clock, not the record's
  CHECK(kafka_record_mismatch(l, rebuilt(l), proof).empty());
  // A record of the first millisecond of 1970: librdkafka sends the time
  // of sending instead of 0, so that CreateTime is not compared.
  RecordProof epoch = proof;
  epoch.record.timestamp = 999999;
  epoch.record_hash = record_hash(epoch.record);
  l = with_header("merkql.timestamp", "1970-01-01T00:00:00.000999999Z");
  l.ts = 1700000000123LL;
  CHECK(kafka_record_mismatch(l, rebuilt(l), epoch).empty());
  epoch.record.timestamp = 1000000; // 1 ms: compared again
  epoch.record_hash = record_hash(epoch.record);
  l = with_header("merkql.timestamp", "1970-01-01T00:00:00.001Z");
  l.ts = 1700000000123LL;
  differs(l, "timestamp");
  l.ts = 1;
  CHECK(kafka_record_mismatch(l, rebuilt(l), epoch).empty());
  l = line;
  l.key = "k2";
  differs(l, "key");
  l.key = std::nullopt;
  differs(l, "key");
  l = line;
  l.value = R"({"reading":8})";
  differs(l, "value");
  l.value = std::nullopt;
  differs(l, "value");
  l = line;
  l.headers.push_back(KafkaHeader{"merkql.hash", std::string(64, '0')});
  differs(l, "hash");
  l.headers.back().value = to_hex(proof.record_hash);
  CHECK(kafka_record_mismatch(l, rebuilt(l), proof).empty());

  // A proof whose record hash is not its record's (verify-proof refuses
  // it before, but the comparison does not lean on that).
  RecordProof forged = proof;
  forged.record_hash = Hash{};
  const std::string m = kafka_record_mismatch(line, rebuilt(line), forged);
  CHECK_MESSAGE(m.starts_with("hash differs"), m);
}

TEST_SUITE_END();
