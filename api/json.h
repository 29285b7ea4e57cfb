// The JSON codec of the HTTP API (DESIGN.md section 8): every wire shape in
// both directions, so the server, the HTTP client Engine and the CLI speak
// one format. Text in, text out; RapidJSON stays inside the codec.
//
// Encoders write straight to a RapidJSON Writer (no DOM), always produce
// valid UTF-8 (invalid bytes in a string are replaced by U+FFFD) and never
// throw except for std::bad_alloc.
//
// Decoders parse with a nesting-depth limit and throw outpost::Error:
//   invalid_json      malformed text (with byte offset and reason), nesting
//                     deeper than JsonLimits::max_depth, a missing field, a
//                     field of the wrong JSON type, a duplicate key, or a
//                     server-owned field ("seq" or any key beginning with
//                     '_') in a request body; the message names the field.
//   invalid_value     an attribute value that is not a one-key typed object
//                     with a string inside, an unknown type name, or text
//                     Value::parse refuses (the message names the attribute).
//   invalid_revision  a revision string Revision::parse refuses.
// Unknown fields that are not server-owned are ignored (forward
// compatibility). `{"null":"true"}` decodes to an absent attribute. Names and
// ids are not validated here; the Engine does that.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/error.h"
#include "api/limits.h"
#include "api/record.h"
#include "api/table.h"
#include "api/tokens.h"
#include "api/value.h"

namespace outpost {

struct JsonLimits {
  size_t max_depth = kDefaultLimits.max_json_depth;  // arrays and objects nested in one another
};

// The `GET /v1` object.
struct ServerInfo {
  std::string engine = "outpost";
  std::string version;
  std::string db_id;
  std::string backend;
  std::string update_seq;
  // "limits": what one request may hold (DESIGN.md §9); 0 when the server
  // does not say. Clients split their requests to fit.
  uint64_t max_body_bytes = 0;
  uint64_t max_batch_docs = 0;
  // The database's own scope (DESIGN.md section 14), canonical text; empty
  // when it holds every record.
  std::string scope;
  // The calling token, through a server with auth ("token" in JSON): its
  // name, whether it is an admin token, and its read and write scopes
  // (canonical texts; empty: its table lists alone). Empty name: no token
  // (no auth, or a local database).
  std::string token_name;
  bool token_admin = false;
  std::string token_scope;
  std::string token_write_scope;
  // The tables the caller may read, when asked for (GET /v1?tables=true):
  // what a replication needs before it starts, in one round trip.
  std::optional<std::vector<Table>> tables;

  friend bool operator==(const ServerInfo&, const ServerInfo&) = default;
};

// A decoded `POST /v1/bulk_docs` body. Documents that decode go to `edits`
// (new_edits = true) or `revisions` (new_edits = false), in order; a document
// that does not decode is reported in `rejected` with its position in "docs"
// and does not stop the others (DESIGN.md section 8).
struct BulkDocsRequest {
  struct Rejected {
    size_t index = 0;    // position in "docs"
    WriteResult result;  // table and id as far as known, error set
  };
  bool new_edits = true;
  std::vector<Edit> edits;
  std::vector<RemoteRevision> revisions;
  std::vector<Rejected> rejected;
  // "local": {"id", "doc"} (the document as JSON text): a local document
  // to store once every document was written (a replicator's checkpoint,
  // Engine::write_replicated_then_save). Empty id: none.
  std::string local_id;
  std::string local_doc;
};

// Checks that `text` is well-formed JSON within `limits`, with no key
// named twice in one object (e.g. a local document body). Throws
// Error(invalid_json).
void check_json(std::string_view text, const JsonLimits& limits = {});

// Attributes: {name: {type: text}}.
std::string attributes_to_json(const Attributes& attributes);
Attributes attributes_from_json(std::string_view text, const JsonLimits& limits = {});

// Errors: {"error": code, "message": text}. An unknown code decodes to internal.
std::string error_to_json(const Error& error);
Error error_from_json(std::string_view text, const JsonLimits& limits = {});

// GET /v1: {"engine", "version", "db_id", "backend", "update_seq",
// "limits"?: {"body_bytes", "batch_docs"}}.
std::string info_to_json(const ServerInfo& info);
ServerInfo info_from_json(std::string_view text, const JsonLimits& limits = {});

// API tokens over HTTP for admins (DESIGN.md sections 9 and 14; GET and POST
// /v1/tokens, GET, PUT and DELETE /v1/tokens/{name}; api/json_tokens.cpp).
// A token's JSON never holds a secret; only a creation's answer does, once.
//   {"name", "admin", "read": [..], "write": [..], "scope", "scope_fingerprint",
//    "write_scope", "write_scope_fingerprint", "earlier_write_scopes":
//    [{"scope", "until"}], "rescoped_at", "created_at", "expires_at", "revoked"}
std::string token_to_json(const Token& token);
std::string tokens_to_json(const std::vector<Token>& tokens);  // {"tokens": [...]}
// The token as stored, plus "secret".
std::string created_token_to_json(const Token& token, const std::string& secret);
// POST /v1/tokens: {"name", "admin", "read", "write", "scope", "write_scope",
// "expires_at"}; server-owned fields are refused. invalid_value on bad input.
Token token_request_from_json(std::string_view text, const JsonLimits& limits = {});
// PUT /v1/tokens/{name}: {"scope", "write_scope", "grace_seconds"}.
TokenUpdate token_update_from_json(std::string_view text, const JsonLimits& limits = {});
// The client's side: a token_to_json text (and "secret" of a creation's
// answer, when `secret` is not null).
Token token_from_json(std::string_view text, const JsonLimits& limits = {},
                      std::string* secret = nullptr);
std::vector<Token> tokens_from_json(std::string_view text, const JsonLimits& limits = {});

// Tables: {"name", "columns": [{"name", "type", "required"}]}, and the list
// {"tables": [...]}. With `name` empty, table_from_json reads a full
// definition ("name" required); otherwise it reads a PUT /v1/tables/{name}
// body, where "name" may be left out and must equal `name` if present.
std::string table_to_json(const Table& table);
Table table_from_json(std::string_view text, std::string_view name = {},
                      const JsonLimits& limits = {});
std::string tables_to_json(const std::vector<Table>& tables);
std::vector<Table> tables_from_json(std::string_view text, const JsonLimits& limits = {});

// A record as read back: {"table", "id", "revision", "deleted",
// "attributes", "conflicts"?, "ancestry"?}.
std::string record_to_json(const Record& record);
Record record_from_json(std::string_view text, const JsonLimits& limits = {});

// GET /v1/tables/{t}/records: {"records": [...], "next"}.
std::string record_page_to_json(const RecordPage& page);
RecordPage record_page_from_json(std::string_view text, const JsonLimits& limits = {});

// GET /v1/conflicts: {"conflicts": [{"table", "id", "winner", "conflicts"}], "next"}.
std::string conflict_page_to_json(const ConflictPage& page);
ConflictPage conflict_page_from_json(std::string_view text, const JsonLimits& limits = {});

// One local edit, the document shape of bulk_docs with new_edits = true and
// the body of the single-record routes: {"table", "id"?, "revision"?
// (the parent, or the leaf to resolve), "deleted"?, "attributes", "resolve"?}.
std::string edit_to_json(const Edit& edit);
// Reads the body of a single-record route. `kind`, `table` and `id` come from
// the route ("id" empty: create); the body's "table"/"id", if present, must
// match them, and its "deleted"/"resolve", if present, must agree with `kind`.
// resolve needs "revision"; put and resolve need "attributes".
Edit edit_from_json(std::string_view text, Edit::Kind kind, std::string_view table,
                    std::string_view id = {}, const JsonLimits& limits = {});

// Write results (bulk_docs response, and the single-record write response):
// {"table", "id", "revision"} or {"table", "id", "error", "message"}.
std::string write_result_to_json(const WriteResult& result);
WriteResult write_result_from_json(std::string_view text, const JsonLimits& limits = {});
std::string write_results_to_json(const std::vector<WriteResult>& results);  // a JSON array
std::vector<WriteResult> write_results_from_json(std::string_view text,
                                                 const JsonLimits& limits = {});

// GET /v1/changes: {"results": [{"seq", "table", "id", "revision",
// "deleted", "leaves"}], "last_seq"}.
std::string changes_to_json(const ChangesPage& page);
ChangesPage changes_from_json(std::string_view text, const JsonLimits& limits = {});

// POST /v1/revs_diff: {"t": {"id": ["rev", ...]}} →
// {"t": {"id": {"missing": [...], "leaves": [...]}}}. The encoders group
// entries by table (first appearance order) and merge repeated (table, id).
std::string revs_diff_request_to_json(const std::vector<RevsDiffQuery>& queries);
std::vector<RevsDiffQuery> revs_diff_request_from_json(std::string_view text,
                                                       const JsonLimits& limits = {});
std::string revs_diff_response_to_json(const std::vector<RevsDiffResult>& results);
std::vector<RevsDiffResult> revs_diff_response_from_json(std::string_view text,
                                                         const JsonLimits& limits = {});

// POST /v1/bulk_get: {"docs": [{"table", "id", "rev", "known": [...]}]} →
// {"results": [{"table", "id", "revision", "deleted", "attributes",
// "ancestry"} or {"table", "id", "rev", "error", "message"}]}.
// The response encoder takes the queries too (same size and order): an error
// entry names the query it answers.
std::string bulk_get_request_to_json(const std::vector<BulkGetQuery>& queries);
std::vector<BulkGetQuery> bulk_get_request_from_json(std::string_view text,
                                                     const JsonLimits& limits = {});
std::string bulk_get_response_to_json(const std::vector<BulkGetQuery>& queries,
                                      const std::vector<BulkGetResult>& results);
std::vector<BulkGetResult> bulk_get_response_from_json(std::string_view text,
                                                       const JsonLimits& limits = {});

// POST /v1/bulk_docs: {"new_edits": true, "docs": [edit, ...]} or
// {"new_edits": false, "docs": [{"table", "id", "revision", "deleted",
// "attributes", "ancestry"}, ...]}. The response is write_results_to_json.
std::string bulk_docs_request_to_json(const std::vector<Edit>& edits);
std::string bulk_docs_request_to_json(const std::vector<RemoteRevision>& revisions);
// The documents of a bulk_docs request encoded once, so that a client can
// size each before it packs them into requests of a bounded size: `text`
// holds them separated by ',', document i ending at ends[i].
struct EncodedDocs {
  std::string text;
  std::vector<size_t> ends;
  size_t size_of(size_t i) const;  // bytes of document i
};
EncodedDocs encode_bulk_docs(const std::vector<Edit>& edits);
EncodedDocs encode_bulk_docs(const std::vector<RemoteRevision>& revisions);
// The request holding documents [begin, end) of `docs`; the same JSON as
// bulk_docs_request_to_json of those documents.
// With `local_id` set, the request also carries the local document
// `local_doc` (BulkDocsRequest::local_id).
std::string bulk_docs_request_from_parts(bool new_edits, const EncodedDocs& docs, size_t begin,
                                         size_t end, std::string_view local_id = {},
                                         std::string_view local_doc = {});
// The answer to a bulk_docs request that carried a local document:
// {"results": [...], "local_saved": bool}. Without one the answer is
// write_results_to_json's array; the decoder takes both (an array: not saved).
std::string write_results_saved_to_json(const std::vector<WriteResult>& results, bool saved);
std::vector<WriteResult> write_results_saved_from_json(std::string_view text, bool& saved,
                                                       const JsonLimits& limits = {});
// Throws only for the request as a whole (malformed JSON, "docs" or
// "new_edits" missing or mistyped); per-document failures land in `rejected`.
BulkDocsRequest bulk_docs_request_from_json(std::string_view text, const JsonLimits& limits = {});
// One result per document of `request`, in "docs" order: the Engine's
// `written` results (one per decoded document, in order) interleaved with
// the rejected ones.
std::vector<WriteResult> bulk_docs_results(const BulkDocsRequest& request,
                                           std::vector<WriteResult> written);

}  // namespace outpost
