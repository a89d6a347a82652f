#include <merkql/file_cache.h>
#include <merkql/filename.h>
#include <merkql/format.h>
#include <merkql/segment.h>

#include <fmt/format.h>

#include <algorithm>

namespace merkql {

using namespace format;

std::optional<std::string> SegmentStop::why() const
{
  switch (reason) {
  case Reason::none:
  case Reason::missing_segment:
    return std::nullopt;
  case Reason::no_header:
    return "no valid block header";
  case Reason::cut_short:
    return fmt::format("a block of {} bytes cut short after {}", header.total_size(), available);
  case Reason::bad_checksum:
    return "a block that fails its checksum";
  case Reason::out_of_order:
    return fmt::format("a block starting at offset {} where offset {} belongs", header.first_offset,
                       expected);
  }
  return std::nullopt;
}

SegmentReader::SegmentReader(Env* env, std::string dir, LogPosition start,
                             SegmentReaderOptions options)
  : m_env(env), m_dir(std::move(dir)), m_options(options), m_at(start), m_committed(start)
{}

SegmentReader::~SegmentReader() = default;

void SegmentReader::seek(LogPosition at)
{
  m_at = at;
  m_committed = at;
  m_expected.reset();
}

void SegmentReader::release()
{
  m_file.reset();
  m_file_segment.reset();
}

Status SegmentReader::open(uint32_t segment)
{
  if (m_file_segment == segment) {
    return Status::ok();
  }
  release();
  const std::string path = segment_file(m_dir, segment);
  if (m_options.files) {
    MERKQL_ASSIGN_OR_RETURN(m_file, m_options.files->get(path, Access::read_only));
  } else {
    MERKQL_ASSIGN_OR_RETURN(auto opened, m_env->open_read_only(path));
    m_file = std::move(opened);
  }
  m_file_size.reset();
  m_file_segment = segment;
  return Status::ok();
}

bool SegmentReader::next_segment_exists() const
{
  return m_at.segment < k_max_segment && m_env->exists(segment_file(m_dir, m_at.segment + 1));
}

// The one rule telling a crash leftover from damage: HEAD's end was synced
// before HEAD was written, so a log whose complete batches end before it is
// damaged. Past it lies only what a crash can leave (a batch synced but
// never published, or a torn one), which recovery cuts.
Result<bool> SegmentReader::stopped(SegmentStop stop)
{
  stop.at = m_at;
  if (!m_options.acknowledged_end || m_committed < *m_options.acknowledged_end) {
    stop.kind = SegmentStop::Kind::damage;
  } else if ((stop.reason == SegmentStop::Reason::none
              || stop.reason == SegmentStop::Reason::missing_segment)
             && m_at == m_committed) {
    stop.kind = SegmentStop::Kind::end_of_log;
  } else {
    stop.kind = SegmentStop::Kind::torn_tail;
    MERKQL_ASSIGN_OR_RETURN(auto segments, list_segments(m_env, m_dir));
    MERKQL_ASSIGN_OR_RETURN(stop.bytes, log_bytes_after(m_env, m_dir, segments, m_committed));
  }
  m_stop = std::move(stop);
  return false;
}

Result<std::optional<BlockHeader>> SegmentReader::peek_header()
{
  MERKQL_TRY(open(m_at.segment));
  char header_buf[k_block_header_size];
  MERKQL_ASSIGN_OR_RETURN(size_t got,
                          m_file->read_at(m_at.position, sizeof header_buf, header_buf));
  return parse_block_header(std::string_view(header_buf, got));
}

Result<bool> SegmentReader::next(std::string& buffer, Block* block)
{
  char header_buf[k_block_header_size];
  size_t got = 0;
  SegmentStop stop;
  for (;;) {
    if (Status opened = open(m_at.segment); !opened.is_ok()) {
      if (!opened.is_not_found()) {
        return opened;
      }
      stop.reason = SegmentStop::Reason::missing_segment;
      return stopped(stop);
    }
    MERKQL_ASSIGN_OR_RETURN(got, m_file->read_at(m_at.position, sizeof header_buf, header_buf));
    if (!no_block_here(std::string_view(header_buf, got)) || !next_segment_exists()) {
      break;
    }
    // The end of this segment's blocks (its file, or zero bytes set ahead):
    // the log continues in the next one.
    m_at = LogPosition{m_at.segment + 1, 0};
  }
  if (no_block_here(std::string_view(header_buf, got))) {
    return stopped(stop);
  }
  auto header = parse_block_header(std::string_view(header_buf, got));
  if (!header) {
    stop.reason = SegmentStop::Reason::no_header;
    return stopped(stop);
  }
  stop.header = *header;
  // Before the size is looked at, as recovery always has: a block that
  // does not follow the previous one ends the sequence whatever it claims.
  if (m_options.order == BlockOrder::checked && m_expected && header->first_offset != *m_expected) {
    stop.reason = SegmentStop::Reason::out_of_order;
    stop.expected = *m_expected;
    return stopped(stop);
  }
  // The header's size is checked against the file before it sizes an
  // allocation: a damaged header must not cost a gigabyte. The size known
  // may be old when the segment is appended to: look again before judging.
  if (!m_file_size || header->total_size() > *m_file_size - std::min(*m_file_size, m_at.position)) {
    MERKQL_ASSIGN_OR_RETURN(uint64_t size, m_file->size());
    m_file_size = size;
  }
  const uint64_t available = *m_file_size - std::min(*m_file_size, m_at.position);
  if (header->total_size() > available) {
    stop.reason = SegmentStop::Reason::cut_short;
    stop.available = available;
    return stopped(stop);
  }
  buffer.resize(header->total_size());
  MERKQL_ASSIGN_OR_RETURN(size_t block_got,
                          m_file->read_at(m_at.position, buffer.size(), buffer.data()));
  if (block_got != buffer.size()) {
    stop.reason = SegmentStop::Reason::cut_short;
    stop.available = block_got;
    return stopped(stop);
  }
  if (!block_checksum_ok(buffer)) {
    stop.reason = SegmentStop::Reason::bad_checksum;
    return stopped(stop);
  }
  block->at = m_at;
  block->header = *header;
  block->bytes = buffer;
  m_expected = header->first_offset + header->record_count;
  m_at.position += header->total_size();
  if (header->is_batch_end()) {
    m_committed = m_at;
  }
  return true;
}

Result<std::vector<uint32_t>> list_segments(Env* env, const std::string& dir)
{
  MERKQL_ASSIGN_OR_RETURN(auto names, env->list_dir(dir));
  std::vector<uint32_t> ids;
  for (const std::string& name : names) {
    if (auto id = parse_segment_file_name(name)) {
      ids.push_back(*id);
    }
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

bool no_block_here(std::string_view header_bytes)
{
  return std::all_of(header_bytes.begin(), header_bytes.end(), [](char c) { return c == 0; });
}

Result<uint64_t> log_bytes_after(Env* env, const std::string& dir,
                                 const std::vector<uint32_t>& segments, LogPosition from)
{
  uint64_t bytes = 0;
  for (uint32_t s : segments) {
    if (s < from.segment) {
      continue;
    }
    const uint64_t start = s == from.segment ? from.position : 0;
    auto file = env->open_read_only(segment_file(dir, s));
    if (!file.is_ok()) {
      continue; // removed meanwhile
    }
    MERKQL_ASSIGN_OR_RETURN(uint64_t size, (*file)->size());
    char header[k_block_header_size];
    MERKQL_ASSIGN_OR_RETURN(size_t got, (*file)->read_at(start, sizeof header, header));
    if (size > start && !no_block_here(std::string_view(header, got))) {
      bytes += size - start;
    }
  }
  return bytes;
}

Result<std::optional<uint64_t>> segment_first_offset(Env* env, const std::string& dir,
                                                     uint32_t segment)
{
  SegmentReader reader(env, dir, LogPosition{segment, 0});
  auto header = reader.peek_header();
  if (!header.is_ok() && header.status().is_not_found()) {
    return std::optional<uint64_t>{};
  }
  MERKQL_TRY(header.status());
  if (!*header) {
    return std::optional<uint64_t>{};
  }
  return std::optional<uint64_t>{(*header)->first_offset};
}

Result<std::optional<uint64_t>> lowest_segment_start(Env* env, const std::string& dir,
                                                     std::vector<uint32_t>& segments)
{
  for (int attempt = 0;; ++attempt) {
    MERKQL_ASSIGN_OR_RETURN(auto first, segment_first_offset(env, dir, segments.front()));
    if (first || attempt == 100 || env->exists(segment_file(dir, segments.front()))) {
      return first;
    }
    MERKQL_ASSIGN_OR_RETURN(std::vector<uint32_t> again, list_segments(env, dir));
    if (again.empty()) {
      return first;
    }
    segments = std::move(again);
  }
}

Result<size_t> reclaimable_segments(Env* env, const std::string& dir,
                                    const std::vector<uint32_t>& segments, uint64_t keep_from,
                                    uint32_t active)
{
  size_t count = 0;
  if (keep_from == 0) {
    return count;
  }
  while (count + 1 < segments.size() && segments[count] < active) {
    // A segment may go when the next one starts at or below keep_from.
    MERKQL_ASSIGN_OR_RETURN(auto next_first, segment_first_offset(env, dir, segments[count + 1]));
    if (!next_first || *next_first > keep_from) {
      break;
    }
    ++count;
  }
  return count;
}

Result<std::optional<int64_t>> segment_newest_timestamp(Env* env, const std::string& dir,
                                                        uint32_t segment)
{
  SegmentReader reader(
    env, dir, LogPosition{segment, 0},
    {.files = nullptr, .acknowledged_end = std::nullopt, .order = BlockOrder::unchecked});
  std::optional<int64_t> newest;
  std::string buffer;
  std::string scratch;
  std::vector<StoredRecordView> views;
  for (;;) {
    SegmentReader::Block block;
    MERKQL_ASSIGN_OR_RETURN(bool more, reader.next(buffer, &block));
    if (!more || block.at.segment != segment) {
      return newest;
    }
    MERKQL_TRY(decode_block(block.bytes, scratch, views));
    for (const StoredRecordView& view : views) {
      newest = std::max(newest.value_or(view.timestamp), view.timestamp);
    }
  }
}

} // namespace merkql
