// The PostgreSQL change feed (DESIGN.md section 6, docs/postgres-feed.md).
//
// Each record has one _changes row, moved on every write to the writing
// transaction's (xid8, seq). Readers see only rows whose xid is below the
// xmin of their snapshot: every transaction that could still commit a row
// has an xid at or above it, so a position handed out never has an unseen
// row before it. Cursors are "XID:SEQ"; "" and "0" mean the beginning.
#include "engine/postgres/pg_connection.h"
#include "engine/postgres/pg_position.h"
#include "engine/postgres/pg_storage.h"
#include "engine/storage_text.h"

namespace outpost {

namespace {

using Position = PgPosition;

// Rows below this are final: no transaction that could still commit has a
// smaller xid.
//
// The xid is read as text under another name: ORDER BY "xid" would otherwise
// sort by that text column ("1000" before "999") and skip changes.
constexpr const char* kVisible = "\"xid\"<pg_snapshot_xmin(pg_current_snapshot())";

Position newest_visible(PgConnection& conn) {
  PgResult res = conn.query(std::string("SELECT \"xid\"::text AS \"xid_text\",\"seq\" "
                                        "FROM \"_changes\" WHERE ") +
                            kVisible + " ORDER BY \"xid\" DESC,\"seq\" DESC LIMIT 1");
  Position pos;
  if (res.rows() == 0) return pos;
  pg_parse_number(res.text(0, 0), pos.xid);
  pos.seq = res.int64(0, 1);
  return pos;
}

}  // namespace

void PgStorage::check_cursor(std::string_view cursor) const { pg_parse_cursor(cursor); }

Storage::FeedPage PgStorage::read_changes(Transaction& txn, std::string_view since,
                                          const std::vector<std::string>& tables, size_t limit) {
  Position after = pg_parse_cursor(since);
  PgConnection& conn = conn_of(txn);
  std::string sql =
      std::string(
          "SELECT \"xid\"::text AS \"xid_text\",\"seq\",\"table\",\"id\",\"rev\",\"deleted\","
          "\"leaves\" "
          "FROM \"_changes\" WHERE (\"xid\",\"seq\")>($1::xid8,$2::bigint) AND ") +
      kVisible;
  PgParams params;
  params.add(std::to_string(after.xid)).add(after.seq);
  if (!tables.empty()) {
    PgArray names;
    for (const std::string& t : tables) names.add(t);
    sql += " AND \"table\"=ANY($4::text[])";
    params.add(static_cast<int64_t>(limit)).add(names.str());
  } else {
    params.add(static_cast<int64_t>(limit));
  }
  sql += " ORDER BY \"xid\",\"seq\" LIMIT $3";
  PgResult res = conn.query(sql, params);
  FeedPage page;
  Position last = after;
  for (int r = 0; r < res.rows(); ++r) {
    Position pos;
    pg_parse_number(res.text(r, 0), pos.xid);
    pos.seq = res.int64(r, 1);
    ChangeRow row{std::string(res.text(r, 2)), std::string(res.text(r, 3)),
                  Revision::parse(res.text(r, 4)), res.boolean(r, 5),
                  split_revisions(res.text(r, 6))};
    page.entries.push_back(FeedEntry{pos.str(), std::move(row)});
    last = pos;
  }
  if (limit == 0 || page.entries.size() < limit) {
    // The scan reached the end of what is final: continue after its newest row.
    last = std::max(last, newest_visible(conn));
  }
  page.last_cursor = last.str();
  return page;
}

std::string PgStorage::last_cursor(Transaction& txn) { return newest_visible(conn_of(txn)).str(); }

}  // namespace outpost
