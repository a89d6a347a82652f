#include <merkql/atomic_file.h>
#include <merkql/coding.h>
#include <merkql/filename.h>
#include <merkql/format.h>
#include <merkql/group.h>

#include <fmt/format.h>

#include <algorithm>
#include <random>

namespace merkql {

using namespace format;

std::string encode_group_offsets(const std::map<TopicPartition, uint64_t>& offsets)
{
  std::string out;
  put_u32(out, k_offsets_magic);
  put_u32(out, k_format_version);
  put_u32(out, static_cast<uint32_t>(offsets.size()));
  for (const auto& [tp, offset] : offsets) {
    out.push_back(static_cast<char>(tp.first.size() & 0xff));
    out.push_back(static_cast<char>(tp.first.size() >> 8));
    out.append(tp.first);
    put_u32(out, tp.second);
    put_u64(out, offset);
  }
  put_u32(out, crc32c(out));
  return out;
}

Result<std::map<TopicPartition, uint64_t>> decode_group_offsets(std::string_view bytes)
{
  if (bytes.size() < 16 || get_u32(bytes.data()) != k_offsets_magic) {
    return Status::corruption("not a group offsets file");
  }
  if (get_u32(bytes.data() + bytes.size() - 4) != crc32c(bytes.data(), bytes.size() - 4)) {
    return Status::corruption("group offsets fail their checksum");
  }
  if (get_u32(bytes.data() + 4) != k_format_version) {
    return Status::corruption("unsupported group offsets version");
  }
  const uint32_t count = get_u32(bytes.data() + 8);
  if (count > k_max_group_offsets) {
    return Status::corruption("group offsets claim more entries than a group can hold");
  }
  std::map<TopicPartition, uint64_t> out;
  size_t pos = 12;
  const size_t end = bytes.size() - 4;
  for (uint32_t i = 0; i < count; ++i) {
    if (pos + 2 > end) {
      return Status::corruption("group offsets are truncated");
    }
    size_t len = static_cast<uint8_t>(bytes[pos]) | (static_cast<uint8_t>(bytes[pos + 1]) << 8);
    pos += 2;
    if (pos + len + 12 > end) {
      return Status::corruption("group offsets are truncated");
    }
    std::string topic(bytes.substr(pos, len));
    pos += len;
    uint32_t partition = get_u32(bytes.data() + pos);
    uint64_t offset = get_u64(bytes.data() + pos + 4);
    pos += 12;
    out[{topic, partition}] = offset;
  }
  if (pos != end) {
    return Status::corruption("trailing bytes in group offsets");
  }
  return out;
}

GroupOffsets::GroupOffsets(Env* env, std::string dir, std::string group, Wait lock_wait)
  : m_env(env), m_dir(std::move(dir)), m_group(std::move(group)), m_lock_wait(lock_wait)
{}

Result<std::map<TopicPartition, uint64_t>> GroupOffsets::load()
{
  const std::string path = group_offsets_file(m_dir, m_group);
  auto opened = m_env->open_read_only(path);
  if (!opened.is_ok()) {
    if (opened.status().is_not_found()) {
      return std::map<TopicPartition, uint64_t>{};
    }
    return opened.status();
  }
  File& file = **opened;
  // The entry count in the header bounds the size before a buffer the size
  // of the file is allocated (a damaged OFFSETS may claim any size).
  MERKQL_ASSIGN_OR_RETURN(uint64_t size, file.size());
  char header[12];
  if (size < 16) {
    return Status::corruption(fmt::format("{}: not a group offsets file", path));
  }
  MERKQL_TRY(file.read_exact(0, sizeof header, header));
  if (get_u32(header) != k_offsets_magic) {
    return Status::corruption(fmt::format("{}: not a group offsets file", path));
  }
  const uint32_t count = get_u32(header + 8);
  if (count > k_max_group_offsets) {
    return Status::corruption(fmt::format("{}: claims {} offsets, more than a group can hold ({})",
                                          path, count, k_max_group_offsets));
  }
  const uint64_t bound = 16 + uint64_t{count} * k_max_group_offset_entry_size;
  if (size > bound) {
    return Status::corruption(fmt::format(
      "{}: {} bytes, larger than {} offsets can take (at most {})", path, size, count, bound));
  }
  std::string bytes(size, '\0');
  MERKQL_TRY(file.read_exact(0, size, bytes.data()));
  auto decoded = decode_group_offsets(bytes);
  if (!decoded.is_ok()) {
    return Status::corruption(fmt::format("{}: {}", path, decoded.status().message()));
  }
  return decoded;
}

Status GroupOffsets::commit(const std::map<TopicPartition, uint64_t>& offsets)
{
  if (offsets.empty()) {
    return Status::ok();
  }
  const std::string gdir = group_dir(m_dir, m_group);
  if (!m_env->is_dir(gdir)) {
    MERKQL_TRY(m_env->create_dir(gdir));
    MERKQL_TRY(m_env->sync_dir(groups_dir(m_dir)));
  }
  MERKQL_ASSIGN_OR_RETURN(
    auto lock, m_env->lock_file(group_lock_file(m_dir, m_group), LockMode::exclusive, m_lock_wait));
  MERKQL_ASSIGN_OR_RETURN(auto merged, load());
  bool changed = false;
  for (const auto& [tp, offset] : offsets) {
    auto it = merged.find(tp);
    if (it == merged.end() || it->second != offset) {
      merged[tp] = offset;
      changed = true;
    }
  }
  if (!changed) {
    return Status::ok();
  }
  if (merged.size() > k_max_group_offsets) {
    return Status::invalid_argument(fmt::format(
      "group {} would hold offsets for {} partitions, more than the {} a group can hold", m_group,
      merged.size(), k_max_group_offsets));
  }
  return write_file_atomically(m_env, group_offsets_file(m_dir, m_group),
                               encode_group_offsets(merged));
}

Status GroupOffsets::forget_topic(const std::string& topic)
{
  if (!m_env->is_dir(group_dir(m_dir, m_group))) {
    return Status::ok();
  }
  MERKQL_ASSIGN_OR_RETURN(
    auto lock, m_env->lock_file(group_lock_file(m_dir, m_group), LockMode::exclusive, m_lock_wait));
  MERKQL_ASSIGN_OR_RETURN(auto offsets, load());
  const size_t before = offsets.size();
  std::erase_if(offsets, [&](const auto& entry) { return entry.first.first == topic; });
  if (offsets.size() == before) {
    return Status::ok();
  }
  return write_file_atomically(m_env, group_offsets_file(m_dir, m_group),
                               encode_group_offsets(offsets));
}

// ---------------------------------------------------------------------------

namespace {

enum class RemoveDead { no, yes };

// The members of group whose files are locked (self, when given, counts
// without a probe), sorted; the files of dead ones are removed when asked.
Result<std::vector<std::string>> probe_members(Env* env, const std::string& dir,
                                               const std::string& group, const std::string& self,
                                               RemoveDead remove_dead)
{
  const std::string members = group_members_dir(dir, group);
  MERKQL_ASSIGN_OR_RETURN(auto names, env->list_dir(members));
  std::vector<std::string> live;
  for (const std::string& name : names) {
    if (is_temp_file_name(name)) {
      continue;
    }
    if (!self.empty() && name == self) {
      live.push_back(name);
      continue;
    }
    auto probe = env->lock_file(members + "/" + name, LockMode::exclusive, Wait::no);
    if (probe.is_ok()) {
      // Nobody holds it: that member is gone.
      if (remove_dead == RemoveDead::yes) {
        (void)env->remove(members + "/" + name);
      }
      continue;
    }
    if (probe.status().is_busy()) {
      live.push_back(name);
    }
  }
  std::sort(live.begin(), live.end());
  return live;
}

// Creates the group's directory and its owners/ directory. The group
// directory must be durable before anything is committed in it: a commit
// that finds it in place does not sync groups/ again.
Status create_group_dirs(Env* env, const std::string& dir, const std::string& group)
{
  MERKQL_TRY(env->create_dir(group_dir(dir, group)));
  MERKQL_TRY(env->sync_dir(groups_dir(dir)));
  return env->create_dir(group_owners_dir(dir, group));
}

} // namespace

GroupMembership::GroupMembership(Env* env, std::string dir, std::string group)
  : m_env(env), m_dir(std::move(dir)), m_group(std::move(group))
{}

GroupMembership::~GroupMembership()
{
  m_owned.clear();
  if (m_member_lock) {
    (void)m_env->remove(group_members_dir(m_dir, m_group) + "/" + m_member_id);
    m_member_lock.reset();
  }
}

Result<std::unique_ptr<GroupMembership>> GroupMembership::join(Env* env, std::string dir,
                                                               std::string group)
{
  std::unique_ptr<GroupMembership> m(new GroupMembership(env, std::move(dir), std::move(group)));
  MERKQL_TRY(create_group_dirs(env, m->m_dir, m->m_group));
  MERKQL_TRY(env->create_dir(group_members_dir(m->m_dir, m->m_group)));
  std::random_device rd;
  m->m_member_id = fmt::format("{:020}-{:08x}", env->now_ns(), rd());
  // Lock under a temporary name, then rename into place, so no other member
  // ever sees the file unlocked and takes it for dead.
  const std::string members = group_members_dir(m->m_dir, m->m_group);
  const std::string tmp = members + "/" + m->m_member_id + ".tmp";
  MERKQL_ASSIGN_OR_RETURN(m->m_member_lock, env->lock_file(tmp, LockMode::exclusive, Wait::no));
  MERKQL_TRY(env->rename(tmp, members + "/" + m->m_member_id));
  return m;
}

Result<std::unique_ptr<GroupMembership>> GroupMembership::open_owner(Env* env, std::string dir,
                                                                     std::string group)
{
  std::unique_ptr<GroupMembership> m(new GroupMembership(env, std::move(dir), std::move(group)));
  MERKQL_TRY(create_group_dirs(env, m->m_dir, m->m_group));
  return m;
}

Result<std::vector<std::string>> GroupMembership::live_members()
{
  return probe_members(m_env, m_dir, m_group, m_member_id, RemoveDead::yes);
}

Result<std::vector<std::string>> live_group_members(Env* env, const std::string& dir,
                                                    const std::string& group)
{
  if (!env->is_dir(group_members_dir(dir, group))) {
    return std::vector<std::string>{};
  }
  return probe_members(env, dir, group, {}, RemoveDead::no);
}

std::optional<int64_t> member_join_time(std::string_view member_id)
{
  if (member_id.size() < 21 || member_id[20] != '-') {
    return std::nullopt;
  }
  int64_t ns = 0;
  for (size_t i = 0; i < 20; ++i) {
    const char c = member_id[i];
    if (c < '0' || c > '9' || ns > (INT64_MAX - 9) / 10) {
      return std::nullopt;
    }
    ns = ns * 10 + (c - '0');
  }
  return ns;
}

Result<bool> partition_owned(Env* env, const std::string& dir, const std::string& group,
                             const TopicPartition& tp)
{
  const std::string path = group_owner_file(dir, group, tp.first);
  if (!env->exists(path)) {
    return false;
  }
  auto locks = env->open_byte_locks(path);
  if (!locks.is_ok()) {
    // Not writable here (a read-only mount): then no process can hold it
    // either, as taking the lock needs the file open for writing.
    return false;
  }
  MERKQL_ASSIGN_OR_RETURN(bool free, (*locks)->try_lock(tp.second));
  if (free) {
    (*locks)->unlock(tp.second);
  }
  return !free;
}

Status delete_group_dir(Env* env, const std::string& dir, const std::string& group, Wait lock_wait,
                        const std::function<Status()>& check_idle)
{
  const std::string gdir = group_dir(dir, group);
  if (!env->is_dir(gdir)) {
    return Status::not_found(fmt::format("no group {}", group));
  }
  MERKQL_ASSIGN_OR_RETURN(
    auto lock, env->lock_file(group_lock_file(dir, group), LockMode::exclusive, lock_wait));
  MERKQL_TRY(check_idle());
  // OFFSETS first: from then on the group has nothing committed.
  if (Status s = env->remove(group_offsets_file(dir, group)); !s.is_ok() && !s.is_not_found()) {
    return s;
  }
  MERKQL_TRY(env->sync_dir(gdir));
  for (const std::string& sub : {group_members_dir(dir, group), group_owners_dir(dir, group)}) {
    if (!env->is_dir(sub)) {
      continue;
    }
    MERKQL_ASSIGN_OR_RETURN(auto names, env->list_dir(sub));
    for (const std::string& name : names) {
      MERKQL_TRY(env->remove(sub + "/" + name));
    }
    MERKQL_TRY(env->remove_dir(sub));
  }
  MERKQL_ASSIGN_OR_RETURN(auto rest, env->list_dir(gdir));
  for (const std::string& name : rest) {
    MERKQL_TRY(env->remove(gdir + "/" + name)); // LOCK (held: the lock goes with the inode)
  }
  if (Status s = env->remove_dir(gdir); !s.is_ok()) {
    return Status::busy(fmt::format(
      "group {} changed while it was being deleted (a process joined it?); run the deletion "
      "again: {}",
      group, s.message()));
  }
  return env->sync_dir(groups_dir(dir));
}

Status GroupMembership::set_topics(const std::vector<std::string>& topics)
{
  if (topics == m_topics) {
    return Status::ok();
  }
  std::string text;
  for (const std::string& topic : topics) {
    text += topic;
    text += '\n';
  }
  // Not synced: a member file lives no longer than its process. When it
  // cannot be written (a full disk) it is left empty: the member then counts
  // as reading every topic, which delays other members' partitions until it
  // leaves but loses nothing, and reading goes on.
  MERKQL_ASSIGN_OR_RETURN(
    auto file, m_env->open_file(group_members_dir(m_dir, m_group) + "/" + m_member_id, Create::no));
  Status written = file->write_at(0, text);
  if (written.is_ok()) {
    written = file->truncate(text.size());
  }
  if (!written.is_ok()) {
    (void)file->truncate(0);
    m_topics.clear();
    return Status::ok();
  }
  m_topics = topics;
  return Status::ok();
}

Result<std::vector<TopicPartition>>
GroupMembership::assignment(const std::vector<TopicPartition>& all)
{
  MERKQL_ASSIGN_OR_RETURN(auto members, live_members());
  // Each live member's topics (empty: every topic).
  std::vector<std::vector<std::string>> topics(members.size());
  for (size_t i = 0; i < members.size(); ++i) {
    if (members[i] == m_member_id) {
      topics[i] = m_topics;
      continue;
    }
    // A member file that cannot be read (its member just left) reads as
    // every topic until the next rebalance.
    auto text = read_file(m_env, group_members_dir(m_dir, m_group) + "/" + members[i], 1 << 20);
    if (text.is_ok()) {
      for (std::string_view rest = *text; !rest.empty();) {
        const size_t end = rest.find('\n');
        topics[i].emplace_back(rest.substr(0, end));
        rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
      }
      std::sort(topics[i].begin(), topics[i].end());
    }
  }
  auto reads = [&](size_t member, const std::string& topic) {
    return topics[member].empty()
           || std::binary_search(topics[member].begin(), topics[member].end(), topic);
  };
  const size_t me =
    static_cast<size_t>(std::find(members.begin(), members.end(), m_member_id) - members.begin());
  std::vector<TopicPartition> sorted = all;
  std::sort(sorted.begin(), sorted.end());
  std::vector<TopicPartition> mine;
  size_t next = 0;
  for (const TopicPartition& tp : sorted) {
    for (size_t tried = 0; tried < members.size(); ++tried) {
      const size_t member = (next + tried) % members.size();
      if (reads(member, tp.first)) {
        if (member == me) {
          mine.push_back(tp);
        }
        next = member + 1;
        break;
      }
    }
  }
  return mine;
}

Result<bool> GroupMembership::try_acquire(const TopicPartition& tp)
{
  if (owns(tp)) {
    return true;
  }
  // One descriptor per topic, whatever its number of partitions.
  auto locks = m_owner_locks.find(tp.first);
  if (locks == m_owner_locks.end()) {
    MERKQL_ASSIGN_OR_RETURN(auto opened,
                            m_env->open_byte_locks(group_owner_file(m_dir, m_group, tp.first)));
    locks = m_owner_locks.emplace(tp.first, std::move(opened)).first;
  }
  MERKQL_ASSIGN_OR_RETURN(bool locked, locks->second->try_lock(tp.second));
  if (locked) {
    m_owned.insert(tp);
  }
  return locked;
}

void GroupMembership::release(const TopicPartition& tp)
{
  if (m_owned.erase(tp)) {
    m_owner_locks.at(tp.first)->unlock(tp.second);
  }
}

std::vector<TopicPartition> GroupMembership::owned() const
{
  return std::vector<TopicPartition>(m_owned.begin(), m_owned.end());
}

} // namespace merkql
