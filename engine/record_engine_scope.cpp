// RecordEngine under scopes (DESIGN.md section 14): the scoped feed, scoped
// visibility, purge, the database's own scope and scope indexes.
//
// The scoped feed has two passes. A read from the beginning first lists the
// records in scope table by table in id order, through the scope indexes,
// up to the feed position H that was newest when it began; its cursors are
// "scan/H/table/id". When that pass ends, the cursor becomes H and reads go
// on through the ordinary feed after H, which shows what changed since:
// records in scope, and `removed` entries for records out of it that once
// had a revision in it. A record that changed during the first pass is past
// H, so the second pass shows it.
#include <algorithm>
#include <set>

#include "engine/record_engine.h"
#include "engine/rev_tree.h"
#include "utils/time.h"
#include "utils/utf8.h"

namespace outpost {

namespace {

constexpr std::string_view kScanPrefix = "scan/";
constexpr std::string_view kScopeKey = "scope";
// Raw feed rows read at once under a scope, at least.
constexpr size_t kMinRawPage = 100;
// Raw feed rows one scoped read examines at most (10 × its limit if more).
constexpr size_t kMaxScannedRows = 10000;

std::string indexes_key(const Table& table) { return "scope_indexes/" + table.name; }

// A first-pass cursor: "scan/H/table/id".
struct ScanCursor {
  std::string until;  // H, a cursor of the storage
  std::string table;
  std::string id;
};

std::string scan_cursor(const std::string& until, const std::string& table, const std::string& id) {
  return std::string(kScanPrefix) + until + "/" + table + "/" + id;
}

std::optional<ScanCursor> parse_scan_cursor(std::string_view since, const Storage& storage) {
  if (!since.starts_with(kScanPrefix)) return std::nullopt;
  std::string_view rest = since.substr(kScanPrefix.size());
  size_t a = rest.find('/');
  size_t b = a == std::string_view::npos ? a : rest.find('/', a + 1);
  ScanCursor c;
  try {
    if (b == std::string_view::npos) throw Error(ErrorCode::invalid_value, "");
    c.until = std::string(rest.substr(0, a));
    c.table = std::string(rest.substr(a + 1, b - a - 1));
    c.id = std::string(rest.substr(b + 1));
    storage.check_cursor(c.until);
    validate_table_name(c.table);
    validate_record_id(c.id);
  } catch (const Error&) {
    throw Error(ErrorCode::invalid_value, "since: " + quote_for_message(since) +
                                              " is not a cursor of this database's scoped feed");
  }
  return c;
}

std::vector<std::string> split_names(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}

}  // namespace

bool RecordEngine::in_scope(Transaction& txn, const Table& table, const Scope* scope,
                            const std::string& id) {
  if (scope == nullptr) return true;
  const ScopeClause* clause = scope->find(table.name);
  if (clause == nullptr) return false;
  if (clause->everything()) return true;
  return !storage_->matching(txn, table, *clause, {id}).empty();
}

std::optional<Attributes> RecordEngine::parent_body(Transaction& txn, const Table& table,
                                                    const BulkGetQuery& query,
                                                    const std::vector<Node>& tree,
                                                    const Node& node) {
  if (node.parent.empty()) return std::nullopt;
  if (std::find(query.known.begin(), query.known.end(), node.parent) != query.known.end()) {
    return std::nullopt;
  }
  std::optional<Node> parent = find_in(tree, node.parent);
  if (!parent || parent->deleted || parent->stub) return std::nullopt;
  return storage_->body(txn, table, query.id, node.parent);
}

// ---------------------------------------------------------------- the scoped feed

ChangesPage RecordEngine::read_scoped(const ChangesRequest& request) {
  const Scope& scope = *request.scope;
  std::optional<ScanCursor> scan = parse_scan_cursor(request.since, *storage_);
  bool from_start = request.since.empty() || request.since == "0";
  if (!scan && !from_start) storage_->check_cursor(request.since);
  return with_retry([&] {
    auto txn = storage_->begin(TransactionKind::read);
    auto cat = catalog(*txn);
    // The tables to read: the scope's, within the request's filter, that
    // this database holds.
    std::vector<std::pair<const Table*, const ScopeClause*>> tables;
    for (const ScopeClause& clause : scope.clauses) {
      if (!request.tables.empty() && std::find(request.tables.begin(), request.tables.end(),
                                               clause.table) == request.tables.end()) {
        continue;
      }
      auto it = cat->find(clause.table);
      if (it != cat->end()) tables.emplace_back(&it->second, &clause);
    }
    ChangesPage page;
    if (request.limit == 0) {
      page.last_seq = request.since.empty() ? "0" : request.since;
      return page;
    }
    if (tables.empty()) {
      page.last_seq = from_start || scan ? storage_->last_cursor(*txn) : request.since;
      page.more = false;
      return page;
    }
    if (from_start || scan) {
      // First pass: the records in scope now, up to H.
      ScanCursor at = scan ? *scan : ScanCursor{storage_->last_cursor(*txn), "", ""};
      for (const auto& [table, clause] : tables) {
        if (table->name < at.table) continue;
        std::string after = table->name == at.table ? at.id : std::string();
        const size_t room = request.limit - page.results.size();
        std::vector<Storage::FeedEntry> found =
            storage_->scan_matching(*txn, *table, *clause, after, at.until, room);
        for (Storage::FeedEntry& e : found) {
          if (e.cursor.empty()) continue;  // changed after H: the second pass has it
          Change c{scan_cursor(at.until, table->name, e.change.id),
                   table->name,
                   e.change.id,
                   std::move(e.change.winner),
                   e.change.deleted,
                   std::move(e.change.leaves)};
          page.results.push_back(std::move(c));
        }
        if (found.size() >= room) {
          page.last_seq = scan_cursor(at.until, table->name, found.back().change.id);
          return page;
        }
      }
      page.last_seq = at.until;
      return page;
    }
    // Second pass: the feed after the cursor, filtered.
    std::vector<std::string> names;
    for (const auto& [table, clause] : tables) names.push_back(table->name);
    const size_t raw_limit = std::max<size_t>(request.limit, kMinRawPage);
    std::string cursor = request.since;
    // One call reads a bounded part of the feed, so that a scope matching
    // little does not hold a read transaction over the whole feed; the
    // caller reads on from last_seq.
    size_t examined = 0;
    const size_t max_examined = std::max<size_t>(request.limit * 10, kMaxScannedRows);
    for (;;) {
      Storage::FeedPage raw = storage_->read_changes(*txn, cursor, names, raw_limit);
      examined += raw.entries.size();
      // Which records are in scope now, and which once were, per table.
      std::map<std::string, std::set<std::string>, std::less<>> now, once;
      for (const auto& [table, clause] : tables) {
        std::vector<std::string> ids;
        for (const Storage::FeedEntry& e : raw.entries) {
          if (e.change.table == table->name) ids.push_back(e.change.id);
        }
        if (ids.empty()) continue;
        std::vector<std::string> in =
            clause->everything() ? ids : storage_->matching(*txn, *table, *clause, ids);
        now[table->name].insert(in.begin(), in.end());
        std::vector<std::string> out;
        for (const std::string& id : ids) {
          if (!now[table->name].contains(id)) out.push_back(id);
        }
        if (!out.empty()) {
          std::vector<std::string> was =
              storage_->ever_matching(*txn, *table, *clause, out, request.stubs_count);
          once[table->name].insert(was.begin(), was.end());
        }
      }
      for (Storage::FeedEntry& e : raw.entries) {
        const std::string& t = e.change.table;
        if (now[t].contains(e.change.id)) {
          page.results.push_back(Change{e.cursor, t, std::move(e.change.id),
                                        std::move(e.change.winner), e.change.deleted,
                                        std::move(e.change.leaves)});
        } else if (once[t].contains(e.change.id)) {
          Change removed{e.cursor, t, std::move(e.change.id), Revision(), false, {}};
          removed.removed = true;
          page.results.push_back(std::move(removed));
        }
        if (page.results.size() >= request.limit) {
          page.last_seq = e.cursor;
          return page;
        }
      }
      cursor = raw.last_cursor;
      if (raw.entries.size() < raw_limit) {
        page.more = false;  // the feed's end as this transaction sees it
        break;
      }
      if (examined >= max_examined) break;
    }
    page.last_seq = cursor;
    return page;
  });
}

// ---------------------------------------------------------------- the database's scope

std::optional<Scope> RecordEngine::scope() {
  return with_retry([&]() -> std::optional<Scope> {
    auto txn = storage_->begin(TransactionKind::read);
    std::optional<std::string> text = storage_->get_meta(*txn, kScopeKey);
    if (!text) return std::nullopt;
    std::vector<Table> tables;
    for (const auto& [name, t] : *catalog(*txn)) tables.push_back(t);
    return parse_scope(*text, tables);
  });
}

std::vector<std::string> RecordEngine::indexed_columns(Transaction& txn, const Table& table) {
  return split_names(storage_->get_meta(txn, indexes_key(table)).value_or(""));
}

void RecordEngine::prepare_scope(const Scope& scope) {
  // Usually every index exists already: find out without writing.
  auto missing = [&](Transaction& txn, const Catalog& cat) {
    std::vector<std::pair<const Table*, std::string>> out;
    for (const ScopeClause& clause : scope.clauses) {
      auto it = cat.find(clause.table);
      if (it == cat.end()) continue;
      std::vector<std::string> have = indexed_columns(txn, it->second);
      for (const ScopePredicate& p : clause.predicates) {
        if (p.column == "_id" || it->second.find_column(p.column) == nullptr) continue;
        if (std::find(have.begin(), have.end(), p.column) == have.end()) {
          out.emplace_back(&it->second, p.column);
        }
      }
    }
    return out;
  };
  bool any = with_retry([&] {
    auto txn = storage_->begin(TransactionKind::read);
    return !missing(*txn, *catalog(*txn)).empty();
  });
  if (!any) return;
  with_retry([&] {
    auto txn = storage_->begin(TransactionKind::write);
    auto cat = catalog(*txn);
    for (const auto& [table, column] : missing(*txn, *cat)) {
      storage_->create_scope_index(*txn, *table, column);
      std::vector<std::string> have = indexed_columns(*txn, *table);
      if (std::find(have.begin(), have.end(), column) == have.end()) have.push_back(column);
      storage_->put_meta(*txn, indexes_key(*table), join_names(have));
    }
    txn->commit();
  });
}

void RecordEngine::set_scope(const std::optional<Scope>& scope) {
  if (scope) prepare_scope(*scope);
  with_retry([&] {
    auto txn = storage_->begin(TransactionKind::write);
    storage_->put_meta(*txn, kScopeKey,
                       scope ? std::optional<std::string>(scope_text(*scope)) : std::nullopt);
    txn->commit();
  });
}

std::vector<std::string> RecordEngine::scope_indexes(const std::string& table_name) {
  return with_retry([&] {
    auto txn = storage_->begin(TransactionKind::read);
    auto cat = catalog(*txn);
    return indexed_columns(*txn, table_in(*cat, table_name));
  });
}

// ---------------------------------------------------------------- purge

IdPage RecordEngine::record_ids(const std::string& table_name, const RecordSelection& selection,
                                const std::string& after, size_t limit) {
  return with_retry([&] {
    auto txn = storage_->begin(TransactionKind::read);
    auto cat = catalog(*txn);
    const Table& table = table_in(*cat, table_name);
    IdPage page;
    page.ids = storage_->select_ids(*txn, table, selection, after, limit);
    if (limit > 0 && page.ids.size() == limit) page.next = page.ids.back();
    return page;
  });
}

PurgeResult RecordEngine::purge(const PurgeRequest& request) {
  for (const std::string& id : request.ids) validate_record_id(id);
  for (const std::string& c : request.changed_at_or_before) storage_->check_cursor(c);
  return with_retry([&] {
    PurgeResult result;
    auto txn = storage_->begin(TransactionKind::write);
    auto cat = catalog(*txn);
    const Table& table = table_in(*cat, request.table);
    std::string now = format_timestamp(now_micros());
    std::set<std::string> seen;
    for (const std::string& id : request.ids) {
      if (!seen.insert(id).second) continue;
      storage_->lock_record(*txn, table, id);
      if (storage_->leaves(*txn, table, id).empty()) {
        result.absent.push_back(id);
        continue;
      }
      bool covered = std::all_of(
          request.changed_at_or_before.begin(), request.changed_at_or_before.end(),
          [&](const std::string& c) { return storage_->changed_at_or_before(*txn, table, id, c); });
      if (!covered) {
        result.kept.push_back(id);
        continue;
      }
      storage_->purge_record(*txn, table, id);
      storage_->log_purge(*txn, PurgeLogEntry{table.name, id, now, request.reason});
      result.purged.push_back(id);
    }
    txn->commit();
    return result;
  });
}

std::vector<PurgeLogEntry> RecordEngine::purge_log(size_t skip, size_t limit) {
  return with_retry([&] {
    auto txn = storage_->begin(TransactionKind::read);
    return storage_->purge_log(*txn, skip, limit);
  });
}

}  // namespace outpost
