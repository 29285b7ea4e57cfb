// A position in the PostgreSQL change feed (pg_feed.cpp, docs/postgres-feed.md):
// the writer's xid8 and the row's seq, ordered by (xid, seq). Cursors are
// "XID:SEQ"; "" and "0" mean the beginning. Shared by pg_feed.cpp and
// pg_scope.cpp. Internal to engine/postgres/.
// Thread-safety: plain values and pure functions.
#pragma once

#include <charconv>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "api/error.h"

namespace outpost {

struct PgPosition {
  uint64_t xid = 0;
  int64_t seq = 0;
  auto operator<=>(const PgPosition&) const = default;
  std::string str() const {
    if (xid == 0 && seq == 0) return "0";
    return std::to_string(xid) + ":" + std::to_string(seq);
  }
};

// Parses the whole of `text` as a number; false when it is not one.
template <typename T>
bool pg_parse_number(std::string_view text, T& out) {
  if (text.empty()) return false;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && p == text.data() + text.size();
}

// Throws Error(invalid_value) for a text that is not a cursor of this backend.
inline PgPosition pg_parse_cursor(std::string_view cursor) {
  if (cursor.empty() || cursor == "0") return {};
  PgPosition pos;
  size_t colon = cursor.find(':');
  if (colon == std::string_view::npos || !pg_parse_number(cursor.substr(0, colon), pos.xid) ||
      !pg_parse_number(cursor.substr(colon + 1), pos.seq) || pos.seq < 0) {
    throw Error(ErrorCode::invalid_value,
                "since: \"" + std::string(cursor) +
                    "\" is not a cursor of this database (use \"\", \"0\" or a last_seq it "
                    "returned, of the form XID:SEQ)");
  }
  return pos;
}

}  // namespace outpost
