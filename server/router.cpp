#include "server/router.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <exception>
#include <functional>
#include <new>
#include <utility>
#include <vector>

#include "api/checkpoint.h"
#include "api/json_builder.h"
#include "server/query.h"
#include "server/router_internal.h"
#include "utils/log.h"
#include "utils/text.h"
#include "utils/time.h"
#include "utils/utf8.h"

namespace outpost::server {

namespace {

// The longest local document id a client may name (the stored id adds the
// token's name in front).
constexpr size_t kMaxClientLocalIdBytes = 255;

constexpr std::string_view kComponent = "http";
constexpr size_t kDefaultPage = 1000;
// Methods counted and logged by name; every other one is "other" (and 501).
constexpr std::string_view kKnownMethods[] = {"GET",    "HEAD",    "POST", "PUT",
                                              "DELETE", "OPTIONS", "PATCH"};

std::string format_ms(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", seconds * 1000.0);
  return buf;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

Error too_many(std::string_view what, size_t n, size_t max) {
  return Error(ErrorCode::too_large, std::string(what) + " holds " + std::to_string(n) +
                                         " documents; at most " + std::to_string(max) +
                                         " are accepted per request");
}

}  // namespace

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return {};
}

Router::Router(Engine& engine, RouterOptions options, Metrics* metrics)
    : engine_(engine),
      options_(std::move(options)),
      throttle_({options_.auth_free_failures, options_.auth_base_delay_ms,
                 options_.auth_max_delay_ms, options_.auth_failure_window}) {
  if (!options_.tokens) options_.tokens = engine_.tokens();
  if (!metrics) {
    own_metrics_ = std::make_unique<Metrics>();
    metrics = own_metrics_.get();
  }
  metrics_ = metrics;
}

void Router::stop() {
  stopping_ = true;
  stop_source_.request_stop();
}

bool Router::is_long_poll(const HttpRequest& request) {
  if (request.method != "GET") return false;
  std::string_view target = request.target;
  size_t q = target.find('?');
  if (target.substr(0, q) != "/v1/changes" || q == std::string_view::npos) return false;
  try {
    return Query(target.substr(q + 1)).get_or("feed") == "longpoll";
  } catch (const Error&) {
    return false;
  }
}

std::string_view Router::method_label(std::string_view method) {
  for (std::string_view known : kKnownMethods) {
    if (method == known) return known;
  }
  return "other";
}

HttpResponse Router::handle(const HttpRequest& request, bool may_wait) noexcept {
  auto start = std::chrono::steady_clock::now();
  std::string route = "unmatched";
  HttpResponse response;
  try {
    response = answer(request, route, [&] { return dispatch(request, route, may_wait); });
    finish(request, route, response, start);
  } catch (...) {
    response = fixed_internal_error();
  }
  return response;
}

std::optional<HttpResponse> Router::check_header(HttpRequest& request) noexcept {
  auto start = std::chrono::steady_clock::now();
  std::string route = "unmatched";
  try {
    Match match;
    std::optional<HttpResponse> refusal;
    HttpResponse response = answer(request, route, [&] {
      refusal = admit(request, match, route);
      return refusal ? std::move(*refusal) : HttpResponse{};
    });
    if (response.status < 400) {  // admitted (or GET /v1/health): the handler answers
      if (match.needs_auth) request.token = std::move(match.token);
      return std::nullopt;
    }
    finish(request, route, response, start);
    return response;
  } catch (...) {
    return fixed_internal_error();
  }
}

HttpResponse Router::fixed_internal_error() {
  // Only allocation can fail here; answer with a fixed text.
  HttpResponse response;
  response.status = 500;
  response.body = R"({"error":"internal","message":"internal server error"})";
  return response;
}

template <class Fn>
HttpResponse Router::answer(const HttpRequest& request, const std::string& route, Fn fn) {
  const std::string_view method = method_label(request.method);
  try {
    return fn();
  } catch (const Error& e) {
    return error_response(e);
  } catch (const std::bad_alloc&) {
    log_error(kComponent, "out of memory answering a request",
              {{"method", method}, {"route", route}});
    return error_response(Error(ErrorCode::unavailable, "the server is out of memory"));
  } catch (const std::exception& e) {
    log_error(kComponent, "internal error",
              {{"method", method}, {"route", route}, {"what", e.what()}});
  } catch (...) {
    log_error(kComponent, "internal error", {{"method", method}, {"route", route}});
  }
  return error_response(Error(ErrorCode::internal, "internal server error"));
}

void Router::finish(const HttpRequest& request, const std::string& route, HttpResponse& response,
                    std::chrono::steady_clock::time_point start) {
  response.route = route;
  const std::string_view method = method_label(request.method);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics_->record_request(route, method, response.status, seconds);
  if (response.status >= 400 && response.error)
    metrics_->record_error(error_code_name(*response.error));
  if (response.status >= 500 && response.error) {
    error_log_.log(method, route, response.status, *response.error, response.error_message);
  } else if (response.status < 500) {
    error_log_.answered();
  }
  if (log_enabled(LogLevel::info)) {
    log_info(kComponent, "request",
             {{"method", method},
              {"route", route},
              {"status", response.status},
              {"ms", format_ms(seconds)},
              {"remote", request.remote}});
  }
}

// The routes of API version 1, in the order their methods are listed in an
// Allow header. A path template segment "{name}" matches any non-empty
// segment; a null handler is GET /v1/health, answered without a token.
const Router::Route Router::kRoutes[] = {
    {"GET", "/", &Router::redirect_to_console, false},
    {"GET", "/ui", &Router::redirect_to_console, false},
    {"GET", "/ui/", &Router::get_console, false},
    {"GET", "/ui/{file}", &Router::get_console, false},
    {"GET", "/metrics", &Router::get_metrics, true},
    {"GET", "/v1", &Router::get_root, true},
    {"GET", "/v1/health", nullptr, false},
    {"GET", "/v1/tables", &Router::list_tables, true},
    {"GET", "/v1/tables/{t}", &Router::get_table, true},
    {"PUT", "/v1/tables/{t}", &Router::put_table, true},
    {"GET", "/v1/tables/{t}/records", &Router::list_records, true},
    {"POST", "/v1/tables/{t}/records", &Router::create_record, true},
    {"GET", "/v1/tables/{t}/records/{id}", &Router::get_record, true},
    {"PUT", "/v1/tables/{t}/records/{id}", &Router::put_record, true},
    {"DELETE", "/v1/tables/{t}/records/{id}", &Router::delete_record, true},
    {"POST", "/v1/tables/{t}/records/{id}/resolve", &Router::resolve_record, true},
    {"GET", "/v1/conflicts", &Router::list_conflicts, true},
    {"GET", "/v1/changes", &Router::changes, true},
    {"POST", "/v1/revs_diff", &Router::revs_diff, true},
    {"POST", "/v1/bulk_get", &Router::bulk_get, true},
    {"POST", "/v1/bulk_docs", &Router::bulk_docs, true},
    {"GET", "/v1/local/{id}", &Router::get_local, true},
    {"PUT", "/v1/local/{id}", &Router::put_local, true},
    {"GET", "/v1/peers", &Router::list_peers, true},
    {"GET", "/v1/devices", &Router::list_devices, true},
    {"GET", "/v1/tokens", &Router::list_tokens, true},
    {"POST", "/v1/tokens", &Router::create_token, true},
    {"GET", "/v1/tokens/{name}", &Router::get_token, true},
    {"PUT", "/v1/tokens/{name}", &Router::update_token, true},
    {"DELETE", "/v1/tokens/{name}", &Router::revoke_token, true},
};

bool Router::Route::matches(const std::vector<std::string>& segments) const {
  std::string_view rest = path.substr(1);  // templates begin with '/'
  for (size_t i = 0;; ++i) {
    if (i == segments.size()) return false;
    const size_t slash = rest.find('/');
    const std::string_view pattern = rest.substr(0, slash);
    const bool wildcard = pattern.size() > 2 && pattern.front() == '{' && pattern.back() == '}';
    if (wildcard ? segments[i].empty() : segments[i] != pattern) return false;
    if (slash == std::string_view::npos) return i + 1 == segments.size();
    rest.remove_prefix(slash + 1);
  }
}

std::optional<HttpResponse> Router::admit(const HttpRequest& request, Match& match,
                                          std::string& route) {
  if (method_label(request.method) == "other") {
    // Never echoed: an invented method may be kilobytes of anything.
    HttpResponse response = error_response(
        Error(ErrorCode::invalid_value,
              "this method is not implemented; the API uses GET, PUT, POST and DELETE"),
        501);
    response.headers.emplace_back("Allow", "GET, PUT, POST, DELETE");
    return response;
  }
  std::string_view target = request.target;
  size_t qmark = target.find('?');
  std::string_view path = target.substr(0, qmark);
  match.query_text =
      qmark == std::string_view::npos ? std::string_view{} : target.substr(qmark + 1);
  if (path.empty() || path[0] != '/') {
    throw Error(ErrorCode::not_found, "no such route (paths begin with /v1)");
  }
  match.segments = decode_path(path);

  // Every route whose path matches; the method picks one of them.
  const Route* found = nullptr;
  std::string allow;
  for (const Route& r : kRoutes) {
    if (!r.matches(match.segments)) continue;
    route = r.path;
    allow += (allow.empty() ? "" : ", ") + std::string(r.method);
    if (r.method == request.method) found = &r;
  }
  if (allow.empty()) {
    throw Error(ErrorCode::not_found, "no such route: " + quote_for_message(path, 200));
  }
  if (!found) {
    HttpResponse response = error_response(Error(
        ErrorCode::method_not_allowed,
        "method " + request.method + " is not allowed on " + route + " (allowed: " + allow + ")"));
    response.headers.emplace_back("Allow", allow);
    return response;
  }
  if (!found->handler) {  // GET /v1/health
    return json_response(200, R"({"status":"ok"})");
  }
  match.handler = found->handler;

  if (!found->needs_auth) {
    match.token.admin = true;
  } else if (request.token) {
    match.token = *request.token;  // check_header() authenticated it
  } else {
    int delay_ms = 0;
    std::optional<Token> token = authenticate(request, delay_ms);
    if (!token) {
      HttpResponse response = error_response(
          Error(ErrorCode::unauthorized,
                request.header("Authorization").empty()
                    ? "this request needs an 'Authorization: Bearer <token>' header"
                    : "the bearer token is not valid (unknown, revoked or expired)"));
      response.headers.emplace_back("WWW-Authenticate", "Bearer");
      response.delay_ms = delay_ms;
      return response;
    }
    match.token = std::move(*token);
  }
  match.needs_auth = found->needs_auth;
  return std::nullopt;
}

HttpResponse Router::dispatch(const HttpRequest& request, std::string& route, bool may_wait) {
  Match match;
  if (std::optional<HttpResponse> refusal = admit(request, match, route)) return *refusal;
  if (request.body.size() > options_.max_body_bytes) {
    throw Error(ErrorCode::too_large, "the request body is larger than " +
                                          std::to_string(options_.max_body_bytes) + " bytes");
  }
  if (request.method == "POST" || request.method == "PUT") {
    std::string_view type = request.header("Content-Type");
    std::string_view media = trim(type.substr(0, type.find(';')));
    if (!type.empty() && !iequals(media, "application/json")) {
      throw Error(ErrorCode::unsupported_media_type,
                  "request bodies must be application/json, not " +
                      quote_for_message(media.substr(0, 100)));
    }
  }
  Context context{request,
                  std::move(match.segments),
                  Query(match.query_text),
                  std::move(match.token),
                  may_wait,
                  nullptr,
                  std::nullopt};
  parse_token_scopes(context);
  return (this->*(match.handler))(context);
}

// ------------------------------------------------------------------ auth --

std::optional<Token> Router::authenticate(const HttpRequest& request, int& delay_ms) {
  if (!options_.auth) {
    Token all;
    all.name = "no-auth";
    all.admin = true;
    return all;
  }
  if (!options_.tokens) {
    throw Error(ErrorCode::unavailable, "this database does not store API tokens");
  }
  std::optional<Token> token = lookup_token(request);
  if (!token) {
    delay_ms = throttle_.note_failure(request.remote);
    return std::nullopt;
  }
  throttle_.note_success(request.remote);
  return token;
}

std::optional<Token> Router::lookup_token(const HttpRequest& request) {
  std::string_view header = trim(request.header("Authorization"));
  if (header.size() <= 7 || !iequals(header.substr(0, 7), "bearer ")) return std::nullopt;
  return options_.tokens->authenticate(std::string(trim(header.substr(7))));
}

void Router::parse_token_scopes(Context& c) {
  const Token& t = c.token;
  if (t.admin || (t.scope.empty() && t.write_scope.empty() && t.earlier_write_scopes.empty())) {
    return;
  }
  const std::vector<Table> tables = engine_.list_tables();
  // A stored scope parsed when it was set; tables only grow since, so it
  // still parses. Stored text is never echoed to another token.
  auto parse = [&](const std::string& text) {
    return parse_scope(text, tables, kStoredScopeLimits);
  };
  if (!t.scope.empty()) c.read_scope = std::make_shared<const Scope>(parse(t.scope));
  const bool earlier = std::any_of(
      t.earlier_write_scopes.begin(), t.earlier_write_scopes.end(),
      [now = now_micros()](const Token::EarlierScope& e) { return e.until_micros > now; });
  if (t.write_scope.empty() && !earlier) return;
  WriteScope write;
  if (!t.write_scope.empty()) {
    write.scope = parse(t.write_scope);
  } else {
    // The table list alone: every record of each writable table.
    for (const std::string& table : t.write) write.scope.clauses.push_back(ScopeClause{table, {}});
    std::sort(write.scope.clauses.begin(), write.scope.clauses.end(),
              [](const ScopeClause& a, const ScopeClause& b) { return a.table < b.table; });
  }
  const int64_t now = now_micros();
  for (const Token::EarlierScope& e : t.earlier_write_scopes) {
    if (e.until_micros > now && !e.scope.empty()) write.earlier.push_back(parse(e.scope));
  }
  c.write_scope = std::move(write);
}

// The scope a read answers under: the token's read scope, narrowed by the
// one the request asks for (`scope=`, DESIGN.md section 14); null when
// neither is set. invalid_scope when the asked one does not parse against
// this database's tables.
std::shared_ptr<const Scope> Router::read_scope(Context& c) {
  std::optional<std::string> text = c.query.get("scope");
  if (!text || text->empty()) return c.read_scope;
  // Parsed against the tables this token may read only, so that an error
  // never names another table or its columns.
  std::vector<Table> readable = engine_.list_tables();
  std::erase_if(readable, [&](const Table& t) { return !c.token.can_read(t.name); });
  Scope asked = parse_scope(*text, readable, options_.scope_limits);
  if (!c.read_scope) return std::make_shared<const Scope>(std::move(asked));
  return std::make_shared<const Scope>(intersect_scopes(*c.read_scope, asked));
}

// revs_diff also answers for tables a token may only write (a push asks
// it): those are seen through its write scope.
std::shared_ptr<const Scope> Router::diff_scope(Context& c) {
  std::shared_ptr<const Scope> read = read_scope(c);
  if (!c.read_scope && !c.write_scope) return read;
  Scope seen;
  for (const Table& table : engine_.list_tables()) {
    const ScopeClause* clause = nullptr;
    if (c.token.can_read(table.name)) {
      if (!read) {
        seen.clauses.push_back(ScopeClause{table.name, {}});
        continue;
      }
      clause = read->find(table.name);
    } else if (c.token.can_write(table.name)) {
      if (!c.write_scope) {
        seen.clauses.push_back(ScopeClause{table.name, {}});
        continue;
      }
      clause = c.write_scope->scope.find(table.name);
    }
    if (clause) seen.clauses.push_back(*clause);
  }
  return std::make_shared<const Scope>(std::move(seen));
}

// ---------------------------------------------------------------- routes --

HttpResponse Router::get_root(Context& c) {
  ServerInfo info;
  info.version = options_.version;
  info.db_id = engine_.db_id();
  info.backend = engine_.backend();
  info.update_seq = engine_.update_seq();
  info.max_body_bytes = options_.max_body_bytes;
  info.max_batch_docs = options_.max_batch_docs;
  if (std::optional<Scope> scope = engine_.scope()) info.scope = scope_text(*scope);
  if (options_.auth) {
    info.token_name = c.token.name;
    info.token_admin = c.token.admin;
    info.token_scope = c.token.scope;
    info.token_write_scope = c.token.write_scope;
  }
  const std::string with_tables = c.query.get_or("tables", "false");
  if (with_tables == "true") {
    info.tables = readable_tables(c);
  } else if (with_tables != "false") {
    throw Error(ErrorCode::invalid_value, "tables takes true or false");
  }
  return json_response(200, info_to_json(info));
}

HttpResponse Router::get_metrics(Context& c) {
  if (c.read_scope || c.write_scope) {
    // The counters add up every record's traffic, in and out of the scope.
    throw Error(ErrorCode::forbidden,
                "a token with a scope may not read /metrics; use a token without one");
  }
  HttpResponse response = json_response(200, metrics_->render(engine_.stats()));
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return response;
}

std::vector<Table> Router::readable_tables(const Context& c) {
  std::vector<Table> tables = engine_.list_tables();
  std::erase_if(tables, [&](const Table& t) { return !c.token.can_read(t.name); });
  return tables;
}

HttpResponse Router::list_tables(Context& c) {
  std::vector<Table> tables = readable_tables(c);
  if (c.query.flag("counts")) return json_response(200, tables_with_counts(c, tables));
  return json_response(200, tables_to_json(tables));
}

HttpResponse Router::get_table(Context& c) {
  const std::string& name = c.segments[2];
  c.require_read(name);
  std::optional<Table> table = engine_.get_table(name);
  if (!table) throw Error(ErrorCode::unknown_table, "there is no table " + quote_for_message(name));
  return json_response(200, table_to_json(*table));
}

HttpResponse Router::put_table(Context& c) {
  c.require_admin();
  const std::string& name = c.segments[2];
  Table table = table_from_json(c.request.body, name, options_.json);
  table.name = name;
  check_table_put(engine_.get_table(name), table);
  return json_response(200, table_to_json(engine_.put_table(table)));
}

HttpResponse Router::list_records(Context& c) {
  const std::string& table = c.segments[2];
  c.require_read(table);
  std::shared_ptr<const Scope> scope = read_scope(c);
  if (std::optional<std::string> where = c.query.get("where"); where && !where->empty()) {
    // A condition on this table (`outpost list --where`), within the scope.
    Scope asked = parse_where(table, *where, readable_tables(c), options_.scope_limits);
    scope = std::make_shared<const Scope>(scope ? intersect_scopes(*scope, asked) : asked);
  }
  RecordPage page =
      engine_.list_records(table, c.query.get_or("after"),
                           c.query.count("limit", kDefaultPage, options_.max_page), scope.get());
  return json_response(200, record_page_to_json(page));
}

HttpResponse Router::write_one(Context& c, const Edit& edit, int status) {
  c.require_write(edit.table);
  std::vector<WriteResult> results =
      c.write_scope ? engine_.write_within({edit}, *c.write_scope) : engine_.write({edit});
  if (results.size() != 1) throw Error(ErrorCode::internal, "the engine returned no result");
  if (!results[0].ok()) throw *results[0].error;
  metrics_->add_revisions_written(1);
  return json_response(status, write_result_to_json(results[0]));
}

HttpResponse Router::create_record(Context& c) {
  const std::string& table = c.segments[2];
  c.require_write(table);
  Edit edit = edit_from_json(c.request.body, Edit::Kind::put, table, {}, options_.json);
  edit.table = table;
  edit.id.clear();
  edit.parent = Revision();
  return write_one(c, edit, 201);
}

HttpResponse Router::get_record(Context& c) {
  const std::string& table = c.segments[2];
  const std::string& id = c.segments[4];
  c.require_read(table);
  GetOptions options;
  if (auto rev = c.query.get("rev"); rev && !rev->empty()) {
    options.revision = Revision::parse(*rev);
  }
  options.conflicts = c.query.flag("conflicts");
  options.ancestry = c.query.flag("ancestry");
  options.scope = read_scope(c);
  std::optional<Record> record = engine_.get(table, id, options);
  if (!record) {
    throw Error(ErrorCode::not_found, options.revision.empty()
                                          ? "there is no record " + quote_for_message(id) +
                                                " in table " + quote_for_message(table)
                                          : "there is no revision " + options.revision.str() +
                                                " of record " + quote_for_message(id) +
                                                " in table " + quote_for_message(table));
  }
  std::string body = record_to_json(*record);
  if (c.query.flag("tree")) {
    // The whole revision tree, for the console's graph: spliced into the
    // record's object.
    JsonBuilder w;
    w.start_array();
    for (const RevisionNode& node : engine_.revision_tree(table, id, options.scope.get())) {
      w.start_object();
      w.field("revision", node.revision.str());
      w.string("parent");
      if (node.parent.empty()) {
        w.null();
      } else {
        w.string(node.parent.str());
      }
      w.field_bool("deleted", node.deleted);
      w.field_bool("leaf", node.leaf);
      w.field_bool("stub", node.stub);
      w.field_bool("winner", node.winner);
      w.end_object();
    }
    w.end_array();
    body.pop_back();  // the record object's closing brace
    body += ",\"tree\":" + w.str() + "}";
  }
  return json_response(200, body);
}

HttpResponse Router::put_record(Context& c) {
  const std::string& table = c.segments[2];
  c.require_write(table);
  Edit edit = edit_from_json(c.request.body, Edit::Kind::put, table, c.segments[4], options_.json);
  edit.table = table;
  edit.id = c.segments[4];
  return write_one(c, edit, 200);
}

HttpResponse Router::delete_record(Context& c) {
  const std::string& table = c.segments[2];
  c.require_write(table);
  Edit edit;
  edit.kind = Edit::Kind::remove;
  edit.table = table;
  edit.id = c.segments[4];
  std::string revision = c.query.get_or("revision");
  if (revision.empty()) {
    throw Error(ErrorCode::invalid_revision,
                "DELETE needs ?revision=LEAF naming the revision to delete");
  }
  edit.parent = Revision::parse(revision);
  return write_one(c, edit, 200);
}

HttpResponse Router::resolve_record(Context& c) {
  const std::string& table = c.segments[2];
  c.require_write(table);
  Edit edit =
      edit_from_json(c.request.body, Edit::Kind::resolve, table, c.segments[4], options_.json);
  edit.table = table;
  edit.id = c.segments[4];
  return write_one(c, edit, 200);
}

HttpResponse Router::list_conflicts(Context& c) {
  const std::string table = c.query.get_or("table");
  const std::string after = c.query.get_or("after");
  const size_t limit = c.query.count("limit", kDefaultPage, options_.max_page);
  if (!table.empty()) c.require_read(table);
  std::shared_ptr<const Scope> scope = read_scope(c);
  if (!table.empty() || c.token.admin) {
    return json_response(
        200, conflict_page_to_json(engine_.list_conflicts(table, after, limit, scope.get())));
  }
  // Every readable table, one after the other in the engine's order (by
  // name), so that neither the entries nor `next` ever pass through a table
  // this token may not read. The cursor is "table/id", as the engine's.
  std::vector<std::string> readable;
  for (const Table& t : engine_.list_tables()) {
    if (c.token.can_read(t.name)) readable.push_back(t.name);
  }
  std::sort(readable.begin(), readable.end());
  const size_t slash = after.find('/');
  const std::string after_table = slash == std::string::npos ? "" : after.substr(0, slash);
  ConflictPage page;
  for (const std::string& t : readable) {
    if (page.entries.size() >= limit) break;
    if (t < after_table) continue;
    ConflictPage part = engine_.list_conflicts(t, t == after_table ? after : "",
                                               limit - page.entries.size(), scope.get());
    for (ConflictEntry& e : part.entries) page.entries.push_back(std::move(e));
  }
  if (page.entries.size() == limit) {
    page.next = page.entries.back().table + "/" + page.entries.back().id;
  }
  return json_response(200, conflict_page_to_json(page));
}

HttpResponse Router::changes(Context& c) {
  ChangesRequest request;
  request.since = c.query.get_or("since");
  request.limit = c.query.count("limit", options_.max_page, options_.max_page);
  request.tables = split_list(c.query.get_or("tables"));
  for (const std::string& t : request.tables) c.require_read(t);
  // A request's scope creates no index (a read never writes): a hub's
  // indexes come from `outpost scope prepare` or a stored scope.
  request.scope = read_scope(c);
  // Under a token's scope, a record is named as removed only when it had a
  // body in the scope here: one never seen in it stays unknown.
  request.stubs_count = !c.read_scope;
  bool nothing_readable = false;
  if (request.tables.empty() && !c.token.admin) {
    request.tables = c.token.read;  // only what this token may read
    nothing_readable = request.tables.empty();
  }

  std::string feed = c.query.get_or("feed", "normal");
  int timeout_ms = 0;
  if (feed == "longpoll") {
    timeout_ms = options_.default_longpoll_ms;
    if (auto t = c.query.get("timeout_ms")) {
      bool digits = !t->empty() && t->size() <= 9 && std::all_of(t->begin(), t->end(), [](char ch) {
        return ch >= '0' && ch <= '9';
      });
      if (!digits) {
        throw Error(ErrorCode::invalid_value, "timeout_ms takes a whole number of milliseconds");
      }
      timeout_ms = std::stoi(*t);
    }
    timeout_ms = std::min(timeout_ms, options_.max_longpoll_ms);
  } else if (feed != "normal") {
    throw Error(ErrorCode::invalid_value,
                "feed takes normal or longpoll, not " + quote_for_message(feed, 40));
  }

  struct Waiter {
    Metrics& m;
    explicit Waiter(Metrics& metrics) : m(metrics) { m.feed_waiter_added(); }
    ~Waiter() { m.feed_waiter_removed(); }
  };
  std::optional<Waiter> waiter;
  if (!c.may_wait) timeout_ms = 0;
  if (timeout_ms > 0) {
    if (static_cast<size_t>(metrics_->feed_waiters()) >= options_.max_feed_waiters) {
      timeout_ms = 0;  // too many waiting: answer now, the client polls again
    } else {
      waiter.emplace(*metrics_);
    }
  }

  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto remaining = [&] {
    return static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                deadline - std::chrono::steady_clock::now())
                                .count());
  };
  if (nothing_readable) {
    // A token that reads nothing sees an empty feed; a long-poll still
    // waits, until the deadline or stop().
    std::mutex mu;
    std::condition_variable_any never_notified;
    std::unique_lock lock(mu);
    never_notified.wait_until(lock, stop_source_.get_token(), deadline, [] { return false; });
    ChangesPage page;
    page.last_seq = request.since;
    return json_response(200, changes_to_json(page));
  }
  // One wait in the engine, which stop() cuts short.
  request.timeout_ms = stopping_ ? 0 : std::max(0, remaining());
  request.stop = stop_source_.get_token();
  ChangesPage page = engine_.changes(request);
  // A long-poll that waited re-checks its token before delivering: one
  // revoked (or expired) meanwhile gets nothing more.
  if (timeout_ms > 0 && !page.results.empty()) {
    std::optional<Token> now = options_.auth ? lookup_token(c.request) : c.token;
    if (!now) {
      throw Error(ErrorCode::unauthorized,
                  "the bearer token was revoked or expired while this long-poll waited");
    }
    if (now->scope != c.token.scope || now->read != c.token.read) {
      // Re-scoped meanwhile: what was read under the old scope is not
      // delivered; the client asks again (and sees the new one in GET /v1).
      page.results.clear();
      page.last_seq = request.since;
    }
  }
  return json_response(200, changes_to_json(page));
}

HttpResponse Router::revs_diff(Context& c) {
  std::vector<RevsDiffQuery> queries = revs_diff_request_from_json(c.request.body, options_.json);
  std::shared_ptr<const Scope> scope = diff_scope(c);
  if (queries.size() > options_.max_batch_docs) {
    throw too_many("revs_diff", queries.size(), options_.max_batch_docs);
  }
  // A bad table name is invalid_name whatever the token may see.
  for (const RevsDiffQuery& q : queries) validate_table_name(q.table);
  // Tables the token may neither read nor write: everything is "missing" and
  // no leaves are shown (a later write is refused per document).
  std::vector<RevsDiffQuery> allowed;
  for (const RevsDiffQuery& q : queries) {
    if (c.token.can_read(q.table) || c.token.can_write(q.table)) allowed.push_back(q);
  }
  std::vector<RevsDiffResult> answered =
      allowed.empty() ? std::vector<RevsDiffResult>{} : engine_.revs_diff(allowed, scope.get());
  std::vector<RevsDiffResult> results;
  results.reserve(queries.size());
  size_t next = 0;
  for (const RevsDiffQuery& q : queries) {
    if ((c.token.can_read(q.table) || c.token.can_write(q.table)) && next < answered.size()) {
      results.push_back(std::move(answered[next++]));
    } else {
      results.push_back(RevsDiffResult{q.table, q.id, q.revisions, {}});
    }
  }
  return json_response(200, revs_diff_response_to_json(results));
}

HttpResponse Router::bulk_get(Context& c) {
  std::vector<BulkGetQuery> queries = bulk_get_request_from_json(c.request.body, options_.json);
  std::shared_ptr<const Scope> scope = read_scope(c);
  if (queries.size() > options_.max_batch_docs) {
    throw too_many("bulk_get", queries.size(), options_.max_batch_docs);
  }
  std::vector<BulkGetQuery> allowed;
  for (const BulkGetQuery& q : queries) {
    if (c.token.can_read(q.table)) allowed.push_back(q);
  }
  std::vector<BulkGetResult> answered =
      allowed.empty() ? std::vector<BulkGetResult>{} : engine_.bulk_get(allowed, scope.get());
  if (answered.size() != allowed.size()) {
    throw Error(ErrorCode::internal, "the engine answered bulk_get with the wrong count");
  }
  std::vector<BulkGetResult> results;
  results.reserve(queries.size());
  size_t next = 0;
  for (const BulkGetQuery& q : queries) {
    if (c.token.can_read(q.table)) {
      results.push_back(std::move(answered[next++]));
    } else {
      results.push_back(BulkGetResult{
          std::nullopt, Error(ErrorCode::forbidden,
                              "this token may not read table " + quote_for_message(q.table))});
    }
  }
  return json_response(200, bulk_get_response_to_json(queries, results));
}

HttpResponse Router::bulk_docs(Context& c) {
  BulkDocsRequest request = bulk_docs_request_from_json(c.request.body, options_.json);
  size_t total = request.edits.size() + request.revisions.size() + request.rejected.size();
  if (total > options_.max_batch_docs) throw too_many("bulk_docs", total, options_.max_batch_docs);
  // A local document to store with the batch is checked before anything
  // is written.
  std::string local;
  if (!request.local_id.empty()) {
    local = stored_local_id(c, request.local_id);
    check_json(request.local_doc, options_.json);
  }

  // Positions in "docs" of the decoded documents, in order.
  std::vector<size_t> positions;
  {
    size_t r = 0;
    for (size_t i = 0; i < total; ++i) {
      if (r < request.rejected.size() && request.rejected[r].index == i) {
        ++r;
      } else {
        positions.push_back(i);
      }
    }
  }
  // Documents for tables the token may not write are refused one by one.
  auto refuse = [&](size_t position, const std::string& table, const std::string& id) {
    WriteResult result;
    result.table = table;
    result.id = id;
    result.error =
        Error(ErrorCode::forbidden, "this token may not write table " + quote_for_message(table));
    request.rejected.push_back({position, std::move(result)});
  };
  std::vector<WriteResult> written;
  if (request.new_edits) {
    std::vector<Edit> allowed;
    for (size_t i = 0; i < request.edits.size(); ++i) {
      Edit& e = request.edits[i];
      if (c.token.can_write(e.table)) {
        allowed.push_back(std::move(e));
      } else {
        refuse(positions.at(i), e.table, e.id);
      }
    }
    if (!allowed.empty()) {
      written =
          c.write_scope ? engine_.write_within(allowed, *c.write_scope) : engine_.write(allowed);
    }
  } else {
    std::vector<RemoteRevision> allowed;
    for (size_t i = 0; i < request.revisions.size(); ++i) {
      RemoteRevision& r = request.revisions[i];
      if (c.token.can_write(r.table)) {
        allowed.push_back(std::move(r));
      } else {
        refuse(positions.at(i), r.table, r.id);
      }
    }
    if (!allowed.empty()) {
      written = c.write_scope ? engine_.write_replicated_within(allowed, *c.write_scope)
                              : engine_.write_replicated(allowed);
      metrics_->add_replication_batch();
    }
  }
  std::sort(request.rejected.begin(), request.rejected.end(),
            [](const auto& a, const auto& b) { return a.index < b.index; });
  size_t ok = 0;
  for (const WriteResult& w : written) ok += w.ok() ? 1 : 0;
  metrics_->add_revisions_written(ok);
  if (local.empty()) {
    return json_response(200,
                         write_results_to_json(bulk_docs_results(request, std::move(written))));
  }
  // Stored only once every document is written: a checkpoint never passes
  // a document the target refused (DESIGN.md section 7).
  const bool all_written = request.rejected.empty() && ok == written.size();
  if (all_written) engine_.put_local(local, request.local_doc);
  return json_response(200, write_results_saved_to_json(
                                bulk_docs_results(request, std::move(written)), all_written));
}

// The stored id of the local document `id` a request names: the token's
// own (token_local_id) with auth, the name itself without.
std::string Router::stored_local_id(const Context& c, const std::string& id) const {
  if (id.empty() || id.size() > kMaxClientLocalIdBytes) {
    throw Error(ErrorCode::invalid_name,
                "a local document id is 1 to " + std::to_string(kMaxClientLocalIdBytes) + " bytes");
  }
  return options_.auth ? token_local_id(c.token.name, id) : id;
}

std::string Router::local_id(const Context& c) const { return stored_local_id(c, c.segments[2]); }

HttpResponse Router::get_local(Context& c) {
  std::optional<std::string> doc = engine_.get_local(local_id(c));
  if (!doc) {
    throw Error(ErrorCode::not_found,
                "there is no local document " + quote_for_message(c.segments[2]));
  }
  return json_response(200, std::move(*doc));
}

HttpResponse Router::put_local(Context& c) {
  const std::string id = local_id(c);
  check_json(c.request.body, options_.json);
  engine_.put_local(id, c.request.body);
  return json_response(200, R"({"ok":true})");
}

HttpResponse Router::list_peers(Context& c) {
  c.require_admin();
  std::vector<Token> tokens =
      options_.tokens ? options_.tokens->list_tokens() : std::vector<Token>{};
  return json_response(
      200, peers_report_to_json(engine_.db_id(), peer_checkpoints(engine_.list_local()), tokens));
}

// ---------------------------------------------------------------- tokens --

TokenStore& Router::token_store(Context& c) {
  c.require_admin();
  if (!options_.tokens) {
    throw Error(ErrorCode::unavailable, "this database does not store API tokens");
  }
  return *options_.tokens;
}

namespace {

Error no_token(const std::string& name) {
  return Error(ErrorCode::not_found, "there is no token named " + quote_for_message(name, 80));
}

std::optional<Token> find_token(TokenStore& store, const std::string& name) {
  for (Token& t : store.list_tokens()) {
    if (t.name == name) return std::move(t);
  }
  return std::nullopt;
}

}  // namespace

HttpResponse Router::list_tokens(Context& c) {
  return json_response(200, tokens_to_json(token_store(c).list_tokens()));
}

// A scope text a token is to be given, checked against this server's
// limits (the store checks it against the tables).
void Router::check_scope_limits(const std::optional<std::string>& text) {
  if (!text || text->empty()) return;
  parse_scope(*text, engine_.list_tables(), options_.scope_limits);
}

HttpResponse Router::create_token(Context& c) {
  TokenStore& store = token_store(c);
  Token token = token_request_from_json(c.request.body, options_.json);
  check_scope_limits(token.scope);
  check_scope_limits(token.write_scope);
  std::string secret = store.create_token(token);
  std::optional<Token> stored = find_token(store, token.name);
  if (!stored) throw Error(ErrorCode::internal, "the new token was not found");
  return json_response(201, created_token_to_json(*stored, secret));
}

HttpResponse Router::get_token(Context& c) {
  std::optional<Token> token = find_token(token_store(c), c.segments[2]);
  if (!token) throw no_token(c.segments[2]);
  return json_response(200, token_to_json(*token));
}

HttpResponse Router::update_token(Context& c) {
  TokenStore& store = token_store(c);
  TokenUpdate update = token_update_from_json(c.request.body, options_.json);
  check_scope_limits(update.scope);
  check_scope_limits(update.write_scope);
  if (!c.query.flag("dry_run")) {
    return json_response(200, token_to_json(store.update_token(c.segments[2], update)));
  }
  // The token as it would be, and what that would move; nothing is saved.
  std::optional<Token> before = find_token(store, c.segments[2]);
  if (!before) throw no_token(c.segments[2]);
  update.dry_run = true;
  const Token after = store.update_token(c.segments[2], update);
  return json_response(200, "{\"token\":" + token_to_json(after) +
                                ",\"preview\":" + rescope_preview(*before, after) + "}");
}

HttpResponse Router::revoke_token(Context& c) {
  if (!token_store(c).revoke_token(c.segments[2])) throw no_token(c.segments[2]);
  JsonBuilder w;
  w.start_object();
  w.field("name", c.segments[2]);
  w.field_bool("revoked", true);
  w.end_object();
  return json_response(200, w.str());
}

}  // namespace outpost::server
