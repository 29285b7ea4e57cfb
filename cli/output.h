// Text output for people: aligned tables, values made safe for a terminal,
// numbers with thousands separators. JSON output goes through api/json.h.
// Thread-safety: plain value types and pure functions.
#pragma once

#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace outpost::cli {

// Columns aligned on the widest cell (counted in UTF-8 code points), two
// spaces apart; the last column is not padded.
class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void add_row(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  size_t size() const { return rows_.size() - 1; }  // rows without the header
  void print(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// `text` with control characters written as \n, \t, \r or \xNN, so that a
// value can neither break a line nor drive the terminal.
std::string printable(std::string_view text);
// printable(), cut to `max_points` code points with a trailing "...".
std::string cell(std::string_view text, size_t max_points = 40);
// A double-quoted string with \" \\ and control characters escaped.
std::string quoted(std::string_view text);
// {"a", "b"} → "a,b"
std::string join(const std::vector<std::string>& items);
// 85000.4 → "85,000"
std::string with_thousands(double value);
// The number of UTF-8 code points in `text`.
size_t display_width(std::string_view text);

}  // namespace outpost::cli
