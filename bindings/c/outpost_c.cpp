// The C ABI (include/outpost.h) over the C++ Engine: every entry point
// checks its arguments, runs inside guarded() so that no exception leaves
// it, and speaks the HTTP API's JSON (api/json.h) in and out.
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "api/error.h"
#include "api/json.h"
#include "api/json_builder.h"
#include "api/scope.h"
#include "api/version.h"
#include "bindings/c/capi_internal.h"
#include "client/http_engine.h"
#include "client/url.h"
#include "engine/open.h"
#include "reconciler/scoping.h"
#include "reconciler/sync_session.h"
#include "utils/log.h"

namespace outpost::capi {
namespace {

static_assert(OUTPOST_INVALID_JSON == static_cast<int>(ErrorCode::invalid_json) + 1);
static_assert(OUTPOST_SCHEMA_CONFLICT == static_cast<int>(ErrorCode::schema_conflict) + 1);
static_assert(OUTPOST_INTERNAL == static_cast<int>(ErrorCode::internal) + 1);
static_assert(OUTPOST_DISK_FULL == static_cast<int>(ErrorCode::disk_full) + 1);

outpost_code code_of(ErrorCode code) {
  return static_cast<outpost_code>(static_cast<int>(code) + 1);
}

// A copy of `text` in memory the caller frees with outpost_free (free()).
char* copy_out(std::string_view text) {
  char* p = static_cast<char*>(std::malloc(text.size() + 1));
  if (p == nullptr) throw std::bad_alloc();
  std::memcpy(p, text.data(), text.size());
  p[text.size()] = '\0';
  return p;
}

// Stores `text` in *out when the caller asked for it.
void give(char** out, std::string_view text) {
  if (out != nullptr) *out = copy_out(text);
}

outpost_code fail(outpost_error* err, outpost_code code, std::string_view message) noexcept {
  if (err != nullptr) {
    std::free(err->message);
    err->code = code;
    err->message = static_cast<char*>(std::malloc(message.size() + 1));
    if (err->message != nullptr) {
      std::memcpy(err->message, message.data(), message.size());
      err->message[message.size()] = '\0';
    }
  }
  return code;
}

// Runs `fn` and turns whatever it throws into a code and a message. `fn`
// returns nothing (OUTPOST_OK) or the code itself.
template <typename Fn>
outpost_code guarded(outpost_error* err, Fn&& fn) noexcept {
  try {
    if constexpr (std::is_void_v<decltype(fn())>) {
      fn();
      return OUTPOST_OK;
    } else {
      return fn();
    }
  } catch (const Error& e) {
    return fail(err, code_of(e.code()), e.what());
  } catch (const std::bad_alloc&) {
    return fail(err, OUTPOST_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    try {
      return fail(err, OUTPOST_INTERNAL, std::string("unexpected failure: ") + e.what());
    } catch (...) {
      return fail(err, OUTPOST_INTERNAL, "unexpected failure");
    }
  } catch (...) {
    return fail(err, OUTPOST_INTERNAL, "unexpected failure of an unknown kind");
  }
}

[[noreturn]] void invalid(std::string message) {
  throw Error(ErrorCode::invalid_value, std::move(message));
}

std::string required(const char* text, std::string_view name) {
  if (text == nullptr) invalid(std::string(name) + " is NULL");
  return text;
}

// A database URL: never empty (open_engine would take $OUTPOST_DB, which
// is the CLI's default, not a library's).
std::string required_url(const char* text) {
  std::string url = required(text, "url");
  if (url.empty()) invalid("url is empty: name a database (sqlite:PATH) or a hub (http://...)");
  return url;
}

outpost::Engine& engine_of(outpost_db* db) {
  if (db == nullptr) invalid("db is NULL");
  if (!db->engine) throw Error(ErrorCode::internal, "the handle has no database");
  return *db->engine;
}

// An options object: NULL, or a JSON object whose keys are among `known`.
class Options {
 public:
  Options(const char* json, std::string_view what, std::initializer_list<std::string_view> known)
      : what_(what) {
    if (json == nullptr) return;
    check_json(json);  // depth-limited, with a clear message
    doc_ = JsonDoc::parse(json);
    if (!doc_ || !doc_->root().is_object()) {
      throw Error(ErrorCode::invalid_json, what_ + " must be a JSON object");
    }
    for (const auto& [key, value] : doc_->root().members()) {
      bool found = false;
      for (std::string_view k : known) found = found || k == key;
      if (found) continue;
      std::string names;
      for (std::string_view k : known) names += (names.empty() ? "" : ", ") + std::string(k);
      invalid(what_ + ": unknown key \"" + key + "\" (known: " + names + ")");
    }
  }

  bool has(std::string_view key) const { return node(key).has_value(); }

  std::optional<std::string> string(std::string_view key) const {
    std::optional<JsonNode> n = node(key);
    if (!n) return std::nullopt;
    if (!n->is_string()) wrong(key, "a string");
    return n->string();
  }

  std::optional<int64_t> integer(std::string_view key, int64_t min, int64_t max) const {
    std::optional<JsonNode> n = node(key);
    if (!n) return std::nullopt;
    std::optional<int64_t> v = n->integer();
    if (!v || *v < min || *v > max) {
      wrong(key, "an integer from " + std::to_string(min) + " to " + std::to_string(max));
    }
    return v;
  }

  bool boolean(std::string_view key) const {
    std::optional<JsonNode> n = node(key);
    if (!n) return false;
    if (!n->is_bool()) wrong(key, "true or false");
    return n->is_true();
  }

  std::vector<std::string> strings(std::string_view key) const {
    std::vector<std::string> out;
    std::optional<JsonNode> n = node(key);
    if (!n) return out;
    if (!n->is_array()) wrong(key, "an array of strings");
    for (const JsonNode& item : n->items()) {
      if (!item.is_string()) wrong(key, "an array of strings");
      out.push_back(item.string());
    }
    return out;
  }

 private:
  std::optional<JsonNode> node(std::string_view key) const {
    if (!doc_) return std::nullopt;
    return doc_->root().member(key);
  }

  [[noreturn]] void wrong(std::string_view key, const std::string& expected) const {
    invalid(what_ + ": \"" + std::string(key) + "\" must be " + expected);
  }

  std::string what_;
  std::optional<JsonDoc> doc_;
};

HttpClientOptions http_options(const Options& o) {
  HttpClientOptions options;
  options.token = o.string("token").value_or("");
  options.ca_file = o.string("cacert").value_or("");
  options.insecure = o.boolean("insecure");
  if (options.insecure && !options.ca_file.empty()) {
    invalid("\"insecure\" and \"cacert\" exclude each other");
  }
  return options;
}

void refuse_http_options(const Options& o, const std::string& url) {
  for (const char* key : {"token", "cacert", "insecure"}) {
    if (o.has(key)) {
      invalid(std::string("\"") + key + "\" applies only to an http(s):// URL, not " + url);
    }
  }
}

// Opens a database or a server, as the handle `db` opens database URLs.
// `for_sync`: a server's client sends each request once, as `outpost sync`
// does, so that the sync's retry budget ("retry_for_ms") alone decides how
// long a failing hub is tried again.
std::unique_ptr<Engine> open_url(const std::string& url, const Options& o, Durability durability,
                                 int busy_timeout_ms, bool for_sync = false) {
  if (is_http_url(url)) {
    HttpClientOptions options = http_options(o);
    if (for_sync) options.max_attempts = 1;
    return open_http_engine(url, options);
  }
  refuse_http_options(o, url);
  OpenOptions options;
  options.durability = durability;
  options.busy_timeout_ms = busy_timeout_ms;
  return open_engine(url, options);
}

Revision parse_revision(const char* text) {
  return text == nullptr ? Revision() : Revision::parse(text);
}

Attributes parse_attributes(const char* json) {
  return attributes_from_json(required(json, "attributes_json"));
}

// The winner's revision, or empty when the record does not exist.
Revision winner_of(Engine& engine, const std::string& table, const std::string& id) {
  std::optional<Record> record = engine.get(table, id);
  return record ? record->revision : Revision();
}

[[noreturn]] void no_record(const std::string& table, const std::string& id) {
  throw Error(ErrorCode::not_found, "there is no record \"" + id + "\" in table \"" + table + "\"");
}

// Registers a stop with the handle for as long as it lives (outpost_cancel).
class Cancellable {
 public:
  explicit Cancellable(outpost_db* db) : db_(db) {
    std::lock_guard lock(db_->running_mu);
    db_->running.insert(&stop_);
  }
  ~Cancellable() {
    std::lock_guard lock(db_->running_mu);
    db_->running.erase(&stop_);
  }
  Cancellable(const Cancellable&) = delete;
  Cancellable& operator=(const Cancellable&) = delete;

  std::stop_source& source() { return stop_; }

 private:
  outpost_db* db_;
  std::stop_source stop_;
};

outpost_code set_scope(outpost_db* db, const char* text, char** out_json) {
  Engine& engine = engine_of(db);
  if (engine.backend() == "http") {
    invalid("a server's scope is not set from here: a token's scope is ('outpost tokens')");
  }
  std::optional<Scope> scope;
  if (text != nullptr && *text != '\0') scope = parse_scope(text, engine.list_tables());
  const PurgeOutcome outcome = set_database_scope(engine, scope);
  give(out_json, scope_outcome_json(scope, &outcome));
  return OUTPOST_OK;
}

// One direction's progress as the header describes it.
std::string progress_json(const ReplicationProgress& p, const std::string& local_id) {
  JsonBuilder w;
  w.start_object();
  w.field("direction", p.source_db_id == local_id ? "push" : "pull");
  w.field_count("changes_read", p.changes_read);
  w.field_count("revisions_written", p.revisions_written);
  w.field_count("already_present", p.already_present);
  w.field_count("errors", p.errors);
  w.field_number("seconds", p.seconds);
  w.field("last_seq", p.last_seq);
  if (p.bytes) w.field_count("bytes", *p.bytes);
  w.end_object();
  return w.str();
}

// The code a finished sync returns (include/outpost.h, outpost_sync).
outpost_code sync_outcome(const SyncSessionReport& report, bool stopped, outpost_error* err) {
  const ReplicationReport& total = report.total;
  if (stopped || total.cancelled) {
    return fail(err, OUTPOST_CANCELLED, "the sync was cancelled");
  }
  if (total.fatal) return fail(err, code_of(total.fatal->code()), total.fatal->what());
  if (!total.errors.empty()) {
    const ReplicationError& first = total.errors.front();
    return fail(err, code_of(first.code),
                std::to_string(total.errors.size()) + " documents failed; the first, " +
                    first.table + "/" + first.id + ": " + first.message);
  }
  if (total.refused > 0) {
    return fail(err, OUTPOST_FORBIDDEN,
                std::to_string(total.refused) +
                    " documents remain refused by the other side (the report's \"refused\")");
  }
  return OUTPOST_OK;
}

}  // namespace

outpost_db* wrap_engine(std::unique_ptr<Engine> engine) {
  auto db = std::make_unique<outpost_db>();
  db->engine = std::move(engine);
  return db.release();
}

}  // namespace outpost::capi

using namespace outpost;
using namespace outpost::capi;

extern "C" {

const char* outpost_version(void) { return kOutpostVersion; }

int outpost_abi_version(void) { return OUTPOST_ABI_VERSION; }

const char* outpost_code_name(int code) {
  if (code == OUTPOST_OK) return "ok";
  if (code == OUTPOST_CANCELLED) return "cancelled";
  if (code < OUTPOST_INVALID_JSON || code > OUTPOST_DISK_FULL) return "unknown";
  // The names are static: error_code_name returns views of literals.
  return error_code_name(static_cast<ErrorCode>(code - 1)).data();
}

void outpost_free(void* p) { std::free(p); }

void outpost_error_clear(outpost_error* err) {
  if (err == nullptr) return;
  std::free(err->message);
  err->message = nullptr;
  err->code = OUTPOST_OK;
}

outpost_code outpost_log_level(const char* level, outpost_error* err) {
  return guarded(err, [&] {
    const std::string name = required(level, "level");
    std::optional<LogLevel> parsed = log_level_from_name(name);
    if (!parsed) invalid("log level \"" + name + "\": use debug, info, warn, error or off");
    set_log_level(*parsed);
  });
}

void outpost_log_sink(outpost_log_fn sink, void* user_data) {
  try {
    if (sink == nullptr) {
      set_log_sink(nullptr);
      return;
    }
    set_log_sink([sink, user_data](std::string_view line) {
      const std::string text(line);
      sink(user_data, text.c_str());
    });
  } catch (...) {
    // Out of memory for the function object: lines keep going where they went.
  }
}

outpost_code outpost_open(const char* url, const char* options_json, outpost_db** db,
                          outpost_error* err) {
  return guarded(err, [&] {
    if (db == nullptr) invalid("db (where the handle goes) is NULL");
    const std::string target = required_url(url);
    const Options o(options_json, "outpost_open options",
                    {"durability", "busy_timeout_ms", "token", "cacert", "insecure"});
    auto handle = std::make_unique<outpost_db>();
    if (std::optional<std::string> d = o.string("durability")) {
      if (*d == "normal") {
        handle->durability = Durability::normal;
      } else if (*d != "full") {
        invalid("outpost_open options: \"durability\" must be \"full\" or \"normal\"");
      }
    }
    handle->busy_timeout_ms =
        static_cast<int>(o.integer("busy_timeout_ms", 0, 3600000).value_or(10000));
    handle->engine = open_url(target, o, handle->durability, handle->busy_timeout_ms);
    *db = handle.release();
  });
}

void outpost_close(outpost_db* db) { delete db; }

outpost_code outpost_info(outpost_db* db, char** out_json, outpost_error* err) {
  return guarded(err, [&] {
    Engine& engine = engine_of(db);
    const std::optional<Scope> scope = engine.scope();
    JsonBuilder w;
    w.start_object();
    w.field("db_id", engine.db_id());
    w.field("backend", engine.backend());
    w.field("update_seq", engine.update_seq());
    w.string("scope");
    if (scope) {
      w.string(scope_text(*scope));
    } else {
      w.null();
    }
    w.end_object();
    give(out_json, w.str());
  });
}

outpost_code outpost_table_put(outpost_db* db, const char* name, const char* table_json,
                               char** out_json, outpost_error* err) {
  return guarded(err, [&] {
    Engine& engine = engine_of(db);
    const std::string table_name = required(name, "name");
    Table table = table_from_json(required(table_json, "table_json"), table_name);
    table.name = table_name;
    check_table_put(engine.get_table(table_name), table);
    give(out_json, table_to_json(engine.put_table(table)));
  });
}

outpost_code outpost_table_get(outpost_db* db, const char* name, char** out_json,
                               outpost_error* err) {
  return guarded(err, [&] {
    Engine& engine = engine_of(db);
    const std::string table_name = required(name, "name");
    std::optional<Table> table = engine.get_table(table_name);
    if (!table) throw Error(ErrorCode::unknown_table, "there is no table '" + table_name + "'");
    give(out_json, table_to_json(*table));
  });
}

outpost_code outpost_table_list(outpost_db* db, char** out_json, outpost_error* err) {
  return guarded(err, [&] { give(out_json, tables_to_json(engine_of(db).list_tables())); });
}

outpost_code outpost_put(outpost_db* db, const char* table, const char* id, const char* revision,
                         const char* attributes_json, char** out_json, outpost_error* err) {
  return guarded(err, [&] {
    Engine& engine = engine_of(db);
    const std::string t = required(table, "table");
    const std::string i = required(id, "id");
    if (i.empty()) invalid("id is empty (outpost_create generates one)");
    const Attributes attributes = parse_attributes(attributes_json);
    const Revision parent =
        revision != nullptr ? parse_revision(revision) : winner_of(engine, t, i);
    give(out_json, write_result_to_json(put_record(engine, t, i, parent, attributes)));
  });
}

outpost_code outpost_create(outpost_db* db, const char* table, const char* attributes_json,
                            char** out_json, outpost_error* err) {
  return guarded(err, [&] {
    Engine& engine = engine_of(db);
    const std::string t = required(table, "table");
    const Attributes attributes = parse_attributes(attributes_json);
    give(out_json, write_result_to_json(put_record(engine, t, "", Revision(), attributes)));
  });
}

outpost_code outpost_delete(outpost_db* db, const char* table, const char* id, const char* revision,
                            char** out_json, outpost_error* err) {
  return guarded(err, [&] {
    Engine& engine = engine_of(db);
    const std::string t = required(table, "table");
    const std::string i = required(id, "id");
    Revision parent = parse_revision(revision);
    if (parent.empty()) {
      // As `outpost records delete`: the winner, which must be live.
      std::optional<Record> current = engine.get(t, i);
      if (!current) no_record(t, i);
      if (current->deleted) {
        throw Error(ErrorCode::not_found,
                    "record \"" + i + "\" in table \"" + t + "\" is already deleted");
      }
      parent = current->revision;
    }
    give(out_json, write_result_to_json(delete_record(engine, t, i, parent)));
  });
}

outpost_code outpost_resolve(outpost_db* db, const char* table, const char* id,
                             const char* revision, const char* attributes_json, char** out_json,
                             outpost_error* err) {
  return guarded(err, [&] {
    Engine& engine = engine_of(db);
    const std::string t = required(table, "table");
    const std::string i = required(id, "id");
    GetOptions read;
    read.revision = parse_revision(revision);
    std::optional<Record> leaf = engine.get(t, i, read);
    if (!leaf) no_record(t, i);
    const Attributes attributes =
        attributes_json != nullptr ? parse_attributes(attributes_json) : leaf->attributes;
    give(out_json, write_result_to_json(resolve_record(engine, t, i, leaf->revision, attributes)));
  });
}

outpost_code outpost_bulk_docs(outpost_db* db, const char* body_json, char** out_json,
                               outpost_error* err) {
  return guarded(err, [&] {
    Engine& engine = engine_of(db);
    BulkDocsRequest request = bulk_docs_request_from_json(required(body_json, "body_json"));
    if (!request.local_id.empty()) {
      invalid("bulk_docs: \"local\" (a replicator's checkpoint) is not taken here");
    }
    std::vector<WriteResult> written = request.new_edits
                                           ? engine.write(request.edits)
                                           : engine.write_replicated(request.revisions);
    give(out_json, write_results_to_json(bulk_docs_results(request, std::move(written))));
  });
}

outpost_code outpost_get(outpost_db* db, const char* table, const char* id,
                         const char* options_json, char** out_json, outpost_error* err) {
  return guarded(err, [&] {
    Engine& engine = engine_of(db);
    const std::string t = required(table, "table");
    const std::string i = required(id, "id");
    const Options o(options_json, "outpost_get options", {"rev", "conflicts", "ancestry"});
    GetOptions read;
    if (std::optional<std::string> rev = o.string("rev")) read.revision = Revision::parse(*rev);
    read.conflicts = o.boolean("conflicts");
    read.ancestry = o.boolean("ancestry");
    std::optional<Record> record = engine.get(t, i, read);
    if (!record) no_record(t, i);
    give(out_json, record_to_json(*record));
  });
}

outpost_code outpost_list(outpost_db* db, const char* table, const char* options_json,
                          char** out_json, outpost_error* err) {
  return guarded(err, [&] {
    Engine& engine = engine_of(db);
    const std::string t = required(table, "table");
    const Options o(options_json, "outpost_list options", {"after", "limit", "where"});
    const auto limit = static_cast<size_t>(
        o.integer("limit", 1, static_cast<int64_t>(kDefaultLimits.max_page)).value_or(1000));
    std::optional<Scope> where;
    if (std::optional<std::string> clause = o.string("where")) {
      where = parse_where(t, *clause, engine.list_tables());
    }
    give(out_json, record_page_to_json(engine.list_records(t, o.string("after").value_or(""), limit,
                                                           where ? &*where : nullptr)));
  });
}

outpost_code outpost_conflicts(outpost_db* db, const char* options_json, char** out_json,
                               outpost_error* err) {
  return guarded(err, [&] {
    Engine& engine = engine_of(db);
    const Options o(options_json, "outpost_conflicts options", {"table", "after", "limit"});
    const auto limit = static_cast<size_t>(
        o.integer("limit", 1, static_cast<int64_t>(kDefaultLimits.max_page)).value_or(1000));
    give(out_json, conflict_page_to_json(engine.list_conflicts(
                       o.string("table").value_or(""), o.string("after").value_or(""), limit)));
  });
}

outpost_code outpost_changes(outpost_db* db, const char* options_json, char** out_json,
                             outpost_error* err) {
  return guarded(err, [&] {
    Engine& engine = engine_of(db);
    // Registered first: a cancel from now on ends the wait.
    Cancellable cancel(db);
    const Options o(options_json, "outpost_changes options",
                    {"since", "limit", "tables", "timeout_ms", "scope"});
    ChangesRequest request;
    request.since = o.string("since").value_or("");
    request.limit =
        static_cast<size_t>(o.integer("limit", 1, static_cast<int64_t>(kDefaultLimits.max_page))
                                .value_or(static_cast<int64_t>(kDefaultLimits.max_page)));
    request.tables = o.strings("tables");
    request.timeout_ms =
        static_cast<int>(o.integer("timeout_ms", 0, kDefaultLimits.max_longpoll_ms).value_or(0));
    if (std::optional<std::string> text = o.string("scope")) {
      request.scope = std::make_shared<const Scope>(parse_scope(*text, engine.list_tables()));
    }
    request.stop = cancel.source().get_token();
    give(out_json, changes_to_json(engine.changes(request)));
  });
}

outpost_code outpost_sync(outpost_db* db, const char* url, const char* options_json,
                          outpost_progress_fn progress, void* user_data, char** report_json,
                          outpost_error* err) {
  return guarded(err, [&]() -> outpost_code {
    Engine& local = engine_of(db);
    // Registered first: a cancel from now on, while the options are read
    // and the other database opened too, stops this sync.
    Cancellable cancel(db);
    std::stop_source& stop = cancel.source();
    const std::string remote_url = required_url(url);
    const Options o(options_json, "outpost_sync options",
                    {"token", "cacert", "insecure", "direction", "tables", "scope", "batch",
                     "continuous", "scope_check_ms", "retry_for_ms"});
    SyncSessionOptions options;
    const std::string direction = o.string("direction").value_or("both");
    if (direction == "pull") {
      options.direction = SyncDirection::pull;
    } else if (direction == "push") {
      options.direction = SyncDirection::push;
    } else if (direction != "both") {
      invalid("outpost_sync options: \"direction\" must be \"both\", \"pull\" or \"push\"");
    }
    options.replication.tables = o.strings("tables");
    for (const std::string& t : options.replication.tables) validate_table_name(t);
    options.replication.batch_size =
        static_cast<size_t>(o.integer("batch", 1, 10000).value_or(1000));
    options.replication.continuous = o.boolean("continuous");
    options.scope_text = o.string("scope");
    options.scope_check = std::chrono::milliseconds(
        o.integer("scope_check_ms", 10, int64_t{24} * 3600 * 1000).value_or(30000));
    options.replication.retry_for = std::chrono::milliseconds(
        o.integer("retry_for_ms", 0, int64_t{7} * 24 * 3600 * 1000).value_or(60000));
    // What the CLI prints on stderr (waiting for an unreachable hub, a
    // reconnection) goes to the log.
    options.on_notice = [](const std::string& notice) { log_warn("sync", notice); };
    options.local_name = "the database";
    options.remote_name = remote_url;

    std::unique_ptr<Engine> remote =
        open_url(remote_url, o, db->durability, db->busy_timeout_ms, /*for_sync=*/true);
    options.replication.stop = stop.get_token();
    // The callback is called from one thread at a time; a non-zero answer
    // cancels.
    std::mutex progress_mu;
    bool callback_stopped = false;
    if (progress != nullptr) {
      const std::string local_id = local.db_id();
      options.replication.progress = [&, local_id](const ReplicationProgress& p) {
        const std::string json = progress_json(p, local_id);
        std::lock_guard lock(progress_mu);
        if (progress(user_data, json.c_str()) != 0) {
          callback_stopped = true;
          stop.request_stop();
        }
      };
    }
    const bool continuous = options.replication.continuous;
    std::optional<SyncSessionReport> ran;
    try {
      ran = run_sync_session(local, *remote, std::move(options));
    } catch (const Error&) {
      // Cancelled while waiting for an unreachable hub, before any run.
      if (stop.stop_requested()) return fail(err, OUTPOST_CANCELLED, "the sync was cancelled");
      throw;
    }
    const SyncSessionReport& report = *ran;
    give(report_json, report.json);
    // Cancelled: stopped by the request (a continuous sync ends only so,
    // unless an error ends it), or failed after it. A one-shot sync that
    // completed all the same is complete.
    const bool requested = stop.stop_requested() && !report.total.fatal;
    const bool stopped = report.total.cancelled || callback_stopped ||
                         (requested && (continuous || !report.total.ok()));
    return sync_outcome(report, stopped, err);
  });
}

void outpost_cancel(outpost_db* db) {
  if (db == nullptr) return;
  try {
    std::lock_guard lock(db->running_mu);
    for (std::stop_source* stop : db->running) stop->request_stop();
  } catch (...) {
    // A mutex that cannot be locked (std::system_error): nothing to cancel
    // that could be reached safely.
  }
}

outpost_code outpost_scope_get(outpost_db* db, char** out_json, outpost_error* err) {
  return guarded(err, [&] { give(out_json, scope_outcome_json(engine_of(db).scope())); });
}

outpost_code outpost_scope_set(outpost_db* db, const char* scope, char** out_json,
                               outpost_error* err) {
  return guarded(err, [&] { return set_scope(db, scope, out_json); });
}

outpost_code outpost_scope_clear(outpost_db* db, char** out_json, outpost_error* err) {
  return guarded(err, [&] { return set_scope(db, nullptr, out_json); });
}

}  // extern "C"
