#include "client/http_engine.h"

#include <algorithm>
#include <span>
#include <type_traits>
#include <unordered_map>

#include "api/error.h"
#include "api/json.h"
#include "api/round_trips.h"
#include "utils/backoff.h"
#include "utils/log.h"
#include "utils/uuid.h"

namespace outpost {

namespace {

// The code a status stands for when the body is not an error object (a
// proxy's page, an empty body).
ErrorCode code_of_status(int status) {
  switch (status) {
    case 400:
      return ErrorCode::invalid_json;
    case 401:
      return ErrorCode::unauthorized;
    case 403:
      return ErrorCode::forbidden;
    case 404:
      return ErrorCode::not_found;
    case 409:
      return ErrorCode::conflict;
    case 413:
      return ErrorCode::too_large;
    case 415:
      return ErrorCode::unsupported_media_type;
    case 507:
      return ErrorCode::disk_full;
    case 429:
    case 502:
    case 503:
    case 504:
      return ErrorCode::unavailable;
    default:
      return ErrorCode::internal;
  }
}

bool retryable_status(int status) { return status == 502 || status == 503 || status == 504; }

Error error_of_response(const HttpUrl& url, const HttpRequest& request,
                        const HttpResponse& response) {
  try {
    if (!response.body.empty()) {
      Error decoded = error_from_json(response.body);
      if (response.status >= 500) {
        return Error(decoded.code(), url.str() + ": " + decoded.message());
      }
      return decoded;
    }
  } catch (const Error&) {
    // Not an error object: fall back on the status.
  }
  std::string text = response.body.substr(0, 200);
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < ' ') c = ' ';
  }
  return Error(code_of_status(response.status),
               url.str() + ": " + request.method + " " + request.target + " answered HTTP " +
                   std::to_string(response.status) + (text.empty() ? "" : ": " + text));
}

// A page size for the query: empty (the server's default) for 0, and
// capped where the server caps anyway, so that SIZE_MAX ("all") is understood.
// The canonical text of a scope, "" (left out) without one.
std::string scope_param(const Scope* scope) { return scope ? scope_text(*scope) : std::string(); }

std::string limit_param(size_t limit) {
  if (limit == 0) return {};
  return std::to_string(std::min<size_t>(limit, 1000000000));
}

std::string table_path(const std::string& table) { return "/v1/tables/" + percent_encode(table); }

// What an answer may hold, by what was asked (HttpRequest::max_response_body):
// a server that sends more is refused (too_large) before the client holds it.
constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * kKiB;
// GET /v1 and one table's definition.
constexpr size_t kSmallAnswer = 4 * kMiB;
// Every table's definitions (GET /v1?tables=true, GET /v1/tables).
constexpr size_t kTablesAnswer = 16 * kMiB;
// The envelope of a list answer, and what one entry may take: a feed entry
// or revs_diff result (an id and its leaves), a bulk_docs result (an id and
// an error message).
constexpr size_t kEnvelope = 64 * kKiB;
constexpr size_t kPerEntry = 16 * kKiB;
constexpr size_t kPerResult = 4 * kKiB;

// The bytes one bulk_get call may read of answers that turn out too large
// before it stops asking: a server that says its length up front (outpost's
// does) costs nothing here, one that streams (a hostile one) a limit's worth
// per answer.
constexpr uint64_t kOversizedBytes = 128 * kMiB;

size_t answer_for(size_t entries, size_t per_entry) {
  const size_t most = (SIZE_MAX - kEnvelope) / per_entry;
  return kEnvelope + std::min(entries, most) * per_entry;
}

HttpRequest get_request(std::string target, size_t max_answer) {
  HttpRequest r{"GET", std::move(target), {}, {}};
  r.max_response_body = max_answer;
  return r;
}

std::string record_path(const std::string& table, const std::string& id) {
  return table_path(table) + "/records/" + percent_encode(id);
}

// Calls `fn` on consecutive slices of `items` no larger than `max`, and
// concatenates the results.
template <typename T, typename Fn>
auto in_slices(const std::vector<T>& items, size_t max, Fn&& fn) {
  using Result = decltype(fn(std::span<const T>()));
  if (items.size() <= max) return fn(std::span<const T>(items));
  Result all;
  all.reserve(items.size());
  for (size_t at = 0; at < items.size(); at += max) {
    Result part = fn(std::span<const T>(items).subspan(at, std::min(max, items.size() - at)));
    std::move(part.begin(), part.end(), std::back_inserter(all));
  }
  return all;
}

template <typename T>
std::vector<T> to_vector(std::span<const T> slice) {
  return std::vector<T>(slice.begin(), slice.end());
}

// An answer that does not fit its question: the server is faulty or
// hostile, and nothing of the answer may be used.
[[noreturn]] void bad_answer(const HttpUrl& url, std::string_view route, const std::string& what) {
  throw Error(ErrorCode::internal, url.str() + ": the answer to " + std::string(route) + " " +
                                       what +
                                       " (a faulty or hostile server; nothing of it was used)");
}

// "table/id" for a message about an answer, cut short (a hostile server
// chooses these names).
std::string named(const std::string& table, const std::string& id) {
  return table.substr(0, 64) + "/" + id.substr(0, 100);
}

std::string key_of(const std::string& table, const std::string& id) {
  std::string key = table;
  key += '\0';
  key += id;
  return key;
}

// A revs_diff answer names only records that were asked about (once each:
// the codec refuses a repeated key), and calls missing only revisions that
// were asked about.
void check_revs_diff_answer(const HttpUrl& url, std::span<const RevsDiffQuery> asked,
                            const std::vector<RevsDiffResult>& answer) {
  std::unordered_map<std::string, const RevsDiffQuery*> by_key;
  for (const RevsDiffQuery& q : asked) by_key.emplace(key_of(q.table, q.id), &q);
  for (const RevsDiffResult& r : answer) {
    const std::string key = key_of(r.table, r.id);
    auto it = by_key.find(key);
    if (it == by_key.end()) {
      bad_answer(url, "revs_diff", "names " + named(r.table, r.id) + ", which was not asked about");
    }
    const std::vector<Revision>& revisions = it->second->revisions;
    for (const Revision& m : r.missing) {
      if (std::find(revisions.begin(), revisions.end(), m) == revisions.end()) {
        bad_answer(url, "revs_diff",
                   "calls " + named(r.table, r.id) + " " + m.str() +
                       " missing, a revision that was not asked about");
      }
    }
  }
}

// A bulk_get answer has one result per query, in order, each the revision
// asked for (table, id and revision) or an error.
void check_bulk_get_answer(const HttpUrl& url, std::span<const BulkGetQuery> asked,
                           const std::vector<BulkGetResult>& answer) {
  if (answer.size() != asked.size()) {
    bad_answer(url, "bulk_get",
               "has " + std::to_string(answer.size()) + " results for " +
                   std::to_string(asked.size()) + " queries");
  }
  for (size_t i = 0; i < asked.size(); ++i) {
    const std::optional<RemoteRevision>& got = answer[i].revision;
    if (!got) continue;
    const BulkGetQuery& q = asked[i];
    if (got->table != q.table || got->id != q.id || got->revision != q.revision) {
      bad_answer(url, "bulk_get",
                 "returns " + named(got->table, got->id) + " " + got->revision.str() + " where " +
                     named(q.table, q.id) + " " + q.revision.str() + " was asked for");
    }
  }
}

}  // namespace

HttpEngine::HttpEngine(HttpUrl url, std::unique_ptr<Transport> transport, HttpClientOptions options)
    : url_(std::move(url)), transport_(std::move(transport)), options_(std::move(options)) {
  options_.max_batch = std::max<size_t>(1, options_.max_batch);
  options_.max_attempts = std::max(1, options_.max_attempts);
}

HttpEngine::~HttpEngine() = default;

uint64_t HttpEngine::bytes_moved() const { return transport_->bytes_moved(); }

uint64_t HttpEngine::requests_sent() const { return requests_.load(std::memory_order_relaxed); }

std::optional<Traffic> HttpEngine::traffic() {
  Traffic t;
  t.requests = requests_.load();
  t.round_trips = answered_depth_.load();
  t.wire_bytes = transport_->bytes_moved();
  t.plain_bytes = transport_->plain_bytes_moved();
  return t;
}

HttpResponse HttpEngine::call(HttpRequest request, bool retry) {
  const int max_attempts = retry ? options_.max_attempts : 1;
  Backoff backoff(options_.retry_base, options_.retry_cap, max_attempts);
  for (;;) {
    backoff.next_attempt();
    const bool last = backoff.attempts() >= max_attempts;
    ++requests_;
    // One round trip deeper than what led to sending it (api/round_trips.h);
    // counted when it ends, answered or not (a broken exchange took its
    // time too).
    const uint64_t depth = causal_depth() + 1;
    auto answered = [&] {
      set_causal_depth(depth);
      uint64_t seen = answered_depth_.load();
      while (seen < depth && !answered_depth_.compare_exchange_weak(seen, depth)) {
      }
    };
    HttpResponse response;
    try {
      response = transport_->send(request);
      answered();
    } catch (const TransportFailure& failure) {
      answered();
      if (failure.transient() && !last) {
        backoff.wait();
        continue;
      }
      std::string message = failure.what();
      if (failure.transient() && backoff.attempts() > 1) {
        message += " (after " + std::to_string(backoff.attempts()) + " attempts)";
      }
      if (failure.over_body_limit() && !request.oversized_answer_is_error &&
          request.max_response_body != 0 &&
          request.max_response_body < options_.max_response_body) {
        // An answer larger than the question allows, not only larger than
        // this client takes (a server's 413 is an answer, not a
        // TransportFailure): the server is at fault, and a caller must not
        // take it for a refusal of its request.
        throw Error(ErrorCode::internal,
                    message +
                        " (more than the request can be answered with: a faulty or "
                        "hostile server)");
      }
      throw Error(failure.code(), message);
    }
    if (response.status >= 200 && response.status < 300) return response;
    if (retryable_status(response.status) && !last) {
      backoff.wait();
      continue;
    }
    throw error_of_response(url_, request, response);
  }
}

std::optional<HttpResponse> HttpEngine::call_or_missing(HttpRequest request, ErrorCode a,
                                                        ErrorCode b) {
  try {
    return call(std::move(request));
  } catch (const Error& e) {
    if (e.code() == a || e.code() == b) return std::nullopt;
    throw;
  }
}

ServerInfo HttpEngine::info() {
  ServerInfo info = info_from_json(call(get_request("/v1", kSmallAnswer)).body);
  remember_limits(info);
  return info;
}

ServerInfo HttpEngine::info_with_tables() {
  ServerInfo about = info_from_json(call(get_request("/v1?tables=true", kTablesAnswer)).body);
  remember_limits(about);
  // A server that does not list them there (an older one): ask apart.
  if (!about.tables) about.tables = list_tables();
  return about;
}

std::optional<Scope> HttpEngine::scope() {
  ServerInfo about = info_with_tables();
  if (about.scope.empty()) return std::nullopt;
  return parse_scope(about.scope, *about.tables);
}

std::optional<Scope> HttpEngine::token_scope() {
  ServerInfo about = info_with_tables();
  if (about.token_scope.empty()) return std::nullopt;
  return parse_scope(about.token_scope, *about.tables);
}

std::optional<Scope> HttpEngine::token_write_scope() {
  ServerInfo about = info_with_tables();
  return readable_write_scope(about.token_write_scope, *about.tables);
}

std::optional<Scope> HttpEngine::readable_write_scope(const std::string& text,
                                                      const std::vector<Table>& tables) {
  if (text.empty()) return std::nullopt;
  try {
    return parse_scope(text, tables);
  } catch (const Error& e) {
    // A write scope naming a table the token may not read (the server
    // shows only readable tables): not known here, which only means that
    // pushes carry no parents' bodies for hand-overs.
    if (e.code() != ErrorCode::invalid_scope) throw;
    log_warn("http", "the token's write scope names tables this client cannot see",
             {{"message", e.message()}});
    return std::nullopt;
  }
}

std::string HttpEngine::request(const std::string& method, const std::string& target,
                                std::string body, bool retry) {
  return call({method, target, std::move(body), {}}, retry).body;
}

void HttpEngine::remember_limits(const ServerInfo& info) {
  RequestLimits limits;
  limits.body_bytes = options_.max_request_body;
  limits.batch_docs = options_.max_batch;
  if (info.max_body_bytes > 0) limits.body_bytes = info.max_body_bytes;
  if (info.max_batch_docs > 0)
    limits.batch_docs = std::min<size_t>(limits.batch_docs, info.max_batch_docs);
  std::lock_guard lock(limits_mu_);
  limits_ = limits;
}

size_t HttpEngine::largest_document() {
  size_t body = options_.max_request_body;
  {
    std::lock_guard lock(limits_mu_);
    if (limits_) body = limits_->body_bytes;
  }
  // What the server stored came in a request no larger than its limit; a
  // revision read back carries its ancestry as well. Never more than an
  // answer may hold at all (a server may advertise any limit).
  return std::min(std::max(body, options_.max_request_body), options_.max_response_body) +
         kSmallAnswer;
}

size_t HttpEngine::known_batch_docs() {
  std::lock_guard lock(limits_mu_);
  return limits_ ? limits_->batch_docs : options_.max_batch;
}

HttpEngine::RequestLimits HttpEngine::request_limits() {
  {
    std::lock_guard lock(limits_mu_);
    if (limits_) return *limits_;
  }
  info();
  std::lock_guard lock(limits_mu_);
  return *limits_;
}

std::string HttpEngine::db_id() { return info().db_id; }

std::string HttpEngine::backend() { return "http"; }

std::string HttpEngine::update_seq() { return info().update_seq; }

std::vector<Table> HttpEngine::list_tables() {
  return tables_from_json(call(get_request("/v1/tables", kTablesAnswer)).body);
}

std::optional<Table> HttpEngine::get_table(const std::string& name) {
  std::optional<HttpResponse> response = call_or_missing(
      get_request(table_path(name), kSmallAnswer), ErrorCode::unknown_table, ErrorCode::not_found);
  if (!response) return std::nullopt;
  return table_from_json(response->body);
}

Table HttpEngine::put_table(const Table& table) {
  HttpRequest put{"PUT", table_path(table.name), table_to_json(table), {}};
  put.max_response_body = kSmallAnswer;
  return table_from_json(call(std::move(put)).body);
}

namespace {

constexpr bool new_edits_of(const Edit*) { return true; }
constexpr bool new_edits_of(const RemoteRevision*) { return false; }
Revision revision_of(const Edit&) { return {}; }
Revision revision_of(const RemoteRevision& revision) { return revision.revision; }

// A deletion carries its parent's body as a courtesy (RemoteRevision::
// parent_attributes): a tombstone must reach every peer, so one that would
// not fit a request of `room` bytes with that body goes without it (the
// receiver then holds the parent as a stub). Re-encodes `encoded` only when
// some document changed.
void shed_parent_bodies(const std::vector<RemoteRevision>& docs, EncodedDocs& encoded,
                        size_t room) {
  std::vector<size_t> shed;
  for (size_t i = 0; i < docs.size(); ++i) {
    if (encoded.size_of(i) > room && docs[i].deleted && docs[i].parent_attributes) {
      shed.push_back(i);
    }
  }
  if (shed.empty()) return;
  // Rare: the batch is copied and encoded again.
  std::vector<RemoteRevision> lighter = docs;
  for (size_t i : shed) lighter[i].parent_attributes.reset();
  encoded = encode_bulk_docs(lighter);
}

}  // namespace

// POST /v1/bulk_docs in requests that fit the server's limits, in order;
// one result per document. A document that cannot fit in any request (a
// deletion once it has shed its parent's body) is answered too_large here,
// without being sent.
template <typename Doc>
std::vector<WriteResult> HttpEngine::post_bulk_docs(const std::vector<Doc>& docs,
                                                    LocalToSave* local) {
  RequestLimits limits = request_limits();
  bool limits_refreshed = false;
  const bool new_edits = new_edits_of(static_cast<const Doc*>(nullptr));
  EncodedDocs encoded = encode_bulk_docs(docs);
  const size_t envelope = bulk_docs_request_from_parts(new_edits, encoded, 0, 0).size();
  auto fit_deletions = [&] {
    if constexpr (std::is_same_v<Doc, RemoteRevision>) {
      shed_parent_bodies(docs, encoded, limits.body_bytes - std::min(envelope, limits.body_bytes));
    }
  };
  fit_deletions();
  // What the local document adds to the request that carries it.
  const size_t local_bytes =
      local
          ? bulk_docs_request_from_parts(new_edits, encoded, 0, 0, local->id, local->json).size() -
                envelope
          : 0;

  std::vector<WriteResult> results(docs.size());
  size_t at = 0;
  while (at < docs.size()) {
    if (envelope + encoded.size_of(at) > limits.body_bytes) {
      WriteResult& r = results[at];
      r.table = docs[at].table;
      r.id = docs[at].id;
      r.revision = revision_of(docs[at]);
      r.error = Error(ErrorCode::too_large,
                      "the document is " + std::to_string(encoded.size_of(at)) +
                          " bytes as JSON; " + url_.str() + " takes requests of at most " +
                          std::to_string(limits.body_bytes) + " bytes");
      ++at;
      continue;
    }
    // Documents [at, end): the first always fits; a ',' goes between two.
    size_t end = at + 1;
    size_t bytes = envelope + encoded.size_of(at);
    while (end < docs.size() && end - at < limits.batch_docs &&
           bytes + 1 + encoded.size_of(end) <= limits.body_bytes) {
      bytes += 1 + encoded.size_of(end);
      ++end;
    }
    // The local document goes with the last request, when every document
    // before it was written and it still fits the server's limit (else the
    // caller stores it apart).
    const bool with_local =
        local != nullptr && end == docs.size() && bytes + local_bytes <= limits.body_bytes &&
        std::all_of(results.begin(), results.begin() + static_cast<std::ptrdiff_t>(at),
                    [](const WriteResult& r) { return r.ok(); });
    std::vector<WriteResult> part;
    try {
      const std::string body =
          with_local
              ? bulk_docs_request_from_parts(new_edits, encoded, at, end, local->id, local->json)
              : bulk_docs_request_from_parts(new_edits, encoded, at, end);
      bool saved = false;
      HttpRequest post{"POST", "/v1/bulk_docs", body, {}};
      post.max_response_body = answer_for(end - at, kPerResult);
      part = write_results_saved_from_json(call(std::move(post)).body, saved);
      if (with_local) local->saved = saved;
    } catch (const Error& e) {
      // The server's limits changed (a restart with a smaller --max-body):
      // read them again and split anew, once.
      if (e.code() != ErrorCode::too_large || limits_refreshed) throw;
      limits_refreshed = true;
      info();
      limits = request_limits();
      encoded = encode_bulk_docs(docs);
      fit_deletions();
      continue;
    }
    if (part.size() != end - at) {
      throw Error(ErrorCode::internal, url_.str() + ": bulk_docs answered " +
                                           std::to_string(part.size()) + " results for " +
                                           std::to_string(end - at) + " documents");
    }
    std::move(part.begin(), part.end(), results.begin() + static_cast<std::ptrdiff_t>(at));
    at = end;
  }
  return results;
}

std::vector<WriteResult> HttpEngine::write(const std::vector<Edit>& edits) {
  // A create without an id gets its UUID here rather than on the server, so
  // that a retried request (the response was lost) cannot create it twice.
  auto is_create = [](const Edit& e) {
    return e.id.empty() && e.kind == Edit::Kind::put && e.parent.empty();
  };
  const bool needs_ids = std::any_of(edits.begin(), edits.end(), is_create);
  std::vector<Edit> with_ids;
  if (needs_ids) {
    with_ids = edits;
    for (Edit& e : with_ids) {
      if (is_create(e)) e.id = uuid_v4();
    }
  }
  const std::vector<Edit>& all = needs_ids ? with_ids : edits;
  if (all.empty()) return {};
  return post_bulk_docs(all);
}

std::vector<WriteResult> HttpEngine::write_replicated(
    const std::vector<RemoteRevision>& revisions) {
  if (revisions.empty()) return {};
  return post_bulk_docs(revisions);
}

WrittenAndSaved HttpEngine::write_replicated_then_save(const std::vector<RemoteRevision>& revisions,
                                                       const std::string& id,
                                                       const std::string& json) {
  WrittenAndSaved out;
  if (revisions.empty()) {
    put_local(id, json);
    out.saved = true;
    return out;
  }
  LocalToSave local{id, json, false};
  out.results = post_bulk_docs(revisions, &local);
  out.saved = local.saved;
  // A server that does not store local documents with a batch (an older
  // one) answered without saying so: store it apart.
  if (!out.saved && std::all_of(out.results.begin(), out.results.end(),
                                [](const WriteResult& r) { return r.ok(); })) {
    put_local(id, json);
    out.saved = true;
  }
  return out;
}

Overview HttpEngine::overview() {
  ServerInfo about = info_with_tables();
  Overview o;
  o.db_id = about.db_id;
  o.tables = std::move(*about.tables);
  if (!about.scope.empty()) o.scope = parse_scope(about.scope, o.tables);
  if (!about.token_scope.empty()) {
    try {
      o.token_scope = parse_scope(about.token_scope, o.tables);
    } catch (const Error& e) {
      // Unknown here, as if the token had none: a replicator then trusts
      // nothing the token hides (reconciler/replicator.cpp).
      if (e.code() != ErrorCode::invalid_scope) throw;
      log_warn("http", "cannot read the token's scope", {{"message", e.message()}});
    }
  }
  o.token_write_scope = readable_write_scope(about.token_write_scope, o.tables);
  return o;
}

std::optional<Record> HttpEngine::get(const std::string& table, const std::string& id,
                                      const GetOptions& options) {
  std::string target =
      record_path(table, id) + query_string({{"rev", options.revision.str()},
                                             {"conflicts", options.conflicts ? "true" : ""},
                                             {"ancestry", options.ancestry ? "true" : ""},
                                             {"scope", scope_param(options.scope.get())}});
  std::optional<HttpResponse> response = call_or_missing(
      {"GET", std::move(target), {}, {}}, ErrorCode::not_found, ErrorCode::not_found);
  if (!response) return std::nullopt;
  return record_from_json(response->body);
}

RecordPage HttpEngine::list_records(const std::string& table, const std::string& after,
                                    size_t limit, const Scope* scope) {
  std::string target =
      table_path(table) + "/records" +
      query_string(
          {{"after", after}, {"limit", limit_param(limit)}, {"scope", scope_param(scope)}});
  return record_page_from_json(call({"GET", std::move(target), {}, {}}).body);
}

ConflictPage HttpEngine::list_conflicts(const std::string& table, const std::string& after,
                                        size_t limit, const Scope* scope) {
  std::string target = "/v1/conflicts" + query_string({{"table", table},
                                                       {"after", after},
                                                       {"limit", limit_param(limit)},
                                                       {"scope", scope_param(scope)}});
  return conflict_page_from_json(call({"GET", std::move(target), {}, {}}).body);
}

ChangesPage HttpEngine::changes(const ChangesRequest& request) {
  std::string target =
      "/v1/changes" +
      query_string(
          {{"since", request.since},
           {"limit", limit_param(request.limit)},
           {"feed", request.timeout_ms > 0 ? "longpoll" : ""},
           {"timeout_ms", request.timeout_ms > 0 ? std::to_string(request.timeout_ms) : ""},
           {"scope", scope_param(request.scope.get())}});
  if (!request.tables.empty()) {
    // Names are joined with a literal ',' (table names never contain one).
    target += target.find('?') == std::string::npos ? "?tables=" : "&tables=";
    for (size_t i = 0; i < request.tables.size(); ++i) {
      if (i > 0) target += ',';
      target += percent_encode(request.tables[i]);
    }
  }
  HttpRequest http = get_request(
      std::move(target),
      answer_for(request.limit == 0 ? kDefaultLimits.max_page : request.limit, kPerEntry));
  if (request.timeout_ms > 0) http.extra_timeout = std::chrono::milliseconds(request.timeout_ms);
  return changes_from_json(call(std::move(http)).body);
}

std::vector<RevsDiffResult> HttpEngine::revs_diff(const std::vector<RevsDiffQuery>& queries,
                                                  const Scope* scope) {
  if (queries.empty()) return {};
  return in_slices(queries, known_batch_docs(), [&](std::span<const RevsDiffQuery> slice) {
    const std::string body = slice.size() == queries.size()
                                 ? revs_diff_request_to_json(queries)
                                 : revs_diff_request_to_json(to_vector(slice));
    HttpRequest post{
        "POST", "/v1/revs_diff" + query_string({{"scope", scope_param(scope)}}), body, {}};
    post.max_response_body = answer_for(slice.size(), kPerEntry);
    std::vector<RevsDiffResult> answer = revs_diff_response_from_json(call(std::move(post)).body);
    check_revs_diff_answer(url_, slice, answer);
    return answer;
  });
}

std::vector<BulkGetResult> HttpEngine::bulk_get(const std::vector<BulkGetQuery>& queries,
                                                const Scope* scope) {
  if (queries.empty()) return {};
  uint64_t wasted = 0;
  return in_slices(queries, known_batch_docs(), [&](std::span<const BulkGetQuery> slice) {
    return bulk_get_slice(slice, scope, wasted);
  });
}

// One bulk_get request, its answer bounded by what the revisions can take
// (largest_document each; a single revision may take max_response_body, as a
// database may hold a document larger than its server's body limit). An
// answer over that is asked again in halves, down to the one revision too
// large to read, which gets its own too_large result; the others are still
// read. Once the oversized answers of one call have cost kOversizedBytes, the
// revisions not read yet get too_large without being asked for (recorded,
// and tried again by the next run): a server that streams oversized answers
// could otherwise make the client read a limit's worth again and again.
std::vector<BulkGetResult> HttpEngine::bulk_get_slice(std::span<const BulkGetQuery> slice,
                                                      const Scope* scope, uint64_t& wasted) {
  auto too_large = [&](const std::string& why) {
    std::vector<BulkGetResult> out;
    for (const BulkGetQuery& q : slice) {
      out.push_back(
          {std::nullopt, Error(ErrorCode::too_large, "revision " + q.revision.str() + ": " + why)});
    }
    return out;
  };
  if (wasted >= kOversizedBytes) {
    return too_large(
        "not asked for: earlier answers to the same bulk_get were larger than the "
        "client accepts (" +
        std::to_string(wasted) + " bytes read in vain)");
  }
  std::vector<BulkGetResult> results;
  const uint64_t read_before = transport_->bytes_moved();
  try {
    HttpRequest post{"POST",
                     "/v1/bulk_get" + query_string({{"scope", scope_param(scope)}}),
                     bulk_get_request_to_json(to_vector(slice)),
                     {}};
    post.max_response_body = slice.size() == 1 ? options_.max_response_body
                                               : answer_for(slice.size(), largest_document());
    post.oversized_answer_is_error = true;
    results = bulk_get_response_from_json(call(std::move(post)).body);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::too_large) throw;
    // Other calls running side by side add to the count too: it may only
    // stop asking sooner.
    wasted += transport_->bytes_moved() - read_before;
    if (slice.size() == 1) return too_large(e.message());
    const size_t half = slice.size() / 2;
    results = bulk_get_slice(slice.first(half), scope, wasted);
    std::vector<BulkGetResult> rest = bulk_get_slice(slice.subspan(half), scope, wasted);
    std::move(rest.begin(), rest.end(), std::back_inserter(results));
    return results;
  }
  check_bulk_get_answer(url_, slice, results);
  return results;
}

std::optional<std::string> HttpEngine::get_local(const std::string& id) {
  std::optional<HttpResponse> response =
      call_or_missing(get_request("/v1/local/" + percent_encode(id), largest_document()),
                      ErrorCode::not_found, ErrorCode::not_found);
  if (!response) return std::nullopt;
  return std::move(response->body);
}

void HttpEngine::put_local(const std::string& id, const std::string& json) {
  HttpRequest put{"PUT", "/v1/local/" + percent_encode(id), json, {}};
  put.max_response_body = kSmallAnswer;
  call(std::move(put));
}

std::vector<std::string> HttpEngine::check() {
  throw Error(ErrorCode::internal,
              url_.str() + ": check is not supported over HTTP; run it on the server's database");
}

std::unique_ptr<HttpEngine> open_http_engine(const std::string& url,
                                             const HttpClientOptions& options) {
  HttpUrl parsed = parse_http_url(url);
  std::unique_ptr<Transport> t = make_beast_transport(parsed, options);
  return std::make_unique<HttpEngine>(std::move(parsed), std::move(t), options);
}

}  // namespace outpost
