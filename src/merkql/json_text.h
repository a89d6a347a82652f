// Whether a stored value is one line of JSON text, the promise a block's
// JSON flag makes (docs/FORMAT.md §Segment, flag bit 1). The audit checks
// every flagged value with it, since the flag is outside the record hash.
// Pure code; iterative, so no input depth can exhaust the stack.
#pragma once

#include <string_view>

namespace merkql {

// True when text is a single valid JSON value (RFC 8259) with no line break
// and no byte-order mark.
bool is_one_line_json(std::string_view text);

} // namespace merkql
