// The routes only the web console needs (server/ui/, docs/http-api.md):
// its files, the devices report, table counts and the re-scope preview.
#include <algorithm>
#include <set>

#include "api/json.h"
#include "api/json_builder.h"
#include "server/router.h"
#include "server/router_internal.h"
#include "server/ui_assets.h"
#include "utils/log.h"
#include "utils/sha256.h"
#include "utils/time.h"

namespace outpost::server {

namespace {

Error console_off() {
  return Error(ErrorCode::not_found,
               "the web console is off on this server (outpost serve --no-console)");
}

void write_counts(JsonBuilder& w, const TableCounts& counts) {
  w.string("counts");
  w.start_object();
  w.field_count("records", static_cast<uint64_t>(std::max<int64_t>(0, counts.records)));
  w.field_count("conflicts", static_cast<uint64_t>(std::max<int64_t>(0, counts.conflicts)));
  w.end_object();
}

// A table's JSON object with "counts" added before its closing brace.
std::string table_with_counts(const Table& table, const TableCounts& counts) {
  std::string text = table_to_json(table);
  JsonBuilder w;
  w.start_object();
  write_counts(w, counts);
  w.end_object();
  std::string extra = w.str();  // {"counts":{...}}
  text.pop_back();
  text += ",";
  text.append(extra, 1, std::string::npos);
  return text;
}

}  // namespace

HttpResponse Router::get_console(Context& c) {
  if (!options_.console) throw console_off();
  const std::string name =
      c.segments.size() < 2 || c.segments[1].empty() ? "index.html" : c.segments[1];
  std::optional<UiFile> file = find_ui_file(name, options_.console_dir);
  if (!file) {
    throw Error(ErrorCode::not_found, "the console has no file " + quote_for_message(name, 100));
  }
  HttpResponse response;
  response.headers.emplace_back("Content-Security-Policy", std::string(kUiContentSecurityPolicy));
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
  // Checked again at each load (a hub upgrade changes the console); the
  // validator spares the bytes when nothing changed.
  response.headers.emplace_back("Cache-Control", "no-cache");
  response.headers.emplace_back("ETag", file->etag);
  if (c.request.header("If-None-Match") == file->etag) {
    response.status = 304;
    return response;
  }
  response.content_type = std::string(file->content_type);
  response.body = std::move(file->body);
  return response;
}

HttpResponse Router::redirect_to_console(Context&) {
  if (!options_.console) throw console_off();
  HttpResponse response;
  response.status = 302;
  response.content_type = "text/plain; charset=utf-8";
  response.headers.emplace_back("Location", "/ui/");
  response.body = "the console is at /ui/\n";
  return response;
}

std::string Router::tables_with_counts(Context& c, const std::vector<Table>& tables) {
  if (c.query.get("scope")) {
    // Counting a scope asked per request could scan every table on an
    // unindexed column; the token's own scope has its indexes.
    throw Error(ErrorCode::invalid_value,
                "counts=true counts what the token may read; count a scope= through "
                "GET /v1/tables/{t}/records?scope= instead");
  }
  const std::shared_ptr<const Scope>& scope = c.read_scope;
  std::vector<TableCounts> all;
  // The maintained counts serve whatever a scope leaves whole (`*`).
  const bool any_whole = !scope || std::any_of(tables.begin(), tables.end(), [&](const Table& t) {
    const ScopeClause* clause = scope->find(t.name);
    return clause && clause->predicates.empty();
  });
  if (any_whole) all = engine_.table_counts();
  std::string out = "{\"tables\":[";
  bool first = true;
  for (const Table& table : tables) {
    TableCounts counts{table.name, 0, 0};
    const ScopeClause* clause = scope ? scope->find(table.name) : nullptr;
    if (scope && !clause) continue;  // outside the scope: not listed
    if (clause && !clause->predicates.empty()) {
      counts = engine_.count_in_scope(table.name, *clause);
    } else {
      for (const TableCounts& t : all) {
        if (t.table == table.name) counts = t;
      }
    }
    out += first ? "" : ",";
    first = false;
    out += table_with_counts(table, counts);
  }
  out += "]}";
  return out;
}

std::string Router::rescope_preview(const Token& before, const Token& after) {
  const std::vector<Table> tables = engine_.list_tables();
  auto exists = [&](const std::string& name) {
    return std::any_of(tables.begin(), tables.end(),
                       [&](const Table& t) { return t.name == name; });
  };
  // A token of table lists reads the `*` clauses of its list (a listed
  // table that does not exist yet holds nothing to move).
  auto scope_of = [&](const Token& t) {
    if (!t.scope.empty()) return parse_scope(t.scope, tables, kStoredScopeLimits);
    Scope whole;
    for (const std::string& name : t.read) {
      if (exists(name)) whole.clauses.push_back(ScopeClause{name, {}});
    }
    std::sort(whole.clauses.begin(), whole.clauses.end(),
              [](const ScopeClause& a, const ScopeClause& b) { return a.table < b.table; });
    return whole;
  };
  const Scope from = scope_of(before);
  const Scope to = scope_of(after);
  std::set<std::string> names;
  for (const Scope* s : {&from, &to}) {
    for (const ScopeClause& clause : s->clauses) names.insert(clause.table);
  }
  JsonBuilder w;
  w.start_object();
  int64_t enter = 0;
  int64_t leave = 0;
  w.string("tables");
  w.start_array();
  for (const std::string& name : names) {
    const ScopeChangeCounts counts =
        engine_.scope_change_counts(name, from.find(name), to.find(name));
    enter += counts.enter;
    leave += counts.leave;
    w.start_object();
    w.field("table", name);
    w.field_count("enter", static_cast<uint64_t>(counts.enter));
    w.field_count("leave", static_cast<uint64_t>(counts.leave));
    w.field_count("stay", static_cast<uint64_t>(counts.stay));
    w.end_object();
  }
  w.end_array();
  w.field_count("enter", static_cast<uint64_t>(enter));
  w.field_count("leave", static_cast<uint64_t>(leave));
  // Every device of the token moves the same records at its next sync; one
  // that has not caught up with the current scope moves them from the scope
  // it last pulled.
  w.string("devices");
  w.start_array();
  for (const TokenStatus& status :
       token_statuses(engine_.db_id(), engine_.list_local(), {before}, now_micros(), {})) {
    for (const DeviceStatus& d : status.devices) {
      if (d.last_pull.empty()) continue;  // it only pushed: it holds nothing of the hub's
      w.start_object();
      w.field("db_id", d.db_id);
      w.field_bool("caught_up", d.caught_up);
      w.field("last_pull", d.last_pull);
      w.end_object();
    }
  }
  w.end_array();
  w.end_object();
  return w.str();
}

HttpResponse Router::list_devices(Context& c) {
  c.require_admin();
  TokenStore& store = token_store(c);
  std::vector<Token> tokens = store.list_tokens();
  const std::string only = c.query.get_or("token");
  if (!only.empty()) {
    std::erase_if(tokens, [&](const Token& t) { return t.name != only; });
    if (tokens.empty()) {
      throw Error(ErrorCode::not_found, "there is no token named " + quote_for_message(only, 80));
    }
  }
  const bool pending = c.query.flag("pending");
  const bool summary = c.query.flag("summary");
  if (pending && summary) {
    throw Error(ErrorCode::invalid_value,
                "summary=true counts no pending changes; ask one or "
                "the other");
  }
  const int64_t now = now_micros();
  std::vector<TokenStatus> statuses =
      token_statuses(engine_.db_id(), engine_.list_local(), tokens, now, options_.health);
  if (pending) {
    const std::vector<Table> tables = engine_.list_tables();
    for (TokenStatus& status : statuses) {
      const Token& token = status.token;
      if (token.revoked) continue;  // it syncs no more: nothing is pending for it
      std::shared_ptr<const Scope> scope;
      if (!token.scope.empty()) {
        scope = std::make_shared<const Scope>(parse_scope(token.scope, tables, kStoredScopeLimits));
      }
      // As the report judges caught_up (token_peers): the stored text's hash.
      const std::string fingerprint = token.scope.empty() ? "" : sha256_hex(token.scope);
      for (DeviceStatus& device : status.devices) {
        if (device.last_pull.empty()) continue;
        count_pending(token, scope, tables, device, device.synced_scope_fingerprint == fingerprint);
      }
    }
  }
  if (summary) {
    return json_response(
        200, devices_summary_to_json(engine_.update_seq(), now, options_.health, statuses));
  }
  return json_response(200, devices_to_json(engine_.update_seq(), now, options_.health, statuses));
}

// Reads the feed as the device's next pull would, counting up to
// max_pending_count entries. A device that last pulled under another scope
// starts again from the beginning of the token's scope.
void Router::count_pending(const Token& token, const std::shared_ptr<const Scope>& scope,
                           const std::vector<Table>& tables, DeviceStatus& device,
                           bool same_scope) {
  ChangesRequest request;
  request.since = same_scope ? device.pull_seq : "";
  request.scope = scope;
  request.stubs_count = !scope;
  // The tables its pull asked (a device's checkpoint says which), of those
  // the token may read and that exist.
  for (const Table& table : tables) {
    const bool asked = device.pull_tables.empty() ||
                       std::find(device.pull_tables.begin(), device.pull_tables.end(),
                                 table.name) != device.pull_tables.end();
    if (asked && token.can_read(table.name)) request.tables.push_back(table.name);
  }
  if (request.tables.empty()) {
    device.pending = 0;
    return;
  }
  const size_t cap = options_.max_pending_count;
  int64_t count = 0;
  // A scoped read examines a bounded part of the feed, so reading on is
  // needed; the number of reads is bounded too.
  for (int reads = 0; reads < 50; ++reads) {
    request.limit = cap + 1 - static_cast<size_t>(count);
    ChangesPage page;
    try {
      page = engine_.changes(request);
    } catch (const Error& e) {
      // A cursor from before a restore, say: not countable, not fatal.
      log_warn("http", "pending changes not counted",
               {{"token", token.name}, {"device", device.db_id}, {"error", e.message()}});
      return;
    }
    count += static_cast<int64_t>(page.results.size());
    if (count > static_cast<int64_t>(cap)) {
      device.pending = static_cast<int64_t>(cap);
      device.pending_more = true;
      return;
    }
    if (!page.more || page.last_seq == request.since) {
      device.pending = count;
      return;
    }
    request.since = page.last_seq;
  }
  device.pending = count;  // a lower bound: the reads ran out first
  device.pending_more = true;
}

}  // namespace outpost::server
