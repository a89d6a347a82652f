#include <merkql/coding.h>
#include <merkql/file_cache.h>
#include <merkql/format.h>
#include <merkql/partition_meta.h>

#include <fmt/format.h>

#include <bit>
#include <cstring>

namespace merkql {

using namespace format;

std::string encode_head_slot(const PartitionHead& head)
{
  std::string slot;
  slot.reserve(k_head_slot_size);
  put_u32(slot, k_head_magic);
  put_u32(slot, k_format_version);
  put_u64(slot, head.sequence);
  put_u64(slot, head.next_offset);
  put_u32(slot, head.segment);
  put_u32(slot, 0);
  put_u64(slot, head.segment_end);
  slot.push_back(static_cast<char>(head.low_peaks.size()));
  for (const Hash& hash : head.low_peaks) {
    slot.append(reinterpret_cast<const char*>(hash.data()), 32);
  }
  slot.resize(k_head_log_start_position, '\0');
  put_u64(slot, head.log_start);
  slot.resize(k_head_slot_size - 4, '\0');
  put_u32(slot, crc32c(slot));
  return slot;
}

std::optional<PartitionHead> decode_head_slot(std::string_view slot)
{
  if (slot.size() < k_head_slot_size) {
    return std::nullopt;
  }
  const char* p = slot.data();
  if (get_u32(p) != k_head_magic || get_u32(p + 4) != k_format_version
      || get_u32(p + k_head_slot_size - 4) != crc32c(p, k_head_slot_size - 4)) {
    return std::nullopt;
  }
  PartitionHead h;
  h.sequence = get_u64(p + 8);
  h.next_offset = get_u64(p + 16);
  h.segment = get_u32(p + 24);
  h.segment_end = get_u64(p + 32);
  const uint8_t count = static_cast<uint8_t>(p[40]);
  if (count != std::popcount(h.next_offset % k_chunk_records)) {
    return std::nullopt;
  }
  for (uint8_t i = 0; i < count; ++i) {
    h.low_peaks.push_back(decode_hash(p + 41 + 32 * i));
  }
  h.log_start = get_u64(p + k_head_log_start_position);
  // Writers keep the log start on a chunk boundary, less than a chunk past
  // the end (docs/FORMAT.md §HEAD).
  if (h.log_start % k_chunk_records != 0 || h.log_start >= h.next_offset + k_chunk_records) {
    return std::nullopt;
  }
  return h;
}

std::optional<PartitionHead> decode_head(std::string_view bytes)
{
  std::optional<PartitionHead> best;
  for (size_t slot = 0; slot < 2 && bytes.size() >= (slot + 1) * k_head_slot_size; ++slot) {
    auto h = decode_head_slot(bytes.substr(slot * k_head_slot_size, k_head_slot_size));
    if (h && (!best || h->sequence > best->sequence)) {
      best = std::move(h);
    }
  }
  return best;
}

uint64_t head_slot_position(uint64_t sequence)
{
  return (sequence % 2) * k_head_slot_size;
}

std::vector<Hash> low_peak_hashes(const std::vector<Peak>& peaks)
{
  std::vector<Hash> low;
  for (const Peak& peak : peaks) {
    if (peak.node.height < k_chunk_height) {
      low.push_back(peak.hash);
    }
  }
  return low;
}

std::string file_header(uint32_t magic)
{
  std::string out;
  put_u32(out, magic);
  put_u32(out, k_format_version);
  put_u64(out, 0);
  return out;
}

Status check_file_header(File* file, uint32_t magic)
{
  char buf[k_file_header_size];
  MERKQL_TRY(file->read_exact(0, sizeof buf, buf));
  if (get_u32(buf) != magic) {
    return Status::corruption(fmt::format("{}: not a merkql file (bad magic)", file->path()));
  }
  if (get_u32(buf + 4) != k_format_version) {
    return Status::corruption(
      fmt::format("{}: unsupported format version {}", file->path(), get_u32(buf + 4)));
  }
  return Status::ok();
}

Result<std::shared_ptr<File>> open_with_header(FileCache& files, const std::string& path,
                                               uint32_t magic, bool* created)
{
  MERKQL_ASSIGN_OR_RETURN(auto file, files.get(path, Access::read_write, Create::if_missing));
  MERKQL_ASSIGN_OR_RETURN(uint64_t size, file->size());
  if (size < k_file_header_size) {
    MERKQL_TRY(file->truncate(0));
    MERKQL_TRY(file->write_at(0, file_header(magic)));
    MERKQL_TRY(file->sync());
    *created = true;
  } else {
    MERKQL_TRY(check_file_header(file.get(), magic));
  }
  return file;
}

void put_index_entry(std::string& out, const IndexEntry& entry)
{
  put_u32(out, entry.segment);
  put_u32(out, static_cast<uint32_t>(entry.position));
}

IndexEntry decode_index_entry(const char* p)
{
  return IndexEntry{get_u32(p), get_u32(p + 4)};
}

uint64_t index_entry_position(uint64_t chunk)
{
  return k_file_header_size + chunk * k_index_entry_size;
}

uint64_t index_entries_for(uint64_t next_offset)
{
  return (next_offset + k_chunk_records - 1) / k_chunk_records;
}

uint64_t tree_position(const NodeId& node)
{
  const uint64_t level = node.height - k_chunk_height;
  const uint64_t last_chunk = ((node.index + 1) << level) - 1;
  return 2 * last_chunk - static_cast<uint64_t>(std::popcount(last_chunk)) + level;
}

uint64_t tree_nodes_for_chunks(uint64_t chunks)
{
  return 2 * chunks - static_cast<uint64_t>(std::popcount(chunks));
}

uint64_t tree_chunks_in(uint64_t nodes)
{
  uint64_t chunks = 0;
  while (tree_nodes_for_chunks(chunks + 1) <= nodes) {
    ++chunks;
  }
  return chunks;
}

uint64_t tree_byte_position(uint64_t nodes)
{
  return k_file_header_size + nodes * k_tree_node_size;
}

void put_tree_node(std::string& out, const Hash& hash)
{
  out.append(reinterpret_cast<const char*>(hash.data()), hash.size());
}

std::function<void(const NodeId&, const Hash&)> collect_stored_nodes(std::string& out)
{
  return [&out](const NodeId& node, const Hash& hash) {
    if (node.height >= k_chunk_height) {
      put_tree_node(out, hash);
    }
  };
}

Hash decode_hash(const char* p)
{
  Hash h;
  std::memcpy(h.data(), p, h.size());
  return h;
}

bool head_matches(const PartitionHead& head, const TailFiles& files)
{
  return files.segment_ends
         && files.tree_nodes == tree_nodes_for_chunks(head.next_offset / k_chunk_records)
         && files.index_entries == index_entries_for(head.next_offset)
         && !files.next_segment_exists;
}

} // namespace merkql
