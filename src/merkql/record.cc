#include <merkql/coding.h>
#include <merkql/merkle.h>
#include <merkql/record.h>

#include <fmt/format.h>

#include <chrono>
#include <cstring>

namespace merkql {

namespace {

char* put_str_at(char* p, std::string_view s)
{
  p = put_u64_at(p, s.size());
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm
// as used by std::chrono; written out to stay constexpr-free and exact).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// The encoding (docs/FORMAT.md §Record hash), timestamp already formatted,
// written over out's bytes from `at` on; out grows when too short, never
// shrinks. Returns the end of the encoding.
size_t encode_fields(std::optional<std::string_view> key, std::string_view value,
                     std::string_view topic, uint32_t partition, uint64_t offset,
                     std::string_view timestamp_text, std::string& out, size_t at)
{
  const size_t size = 1 + (key ? 8 + key->size() : 0) + 8 + value.size() + 8 + topic.size() + 4 + 8
                      + 8 + timestamp_text.size();
  if (out.size() < at + size) {
    out.resize(at + size);
  }
  char* p = out.data() + at;
  if (key) {
    *p++ = '\x01';
    p = put_str_at(p, *key);
  } else {
    *p++ = '\x00';
  }
  p = put_str_at(p, value);
  p = put_str_at(p, topic);
  p = put_u32_at(p, partition);
  p = put_u64_at(p, offset);
  p = put_str_at(p, timestamp_text);
  return at + size;
}

} // namespace

void encode_record(const Record& record, std::string& out)
{
  char text[k_max_timestamp_text];
  const size_t text_size = format_timestamp(record.timestamp, text);
  out.resize(encode_fields(record.key ? std::optional<std::string_view>(*record.key) : std::nullopt,
                           record.value, record.topic, record.partition, record.offset,
                           std::string_view(text, text_size), out, out.size()));
}

std::string encode_record(const Record& record)
{
  std::string out;
  encode_record(record, out);
  return out;
}

Hash record_hash(const Record& record, Sha256& ctx)
{
  thread_local std::string buffer;
  buffer.clear();
  encode_record(record, buffer);
  return ctx.digest(buffer);
}

Hash record_hash(const StoredRecordView& record, std::string_view topic, uint32_t partition,
                 uint64_t offset, Sha256& ctx)
{
  thread_local std::string buffer;
  char text[k_max_timestamp_text];
  const size_t text_size = format_timestamp(record.timestamp, text);
  const size_t size = encode_fields(record.key, record.value, topic, partition, offset,
                                    std::string_view(text, text_size), buffer, 0);
  return ctx.digest(std::string_view(buffer.data(), size));
}

RecordHasher::RecordHasher(std::string_view topic, uint32_t partition)
  : m_topic(topic), m_partition(partition)
{}

Hash RecordHasher::hash(const StoredRecordView& record, uint64_t offset, Sha256& ctx)
{
  if (m_timestamp_size == 0 || record.timestamp != m_timestamp) {
    m_timestamp = record.timestamp;
    m_timestamp_size = format_timestamp(record.timestamp, m_timestamp_text);
  }
  const size_t size =
    encode_fields(record.key, record.value, m_topic, m_partition, offset,
                  std::string_view(m_timestamp_text, m_timestamp_size), m_buffer, 0);
  return ctx.digest(std::string_view(m_buffer.data(), size));
}

Hash RecordHasher::leaf(const StoredRecordView& record, uint64_t offset, Sha256& ctx)
{
  return leaf_hash(hash(record, offset, ctx), offset, ctx);
}

Hash record_hash(const Record& record)
{
  thread_local Sha256 ctx;
  return record_hash(record, ctx);
}

std::string format_timestamp(TimestampNs ns)
{
  char text[k_max_timestamp_text];
  return std::string(text, format_timestamp(ns, text));
}

size_t format_timestamp(TimestampNs ns, char* out)
{
  // Hand-written: this runs once per record hash, where fmt and chrono
  // formatting cost more than the hash itself.
  int64_t secs = ns / 1000000000;
  int64_t frac = ns % 1000000000;
  if (frac < 0) {
    frac += 1000000000;
    secs -= 1;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days -= 1;
  }
  // civil_from_days (Howard Hinnant).
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned day = doy - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = static_cast<int64_t>(yoe) + era * 400 + (month <= 2);

  char* p = out;
  auto put = [&p](uint64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) {
      p[i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    p += width;
  };
  // int64 nanoseconds span the years 1677 to 2262: always four digits.
  put(static_cast<uint64_t>(year), 4);
  *p++ = '-';
  put(month, 2);
  *p++ = '-';
  put(day, 2);
  *p++ = 'T';
  put(static_cast<uint64_t>(rem / 3600), 2);
  *p++ = ':';
  put(static_cast<uint64_t>(rem / 60 % 60), 2);
  *p++ = ':';
  put(static_cast<uint64_t>(rem % 60), 2);
  if (frac != 0) {
    *p++ = '.';
    if (frac % 1000000 == 0) {
      put(static_cast<uint64_t>(frac / 1000000), 3);
    } else if (frac % 1000 == 0) {
      put(static_cast<uint64_t>(frac / 1000), 6);
    } else {
      put(static_cast<uint64_t>(frac), 9);
    }
  }
  *p++ = 'Z';
  return static_cast<size_t>(p - out);
}

Result<TimestampNs> parse_timestamp(std::string_view text)
{
  auto bad = [&](const char* why) {
    return Status::invalid_argument(fmt::format("invalid RFC 3339 timestamp '{}': {}", text, why));
  };
  size_t i = 0;
  auto digits = [&](size_t n, int64_t* out) {
    if (i + n > text.size()) {
      return false;
    }
    int64_t v = 0;
    for (size_t k = 0; k < n; ++k) {
      char c = text[i + k];
      if (c < '0' || c > '9') {
        return false;
      }
      v = v * 10 + (c - '0');
    }
    i += n;
    *out = v;
    return true;
  };
  auto expect = [&](char a, char b = 0) {
    if (i < text.size() && (text[i] == a || (b && text[i] == b))) {
      ++i;
      return true;
    }
    return false;
  };
  int64_t year, month, day, hour, minute, second;
  if (!digits(4, &year) || !expect('-') || !digits(2, &month) || !expect('-') || !digits(2, &day)
      || !expect('T', 't') || !digits(2, &hour) || !expect(':') || !digits(2, &minute)
      || !expect(':') || !digits(2, &second)) {
    return bad("expected YYYY-MM-DDTHH:MM:SS");
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return bad("field out of range");
  }
  int64_t nanos = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    int n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (n < 9) {
        nanos = nanos * 10 + (text[i] - '0');
      }
      ++n;
      ++i;
    }
    if (n == 0) {
      return bad("empty fraction");
    }
    for (int k = n; k < 9; ++k) {
      nanos *= 10;
    }
  }
  int64_t offset_seconds = 0;
  if (expect('Z', 'z')) {
  } else if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    int sign = text[i] == '-' ? -1 : 1;
    ++i;
    int64_t oh, om;
    if (!digits(2, &oh) || !expect(':') || !digits(2, &om) || oh > 23 || om > 59) {
      return bad("bad UTC offset");
    }
    offset_seconds = sign * (oh * 3600 + om * 60);
  } else {
    return bad("missing time zone (Z or +HH:MM)");
  }
  if (i != text.size()) {
    return bad("trailing characters");
  }
  using namespace std::chrono;
  if (!year_month_day{std::chrono::year{static_cast<int>(year)},
                      std::chrono::month{static_cast<unsigned>(month)},
                      std::chrono::day{static_cast<unsigned>(day)}}
         .ok()) {
    return bad("no such date");
  }
  int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  // Years have four digits, so seconds fit easily; nanoseconds may not.
  const int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
  const __int128 ns = static_cast<__int128>(secs) * 1000000000 + nanos;
  if (ns > INT64_MAX || ns < INT64_MIN) {
    return bad("outside the representable range (1677-09-21T00:12:43.145224192Z to "
               "2262-04-11T23:47:16.854775807Z)");
  }
  return static_cast<TimestampNs>(ns);
}

uint32_t route_key(std::string_view key, uint32_t partition_count)
{
  Hash h = sha256(key);
  uint32_t v = (uint32_t{h[0]} << 24) | (uint32_t{h[1]} << 16) | (uint32_t{h[2]} << 8) | h[3];
  return v % partition_count;
}

} // namespace merkql
