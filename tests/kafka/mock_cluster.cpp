// merkql_mock_kafka: a Kafka cluster for the tests of merkql forward, in a
// process of its own. It is librdkafka's mock cluster (rdkafka_mock.h), which
// speaks the real Kafka wire protocol: the forwarder and kcat talk to it as
// to any cluster.
//
//   merkql_mock_kafka [TOPIC:PARTITIONS ...]
//
// It starts 3 brokers listening on 127.0.0.1, creates the topics given,
// prints the bootstrap list (host:port,host:port,host:port) as its first
// line on stdout, then reads commands on stdin, one per line, answering each
// with one line, "ok" or "error REASON":
//   down                       every broker drops its connections and refuses new ones
//   up                         every broker accepts connections again
//   create TOPIC PARTITIONS    creates a topic (replication factor 3)
// It exits, and the cluster with it, when stdin closes.
//
// What the mock of librdkafka 2.0.2 does, as checked against it with kcat:
// - a topic created here reports exactly its partitions in metadata, and
//   "create" of an existing topic answers an error;
// - a topic it does not know is created, with 4 partitions, by the first
//   metadata request naming it, whatever the client asked: kcat -P, kcat -C
//   (even with allow.auto.create.topics=false) and kcat -L -t NAME all
//   create it. So a missing Kafka topic cannot be shown with this mock; tests create
//   every topic they use, here or with "create", before any client names it;
// - "down" has no effect on leadership: partitions keep their leaders and
//   clients retry until "up";
// - it keeps only the last ~5 MiB of each partition, does not deduplicate
//   an idempotent producer's retried batches, answers offsets-for-times
//   with -1, and keeps nothing once this process exits. Tests do not rely
//   on any of these.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>

namespace {

constexpr int k_brokers = 3;

// Creates topic NAME with PARTITIONS partitions; false with a reason when it cannot.
bool create_topic(rd_kafka_mock_cluster_t* cluster, const std::string& name, int partitions,
                  std::string& error)
{
  if (name.empty() || partitions < 1) {
    error = "usage: create TOPIC PARTITIONS (PARTITIONS >= 1)";
    return false;
  }
  rd_kafka_resp_err_t err =
    rd_kafka_mock_topic_create(cluster, name.c_str(), partitions, k_brokers);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    error = rd_kafka_err2str(err);
    return false;
  }
  return true;
}

// Applies set_down or set_up to every broker (ids 1 to k_brokers).
bool set_brokers(rd_kafka_mock_cluster_t* cluster, bool up, std::string& error)
{
  for (int32_t id = 1; id <= k_brokers; ++id) {
    rd_kafka_resp_err_t err =
      up ? rd_kafka_mock_broker_set_up(cluster, id) : rd_kafka_mock_broker_set_down(cluster, id);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      error = rd_kafka_err2str(err);
      return false;
    }
  }
  return true;
}

// Runs one command line; false with a reason when it failed.
bool run_command(rd_kafka_mock_cluster_t* cluster, const std::string& line, std::string& error)
{
  std::istringstream in(line);
  std::string verb;
  in >> verb;
  if (verb == "down" || verb == "up")
    return set_brokers(cluster, verb == "up", error);
  if (verb == "create") {
    std::string name;
    int partitions = 0;
    in >> name >> partitions;
    return create_topic(cluster, name, partitions, error);
  }
  error = "unknown command (down, up, create TOPIC PARTITIONS)";
  return false;
}

} // namespace

int main(int argc, char** argv)
{
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The handle only hosts the cluster; it connects to nothing, and its notice
  // that no bootstrap.servers is configured is not logged.
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (rk == nullptr) {
    std::cerr << "merkql_mock_kafka: " << errstr << '\n';
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk, k_brokers);
  if (cluster == nullptr) {
    std::cerr << "merkql_mock_kafka: cannot start the mock cluster\n";
    rd_kafka_destroy(rk);
    return 1;
  }
  int status = 0;
  for (int i = 1; i < argc && status == 0; ++i) {
    std::string arg = argv[i];
    size_t colon = arg.rfind(':');
    std::string error = "expected TOPIC:PARTITIONS";
    if (colon == std::string::npos
        || !create_topic(cluster, arg.substr(0, colon), std::atoi(arg.c_str() + colon + 1),
                         error)) {
      std::cerr << "merkql_mock_kafka: " << arg << ": " << error << '\n';
      status = 2;
    }
  }
  if (status == 0) {
    std::cout << rd_kafka_mock_cluster_bootstraps(cluster) << std::endl;
    std::string line;
    while (std::getline(std::cin, line)) {
      if (line.empty())
        continue;
      std::string error;
      if (run_command(cluster, line, error))
        std::cout << "ok" << std::endl;
      else
        std::cout << "error " << error << std::endl;
    }
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return status;
}
