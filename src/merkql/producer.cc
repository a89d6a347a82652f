#include <merkql/broker.h>
#include <merkql/producer.h>

#include <fmt/format.h>

#include <map>

namespace merkql {

Result<RecordMetadata> Producer::send(const ProducerRecord& record)
{
  MERKQL_ASSIGN_OR_RETURN(auto batch, send_batch({record}));
  return std::move(batch.front());
}

Result<std::vector<RecordMetadata>> Producer::send_batch(const std::vector<ProducerRecord>& records)
{
  // Group by (topic, partition), keeping each group's order.
  struct Group {
    Partition* partition;
    std::vector<AppendInput> inputs;
    std::vector<size_t> positions;
  };
  std::map<std::pair<std::string, uint32_t>, Group> groups;
  for (size_t i = 0; i < records.size(); ++i) {
    const ProducerRecord& r = records[i];
    MERKQL_ASSIGN_OR_RETURN(Topic * topic, m_broker->topic_or_create(r.topic));
    std::optional<std::string_view> key;
    if (r.key) {
      key = *r.key;
    }
    uint32_t p = r.partition ? *r.partition : topic->route(key);
    MERKQL_ASSIGN_OR_RETURN(Partition * partition, topic->partition(p));
    Group& g = groups[{r.topic, p}];
    g.partition = partition;
    g.inputs.push_back(AppendInput{key, r.value, r.timestamp, r.value_is_json});
    g.positions.push_back(i);
  }
  std::vector<RecordMetadata> out(records.size());
  for (auto& [tp, g] : groups) {
    MERKQL_ASSIGN_OR_RETURN(auto appended, g.partition->append(g.inputs));
    for (size_t k = 0; k < appended.size(); ++k) {
      out[g.positions[k]] = RecordMetadata{tp.first, tp.second, appended[k].offset,
                                           appended[k].timestamp, appended[k].record_hash};
    }
  }
  return out;
}

} // namespace merkql
