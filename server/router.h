// HTTP routing of API version 1 (DESIGN.md sections 8 and 9): a function
// from an HttpRequest to an HttpResponse over one Engine. It authenticates
// the bearer token, applies the token's table scopes to every route, enforces
// the request-level limits (body size, JSON depth, documents per batch, feed
// page, long-poll time), and turns every failure into an {"error","message"}
// response: nothing thrown escapes handle(), and a bad request never changes
// stored data. No sockets here; the server (server/server.h) only moves bytes.
//
// Thread-safety: handle() may be called from many threads at once. A
// long-poll blocks the calling thread (up to max_longpoll_ms, or until
// stop()); run it off the I/O threads (is_long_poll() says which requests).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "api/devices.h"
#include "api/engine.h"
#include "api/json.h"
#include "api/limits.h"
#include "api/tokens.h"
#include "server/auth_throttle.h"
#include "server/error_log.h"
#include "server/http_message.h"
#include "server/metrics.h"

namespace outpost::server {

struct RouterOptions {
  // false: every request has full access (`outpost serve --no-auth`).
  bool auth = true;
  // Where tokens are checked; nullptr: engine.tokens(). With auth on and no
  // store, every authenticated route answers 503 unavailable.
  TokenStore* tokens = nullptr;

  // Defaults: DESIGN.md section 9 (api/limits.h).
  JsonLimits json;                                        // nesting depth of request bodies
  size_t max_body_bytes = kDefaultLimits.max_body_bytes;  // 413 too_large beyond
  size_t max_batch_docs = kDefaultLimits.max_batch_docs;  // revs_diff, bulk_get, bulk_docs: 413
  size_t max_page = kDefaultLimits.max_page;  // changes/records/conflicts limit (clamped)
  int max_longpoll_ms = kDefaultLimits.max_longpoll_ms;  // timeout_ms is clamped to this
  int default_longpoll_ms = 60 * 1000;                   // feed=longpoll without timeout_ms
  size_t max_feed_waiters = 256;                         // beyond, a long-poll answers at once
  // Scopes asked with `scope=` or set on a token: longer ones are
  // invalid_scope (DESIGN.md section 14).
  ScopeLimits scope_limits;

  // Authentication failures from one address beyond `auth_free_failures`
  // (within `auth_failure_window`) are answered after a delay doubling from
  // auth_base_delay_ms up to auth_max_delay_ms.
  int auth_free_failures = 5;
  int auth_base_delay_ms = 100;
  int auth_max_delay_ms = 3000;
  std::chrono::seconds auth_failure_window{600};

  std::string version = "0.1.0";  // reported by GET /v1

  // The web console (server/ui_assets.h) at /ui/: off with false; read from
  // `console_dir` at each request when it is set (development), else the
  // copy compiled in.
  bool console = true;
  std::string console_dir;
  // GET /v1/devices: the ages that make a device healthy or stale, and how
  // many pending changes one device's count reads at most.
  HealthThresholds health;
  size_t max_pending_count = 1000;
};

class Router {
 public:
  Router(Engine& engine, RouterOptions options, Metrics* metrics = nullptr);
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Answers one request; never throws. Logs one line per request at info
  // level (method, route template, status, ms, remote; never the
  // Authorization header) and counts it in metrics(); a failed answer (5xx)
  // also logs its cause at warn, through error_log(). With `may_wait`
  // false a long-poll answers at once (the server has no thread to spare).
  HttpResponse handle(const HttpRequest& request, bool may_wait = true) noexcept;

  // Looks at a request whose header has arrived and whose body has not (the
  // server calls it before reading a body): the route, the method and the
  // bearer token. Returns the answer when the request is refused (unknown
  // method 501, no route 404, wrong method 405, bad or missing token 401);
  // the server sends it and closes the connection without reading the body.
  // Otherwise returns nullopt and stores the token in `request.token`, so
  // that handle() does not authenticate again. Counts and logs a refusal
  // like handle(). Never throws; may block (a token lookup).
  std::optional<HttpResponse> check_header(HttpRequest& request) noexcept;

  // The method as metrics and logs show it: one of a fixed set of known
  // methods, or "other" (labels never take raw client text).
  static std::string_view method_label(std::string_view method);

  // Whether `request` may wait (GET /v1/changes with feed=longpoll).
  static bool is_long_poll(const HttpRequest& request);

  // Long-polls in progress return at once with what they have (their wait
  // in the engine ends on a stop token); later ones do not wait. Used by a
  // graceful stop.
  void stop();
  bool stopping() const { return stopping_; }

  Metrics& metrics() { return *metrics_; }
  // Where the causes of failed answers (5xx) are logged, rate-limited.
  ErrorLog& error_log() { return error_log_; }
  const RouterOptions& options() const { return options_; }

 private:
  struct Context;
  using Handler = HttpResponse (Router::*)(Context&);
  // A request matched to its route, method handler and token.
  struct Match {
    std::vector<std::string> segments;  // decoded path segments
    std::string_view query_text;
    Handler handler = nullptr;
    bool needs_auth = true;
    Token token;  // admin on routes without auth
  };
  // One row of the routing table (router.cpp): a method on a path template
  // such as "/v1/tables/{t}/records/{id}", whose "{...}" segments match any
  // non-empty segment.
  struct Route {
    std::string_view method;
    std::string_view path;
    Handler handler;  // nullptr: GET /v1/health, answered by admit()
    bool needs_auth;
    bool matches(const std::vector<std::string>& segments) const;
  };
  static const Route kRoutes[];

  HttpResponse dispatch(const HttpRequest& request, std::string& route, bool may_wait);
  // Everything decided from the header: fills `match` and `route`, or
  // returns the answer that ends the request there (GET /v1/health too).
  std::optional<HttpResponse> admit(const HttpRequest& request, Match& match, std::string& route);
  // Runs `fn`, turning whatever it throws into an error response.
  template <class Fn>
  HttpResponse answer(const HttpRequest& request, const std::string& route, Fn fn);
  // Counts and logs one answered request.
  void finish(const HttpRequest& request, const std::string& route, HttpResponse& response,
              std::chrono::steady_clock::time_point start);
  static HttpResponse fixed_internal_error();
  std::optional<Token> authenticate(const HttpRequest& request, int& delay_ms);
  // The live token the Authorization header names, if any.
  std::optional<Token> lookup_token(const HttpRequest& request);

  HttpResponse get_root(Context& c);
  // The tables the calling token may read.
  std::vector<Table> readable_tables(const Context& c);
  HttpResponse list_tables(Context& c);
  HttpResponse get_table(Context& c);
  HttpResponse put_table(Context& c);
  HttpResponse list_records(Context& c);
  HttpResponse create_record(Context& c);
  HttpResponse get_record(Context& c);
  HttpResponse put_record(Context& c);
  HttpResponse delete_record(Context& c);
  HttpResponse resolve_record(Context& c);
  HttpResponse list_conflicts(Context& c);
  HttpResponse changes(Context& c);
  // The token's scopes into `c` (DESIGN.md section 14).
  void parse_token_scopes(Context& c);
  std::shared_ptr<const Scope> read_scope(Context& c);
  std::shared_ptr<const Scope> diff_scope(Context& c);
  HttpResponse revs_diff(Context& c);
  HttpResponse bulk_get(Context& c);
  HttpResponse bulk_docs(Context& c);
  HttpResponse list_peers(Context& c);
  // The web console and what only it asks (router_console.cpp).
  HttpResponse get_console(Context& c);
  HttpResponse redirect_to_console(Context& c);
  HttpResponse list_devices(Context& c);
  // The changes of this database `device` has yet to pull with `token`.
  void count_pending(const Token& token, const std::shared_ptr<const Scope>& scope,
                     const std::vector<Table>& tables, DeviceStatus& device, bool same_scope);
  // GET /v1/tables?counts=true: the tables with their counts, under the
  // token's scope when it has one.
  std::string tables_with_counts(Context& c, const std::vector<Table>& tables);
  // What re-scoping `before` into `after` would move (PUT /v1/tokens/{name}
  // ?dry_run=true).
  std::string rescope_preview(const Token& before, const Token& after);
  // Tokens (admin only).
  TokenStore& token_store(Context& c);
  void check_scope_limits(const std::optional<std::string>& text);
  HttpResponse list_tokens(Context& c);
  HttpResponse create_token(Context& c);
  HttpResponse get_token(Context& c);
  HttpResponse update_token(Context& c);
  HttpResponse revoke_token(Context& c);
  // The stored id of a local document a request names (its path's, or
  // `id`): namespaced by the token with auth.
  std::string local_id(const Context& c) const;
  std::string stored_local_id(const Context& c, const std::string& id) const;
  HttpResponse get_local(Context& c);
  HttpResponse put_local(Context& c);
  HttpResponse get_metrics(Context& c);
  HttpResponse write_one(Context& c, const Edit& edit, int status);

  Engine& engine_;
  RouterOptions options_;
  std::unique_ptr<Metrics> own_metrics_;
  Metrics* metrics_;
  std::atomic<bool> stopping_{false};
  std::stop_source stop_source_;  // stop(): wakes every waiting long-poll
  AuthThrottle throttle_;
  ErrorLog error_log_;
};

}  // namespace outpost::server
