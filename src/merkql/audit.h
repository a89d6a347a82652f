// The offline audit of a partition: replays every stored record into the
// merkle tree and compares every TREE node, every INDEX entry and HEAD's
// peaks with what the records give (docs/FORMAT.md §Partition, §Tree,
// §Index, §Head). It changes no file and takes no lock, so it may run while
// other processes append and compact. Called by `merkql audit` and tests;
// one audit at a time per Partition object (it holds the object's mutex
// while it reads).
#pragma once

#include <merkql/merkle.h>
#include <merkql/status.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace merkql {

class Partition;

struct AuditReport {
  uint64_t records_checked = 0;
  uint64_t next_offset = 0;
  std::optional<uint64_t> first_bad_offset;
  std::string problem;          // why first_bad_offset is bad
  uint64_t torn_tail_bytes = 0; // unacknowledged bytes past HEAD (not a failure)
  std::optional<Hash> root;
  bool ok() const { return !first_bad_offset; }
};

// Told (offset reached, records in all) now and then during the replay.
using AuditProgress = std::function<void(uint64_t, uint64_t)>;

// Damage shows in the report (first_bad_offset, problem); a Status error is
// an I/O error that kept the audit from finishing.
Result<AuditReport> audit_partition(Partition& partition, const AuditProgress& progress = {});

} // namespace merkql
