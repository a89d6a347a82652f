#include <merkql/filename.h>
#include <merkql/format.h>
#include <merkql/log_block.h>
#include <merkql/partition.h>
#include <merkql/partition_meta.h>
#include <merkql/segment.h>

#include <fmt/format.h>

#include <algorithm>

namespace merkql {

PartitionReader::PartitionReader(Partition* partition)
  : m_partition(partition),
    m_log(std::make_unique<SegmentReader>(partition->m_env, partition->m_dir, LogPosition{},
                                          SegmentReaderOptions{.files = partition->m_files.get(),
                                                               .acknowledged_end = std::nullopt,
                                                               .order = BlockOrder::unchecked}))
{}

PartitionReader::~PartitionReader() = default;

Status PartitionReader::decode(uint64_t until)
{
  const uint64_t wanted = until > m_block_first ? until - m_block_first : 1;
  Status decoded = decode_block(m_block, m_scratch, m_records,
                                static_cast<uint32_t>(std::min<uint64_t>(wanted, UINT32_MAX)));
  if (!decoded.is_ok()) {
    m_have_block = false;
    return Status::corruption(fmt::format("{}: block at position {}: {}",
                                          segment_file(m_partition->m_dir, m_block_at.segment),
                                          m_block_at.position, decoded.message()));
  }
  return Status::ok();
}

Status PartitionReader::load_block(uint64_t until)
{
  SegmentReader::Block block;
  MERKQL_ASSIGN_OR_RETURN(bool more, m_log->next(m_block_bytes, &block));
  if (!more) {
    // Every stop is damage here: readers read only what HEAD acknowledges.
    const SegmentStop& stop = m_log->stop();
    const std::string path = segment_file(m_partition->m_dir, stop.at.segment);
    const uint64_t pos = stop.at.position;
    m_block_at = stop.at;
    switch (stop.reason) {
    case SegmentStop::Reason::none:
      // The log continues in a next segment, which is missing.
      m_block_at = LogPosition{stop.at.segment + 1, 0};
      return Status::not_found(
        fmt::format("{}: missing", segment_file(m_partition->m_dir, m_block_at.segment)));
    case SegmentStop::Reason::missing_segment:
      return Status::not_found(fmt::format("{}: missing", path));
    case SegmentStop::Reason::no_header:
      return Status::corruption(fmt::format("{}: no valid block header at position {}", path, pos));
    case SegmentStop::Reason::cut_short:
      return Status::corruption(
        fmt::format("{}: the block at position {} claims {} bytes, past the end of the file ({})",
                    path, pos, stop.header.total_size(), pos + stop.available));
    case SegmentStop::Reason::bad_checksum:
      return Status::corruption(fmt::format(
        "{}: checksum mismatch in the block at position {} (offsets {}..{})", path, pos,
        stop.header.first_offset, stop.header.first_offset + stop.header.record_count - 1));
    case SegmentStop::Reason::out_of_order: // BlockOrder::unchecked: never
      break;
    }
    return Status::corruption(fmt::format("{}: no block at position {}", path, pos));
  }
  m_block_at = block.at;
  m_block_first = block.header.first_offset;
  m_block_count = block.header.record_count;
  m_block = block.bytes;
  MERKQL_TRY(decode(until));
  m_have_block = true;
  return Status::ok();
}

Status PartitionReader::seek(uint64_t offset, uint64_t until)
{
  if (m_have_block && offset >= m_block_first && offset < m_block_first + m_block_count) {
    if (offset >= m_block_first + m_records.size()) {
      MERKQL_TRY(decode(std::max(until, offset + 1))); // past the prefix decoded
    }
    return Status::ok();
  }
  // The first offset the next block must have; none right after an INDEX
  // seek, whose block may begin before offset.
  std::optional<uint64_t> expected;
  if (!m_have_block || offset != m_block_first + m_block_count) {
    // Not the record after the block under the cursor: INDEX says where
    // its chunk starts.
    MERKQL_ASSIGN_OR_RETURN(IndexEntry entry,
                            m_partition->index_entry(offset / format::k_chunk_records));
    m_log->seek(LogPosition{entry.segment, entry.position});
  } else {
    expected = offset;
  }
  m_have_block = false;
  for (;;) {
    Status loaded = load_block(std::max(until, offset + 1));
    if (loaded.is_not_found()) {
      // A missing segment: compaction removed it, or it is damage.
      MERKQL_ASSIGN_OR_RETURN(uint64_t next, m_partition->next_offset());
      const uint64_t keep = m_partition->keep_from(next, m_partition->m_seen_log_start.load());
      if (offset < keep) {
        return Status::not_found(
          fmt::format("offset {} of {}/{} is no longer stored (compacted below the retention "
                      "watermark, {})",
                      offset, m_partition->m_topic, m_partition->m_id, keep));
      }
      return Status::corruption(
        fmt::format("{}/{}: segment {}, which holds offset {}, is missing ({})",
                    m_partition->m_topic, m_partition->m_id, m_block_at.segment, offset,
                    keep > 0 ? fmt::format("retention keeps offsets from {}", keep)
                             : std::string("retention removed nothing")));
    }
    MERKQL_TRY(loaded);
    // Blocks follow each other: one out of order (a stale or planted copy)
    // would serve records that are not the ones HEAD acknowledges.
    if (expected && m_block_first != *expected) {
      m_have_block = false;
      return Status::corruption(fmt::format(
        "{}: the block at position {} starts at offset {}, where offset {} was expected",
        segment_file(m_partition->m_dir, m_block_at.segment), m_block_at.position, m_block_first,
        *expected));
    }
    expected = m_block_first + m_block_count;
    if (offset < m_block_first) {
      return Status::corruption(fmt::format("{}/{}: the index points past offset {}",
                                            m_partition->m_topic, m_partition->m_id, offset));
    }
    if (offset < m_block_first + m_block_count) {
      if (offset >= m_block_first + m_records.size()) {
        MERKQL_TRY(decode(std::max(until, offset + 1)));
      }
      return Status::ok();
    }
  }
}

Status PartitionReader::scan(uint64_t offset, uint64_t end,
                             const std::function<bool(uint64_t, const StoredRecordView&)>& fn)
{
  // Between calls the reader keeps its place but no open file, so that a
  // consumer of thousands of partitions holds no descriptor for each.
  struct Release {
    PartitionReader* reader;
    ~Release() { reader->m_log->release(); }
  } release{this};
  while (offset < end) {
    MERKQL_TRY(seek(offset, end));
    for (uint64_t k = offset - m_block_first; k < m_records.size() && offset < end; ++k) {
      if (!fn(offset, m_records[k])) {
        return Status::ok();
      }
      ++offset;
    }
  }
  return Status::ok();
}

Result<size_t> PartitionReader::read(uint64_t offset, uint64_t end, size_t max,
                                     std::vector<Record>& out)
{
  size_t count = 0;
  end = std::min(end, offset + max);
  if (end > offset && out.size() + (end - offset) > out.capacity()) {
    out.reserve(std::max(out.size() + static_cast<size_t>(end - offset), 2 * out.capacity()));
  }
  MERKQL_TRY(scan(offset, end, [&](uint64_t o, const StoredRecordView& v) {
    Record& r = out.emplace_back();
    if (v.key) {
      r.key.emplace(*v.key);
    }
    r.value.assign(v.value);
    r.topic = m_partition->m_topic;
    r.partition = m_partition->m_id;
    r.offset = o;
    r.timestamp = v.timestamp;
    r.value_is_json = v.value_is_json;
    ++count;
    return true;
  }));
  return count;
}

} // namespace merkql
