// Checks on the text of records. Keys and values are UTF-8 text, as the
// record hash defines them (docs/FORMAT.md §Record hash): appends refuse
// anything else. A block's JSON flag promises a value is one line of JSON
// text (docs/FORMAT.md §Segment, flag bit 1); the audit checks every
// flagged value, since the flag is outside the record hash.
// Pure code; iterative, so no input depth can exhaust the stack.
#pragma once

#include <string_view>

namespace merkql {

// True when text is a single valid JSON value (RFC 8259) with no line break
// and no byte-order mark.
// True when text is well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view text);

bool is_one_line_json(std::string_view text);

} // namespace merkql
