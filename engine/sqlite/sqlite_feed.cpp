// The SQLite change feed (DESIGN.md section 6): one _changes row per
// record, at the seq of its latest write; the rows a newer one superseded
// are listed in _superseded and skipped. Cursors are decimal seqs; "" and
// "0" mean the beginning.
#include <algorithm>
#include <charconv>
#include <string>

#include "engine/sqlite/sqlite_db.h"
#include "engine/sqlite/sqlite_storage.h"
#include "engine/storage_text.h"

namespace outpost {

namespace {

int64_t parse_cursor(std::string_view cursor) {
  if (cursor.empty()) return 0;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(cursor.data(), cursor.data() + cursor.size(), v);
  if (ec != std::errc() || p != cursor.data() + cursor.size() || v < 0) {
    throw Error(ErrorCode::invalid_value, "since: \"" + std::string(cursor) +
                                              "\" is not a cursor of this database (a "
                                              "non-negative decimal sequence number)");
  }
  return v;
}

}  // namespace

void SqliteStorage::check_cursor(std::string_view cursor) const { parse_cursor(cursor); }

Storage::FeedPage SqliteStorage::read_changes(Transaction& txn, std::string_view since,
                                              const std::vector<std::string>& tables,
                                              size_t limit) {
  int64_t after = parse_cursor(since);
  std::string sql =
      "SELECT \"seq\",\"table\",\"id\",\"rev\",\"deleted\",\"leaves\" FROM \"_changes\" c "
      "WHERE \"seq\">? AND NOT EXISTS (SELECT 1 FROM \"_superseded\" s WHERE s.\"seq\"=c.\"seq\")";
  if (!tables.empty()) {
    sql += " AND \"table\" IN (";
    for (size_t i = 0; i < tables.size(); ++i) sql += i == 0 ? "?" : ",?";
    sql += ")";
  }
  sql += " ORDER BY \"seq\" LIMIT ?";
  SqliteConnection& conn = conn_of(txn);
  FeedPage page;
  {
    auto stmt = conn.prepare(sql);
    int i = 1;
    stmt->bind_int(i++, after);
    for (const std::string& t : tables) stmt->bind_text(i++, t);
    stmt->bind_int(i, static_cast<int64_t>(limit));
    while (stmt->step()) {
      ChangeRow row{std::string(stmt->column_text(1)), std::string(stmt->column_text(2)),
                    Revision::parse(stmt->column_text(3)), stmt->column_int(4) != 0,
                    split_revisions(stmt->column_text(5))};
      page.entries.push_back(FeedEntry{std::to_string(stmt->column_int(0)), std::move(row)});
    }
  }
  if (limit > 0 && page.entries.size() == limit) {
    page.last_cursor = page.entries.back().cursor;
  } else {
    // The scan reached the end of this snapshot: continue after its newest seq.
    int64_t newest = std::stoll(last_cursor(txn));
    page.last_cursor = std::to_string(std::max(after, newest));
  }
  return page;
}

std::string SqliteStorage::last_cursor(Transaction& txn) {
  auto stmt = conn_of(txn).prepare("SELECT coalesce(max(\"seq\"),0) FROM \"_changes\"");
  stmt->step();
  return std::to_string(stmt->column_int(0));
}

}  // namespace outpost
