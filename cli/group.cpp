// merkql group: list, describe and delete consumer groups
// (man/merkql-group.1). The reports are the library's describe_groups, the
// deletion its delete_group; this file formats them.
#include "commands.h"

#include <fmt/format.h>

#include <iterator>

namespace merkql::cli {

CLI::App* add_group(CLI::App& app, GroupOptions& o, const GlobalOptions& global)
{
  o.global = &global;
  CLI::App* cmd = app.add_subcommand("group", "List, describe or delete consumer groups");
  cmd->require_subcommand(1);
  o.list = cmd->add_subcommand("list", "List the consumer groups");
  o.list->add_flag("--json", o.json, "Write one JSON document instead of text");
  o.describe = cmd->add_subcommand(
    "describe", "Show a group's committed offsets, lag and live members per partition");
  o.describe->add_option("-g,--group", o.group, "Consumer group to describe")->required();
  o.describe->add_flag("--json", o.json, "Write one JSON document instead of text");
  o.remove = cmd->add_subcommand("delete", "Delete a consumer group that has no live member");
  o.remove->add_option("-g,--group", o.group, "Consumer group to delete")->required();
  return cmd;
}

namespace {

std::string optional_number(const std::optional<uint64_t>& n, const char* none)
{
  return n ? std::to_string(*n) : std::string(none);
}

void append_members_json(std::string& out, const std::vector<GroupMember>& members)
{
  out += "[";
  for (size_t i = 0; i < members.size(); ++i) {
    out += i ? ",{\"id\":" : "{\"id\":";
    append_json_string(out, members[i].id);
    out += ",\"joined\":";
    if (members[i].joined_ns) {
      append_json_string(out, format_timestamp(*members[i].joined_ns));
    } else {
      out += "null";
    }
    out += "}";
  }
  out += "]";
}

int list_groups(const GroupOptions& o, Broker& broker)
{
  GroupQuery query;
  query.members = true;
  const auto groups = unwrap(describe_groups(broker, {}, query));
  std::string out;
  if (o.json) {
    out += "{\"groups\":[";
    for (size_t i = 0; i < groups.size(); ++i) {
      out += i ? ",{\"name\":" : "{\"name\":";
      append_json_string(out, groups[i].name);
      fmt::format_to(std::back_inserter(out), ",\"members\":{},\"partitions\":{}}}",
                     groups[i].members.size(), groups[i].offsets.size());
    }
    out += "]}\n";
  } else {
    for (const GroupDescription& g : groups) {
      out += g.name + "\n";
    }
  }
  write_stdout(out);
  return exit_ok;
}

int describe_group(const GroupOptions& o, Broker& broker)
{
  const std::vector<TopicDescription> topics = unwrap(describe_topics(broker));
  GroupQuery query;
  query.group = o.group;
  query.members = true;
  const auto groups = unwrap(describe_groups(broker, topics, query));
  const GroupDescription& g = groups.at(0);
  std::string out;
  if (o.json) {
    out += "{\"name\":";
    append_json_string(out, g.name);
    out += ",\"members\":";
    append_members_json(out, g.members);
    out += ",\"offsets\":[";
    for (size_t k = 0; k < g.offsets.size(); ++k) {
      const CommittedOffset& c = g.offsets[k];
      out += k ? ",{\"topic\":" : "{\"topic\":";
      append_json_string(out, c.partition.first);
      fmt::format_to(std::back_inserter(out),
                     ",\"partition\":{},\"committed\":{},\"end\":{},\"lag\":{},\"reading\":{}}}",
                     c.partition.second, c.committed, optional_number(c.end, "null"),
                     optional_number(c.lag, "null"), c.owned ? "true" : "false");
    }
    out += "]}\n";
  } else {
    out += fmt::format("group {}: {} live member{}\n", g.name, g.members.size(),
                       g.members.size() == 1 ? "" : "s");
    for (const GroupMember& m : g.members) {
      out += fmt::format("  member {}{}\n", m.id,
                         m.joined_ns ? " (joined " + format_timestamp(*m.joined_ns) + ")"
                                     : std::string());
    }
    if (g.offsets.empty()) {
      out += "  (no committed offsets)\n";
    } else {
      out += fmt::format("  {:<20}  {:>9}  {:>12}  {:>12}  {:>12}  {}\n", "topic", "partition",
                         "committed", "end", "lag", "reading");
    }
    for (const CommittedOffset& c : g.offsets) {
      out += fmt::format("  {:<20}  {:>9}  {:>12}  {:>12}  {:>12}  {}\n", c.partition.first,
                         c.partition.second, c.committed, optional_number(c.end, "?"),
                         optional_number(c.lag, "?"), c.owned ? "yes" : "no");
    }
  }
  write_stdout(out);
  return exit_ok;
}

} // namespace

int run_group(const GroupOptions& o)
{
  if (o.describe->parsed() || o.remove->parsed()) {
    require_name(o.group, "group");
  }
  if (o.remove->parsed()) {
    auto broker = open_broker(*o.global, Create::no);
    check(delete_group(*broker, o.group));
    write_stdout(fmt::format("deleted group {}\n", o.group));
    return exit_ok;
  }
  auto broker = open_broker(*o.global, Create::no, Repair::never);
  if (o.describe->parsed()) {
    return describe_group(o, *broker);
  }
  return list_groups(o, *broker);
}

} // namespace merkql::cli
