// The Engine over HTTP: a remote `outpost serve` seen as just another
// Engine (DESIGN.md sections 1 and 8), so that replicate(local, remote) and
// replicate(remote, local) are the same code as between two local databases.
//
// Every Engine call is one or more requests to the §8 routes, encoded and
// decoded with the shared codec (api/json.h). Error responses become
// outpost::Error with the server's code (409 conflict stays conflict, 403
// forbidden stays forbidden). Batches are split to fit the limits the
// server advertises in GET /v1 (documents and bytes per request); a single
// document larger than a request may be gets its own too_large result and
// does not hold up the others. A bulk_get answer larger than the client
// accepts is asked again in halves, down to the single revision too large
// to read (a call reads at most 128 MiB of oversized answers; the
// revisions left then get too_large). Creates without an id get their UUID here,
// so that every request is idempotent and safe to retry.
//
// Every answer is untrusted input: it is read within a size limit that fits
// what was asked (a few MiB for a checkpoint or the server's overview, per
// entry for the feed, revs_diff and bulk_docs, per document for bulk_get),
// parsed depth-limited, and checked against the question (a revs_diff or
// bulk_get answer about records or revisions that were not asked for is
// refused whole with Error(internal)). An answer over its limit is
// Error(internal), the server's fault, except for bulk_get (too_large).
//
// Retries: a connection refused, reset or timed out and HTTP 502/503/504
// are retried with capped, jittered backoff up to `max_attempts`; then the
// call throws Error(unavailable) (which the reconciler retries in its turn).
// 4xx responses are never retried. A rejected TLS certificate throws
// Error(internal) at once.
//
// Not over HTTP: check() throws Error(internal). tokens() manages the
// server's tokens through the admin routes (/v1/tokens; an admin token is
// needed); its authenticate() throws Error(internal).
//
// Thread-safety: an HttpEngine may be used from several threads at once;
// each call takes a keep-alive connection of its own from a small pool.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>

#include "api/engine.h"
#include "api/json.h"
#include "api/limits.h"
#include "client/transport.h"
#include "client/url.h"

namespace outpost {

// The transport's options (token, TLS, timeouts, response limits, idle
// connections; client/transport.h) and what the Engine over HTTP adds.
struct HttpClientOptions : TransportOptions {
  int max_attempts = 4;  // per call, transient failures included
  std::chrono::milliseconds retry_base{100};
  std::chrono::milliseconds retry_cap{2000};
  // What one request may hold when the server does not say (GET /v1
  // "limits", DESIGN.md §9); the smaller of the two counts.
  size_t max_batch = kDefaultLimits.max_batch_docs;         // documents per request
  size_t max_request_body = kDefaultLimits.max_body_bytes;  // bytes per request body
};

class HttpEngine final : public Engine {
 public:
  // `transport` moves the bytes (make_beast_transport, or a fake in tests).
  HttpEngine(HttpUrl url, std::unique_ptr<Transport> transport, HttpClientOptions options);
  ~HttpEngine() override;

  std::string db_id() override;
  std::string backend() override;
  std::string update_seq() override;

  std::vector<Table> list_tables() override;
  std::optional<Table> get_table(const std::string& name) override;
  Table put_table(const Table& table) override;

  std::vector<WriteResult> write(const std::vector<Edit>& edits) override;
  std::vector<WriteResult> write_replicated(const std::vector<RemoteRevision>& revisions) override;
  // The local document goes with the batch's last request
  // (BulkDocsRequest::local_id); stored apart by an older server.
  WrittenAndSaved write_replicated_then_save(const std::vector<RemoteRevision>& revisions,
                                             const std::string& id,
                                             const std::string& json) override;
  // One request: GET /v1?tables=true.
  Overview overview() override;

  std::optional<Record> get(const std::string& table, const std::string& id,
                            const GetOptions& options = {}) override;
  RecordPage list_records(const std::string& table, const std::string& after, size_t limit,
                          const Scope* scope = nullptr) override;
  ConflictPage list_conflicts(const std::string& table, const std::string& after, size_t limit,
                              const Scope* scope = nullptr) override;

  ChangesPage changes(const ChangesRequest& request) override;
  // The remote database's own scope, as GET /v1 shows it.
  std::optional<Scope> scope() override;
  // The calling token's read scope, as GET /v1 shows it (read at every
  // call, so that a re-scope on the server is seen), parsed against the
  // server's tables; nullopt for a token without one (or no auth).
  std::optional<Scope> token_scope() override;
  std::optional<Scope> token_write_scope() override;
  std::vector<RevsDiffResult> revs_diff(const std::vector<RevsDiffQuery>& queries,
                                        const Scope* scope = nullptr) override;
  std::vector<BulkGetResult> bulk_get(const std::vector<BulkGetQuery>& queries,
                                      const Scope* scope = nullptr) override;

  std::optional<std::string> get_local(const std::string& id) override;
  void put_local(const std::string& id, const std::string& json) override;

  std::vector<std::string> check() override;
  // The server's tokens over GET/POST /v1/tokens and GET/PUT/DELETE
  // /v1/tokens/{name} (client/http_tokens.cpp).
  TokenStore* tokens() override;

  // The server's `GET /v1` object (db_id, backend, update_seq in one call).
  ServerInfo info();
  // The same with `tables` set: one request (GET /v1?tables=true), two for
  // a server that does not list them there. scope(), token_scope(),
  // token_write_scope() and overview() parse their scopes against them.
  ServerInfo info_with_tables();
  const HttpUrl& url() const { return url_; }
  // Bytes sent and received so far, on the wire.
  uint64_t bytes_moved() const;
  // Requests, bytes, and round trips: the deepest causal depth a request
  // of this client reached (api/round_trips.h).
  std::optional<Traffic> traffic() override;
  // Requests sent so far, retries included.
  uint64_t requests_sent() const;
  // Any route: the body of a 2xx answer to `method target` (retried like
  // every call); an error answer throws its Error. For routes that are no
  // Engine call (GET /v1/peers).
  // With `retry` false a request is sent once, never again after a broken
  // connection (a creation whose answer must not be lost to a retry).
  std::string request(const std::string& method, const std::string& target, std::string body = {},
                      bool retry = true);

 private:
  // What one request may hold: the server's advertised limits (read once,
  // with the first GET /v1), or the options' when it gives none.
  struct RequestLimits {
    size_t body_bytes = 0;
    size_t batch_docs = 0;
  };
  RequestLimits request_limits();
  // Documents per request as far as known without asking (revs_diff and
  // bulk_get requests are small; only their count is bounded).
  size_t known_batch_docs();
  // The most one document (a revision with its ancestry, a local document)
  // may take in an answer: the server's body limit when known, else the
  // options', plus room for the ancestry.
  size_t largest_document();
  void remember_limits(const ServerInfo& info);

  // `retry` false: one attempt (a request that must not be sent twice).
  HttpResponse call(HttpRequest request, bool retry = true);
  // `wasted`: the bytes this bulk_get call read of answers too large.
  std::vector<BulkGetResult> bulk_get_slice(std::span<const BulkGetQuery> slice, const Scope* scope,
                                            uint64_t& wasted);
  // A local document sent with a bulk_docs request; `saved` is set from
  // the answer.
  struct LocalToSave {
    const std::string& id;
    const std::string& json;
    bool saved = false;
  };
  template <typename Doc>
  std::vector<WriteResult> post_bulk_docs(const std::vector<Doc>& docs,
                                          LocalToSave* local = nullptr);
  // The token's write scope parsed against `tables`; nullopt (and a
  // warning) when it names tables this client cannot see.
  static std::optional<Scope> readable_write_scope(const std::string& text,
                                                   const std::vector<Table>& tables);
  // call() that returns nullopt for 404 with one of the given codes.
  std::optional<HttpResponse> call_or_missing(HttpRequest request, ErrorCode a, ErrorCode b);

  HttpUrl url_;
  std::unique_ptr<Transport> transport_;
  HttpClientOptions options_;
  std::atomic<uint64_t> requests_{0};
  // The deepest round trip answered so far (traffic()).
  std::atomic<uint64_t> answered_depth_{0};
  std::mutex limits_mu_;
  std::optional<RequestLimits> limits_;  // once GET /v1 answered
  std::unique_ptr<TokenStore> tokens_;
};

// Opens the server at `url` (http:// or https://). Connects lazily: the
// first call makes the first connection. Throws Error(invalid_value) for a
// malformed URL or an unreadable CA file.
std::unique_ptr<HttpEngine> open_http_engine(const std::string& url,
                                             const HttpClientOptions& options = {});

}  // namespace outpost
