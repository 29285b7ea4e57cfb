/* outpost.h: the C ABI of outpost, an offline-first replicating record
 * engine (docs/embedding.md). C99; the only public surface of liboutpost.so.
 *
 * Conventions, for every function below unless it says otherwise:
 *
 * - Return value: an outpost_code, OUTPOST_OK (0) on success. On failure
 *   the out-parameters are left untouched, nothing was stored, and `err`,
 *   when not NULL, is filled with the code and a message; on success `err`
 *   is left untouched. `err` may be NULL when the caller wants only the
 *   code.
 * - JSON: records, tables, write results, change pages and reports go in
 *   and out as the JSON of the HTTP API (docs/http-api.md), so a binding
 *   reuses one format. Attribute values are typed: {"size": {"int": "6"}}.
 * - Strings in: UTF-8, NUL-terminated, borrowed for the call only. A
 *   parameter marked "may be NULL" takes NULL for its default.
 * - Strings out (char **out): allocated by outpost and owned by the caller,
 *   who frees each with outpost_free(). Never free them with free().
 * - Exceptions: no C++ exception ever leaves an outpost_* function; an
 *   unexpected failure is OUTPOST_INTERNAL.
 * - Threads: an outpost_db may be used from several threads at once, except
 *   that outpost_close() must not race any other call on the same handle.
 *   outpost_cancel() is meant to be called from another thread.
 */
#ifndef OUTPOST_H
#define OUTPOST_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define OUTPOST_EXPORT __attribute__((visibility("default")))
#else
#define OUTPOST_EXPORT
#endif

/* The ABI this header describes. It changes (and the library's SONAME
 * with it) only when an existing function or value changes meaning;
 * functions are only ever added within one ABI version. */
#define OUTPOST_ABI_VERSION 1

/* Error codes: DESIGN.md section 8 and docs/http-api.md#errors, in the same
 * order, plus OUTPOST_CANCELLED. The numbers never change. */
typedef enum outpost_code {
  OUTPOST_OK = 0,
  OUTPOST_INVALID_JSON = 1,
  OUTPOST_INVALID_VALUE = 2,
  OUTPOST_INVALID_NAME = 3,
  OUTPOST_UNKNOWN_COLUMN = 4,
  OUTPOST_MISSING_REQUIRED = 5,
  OUTPOST_INVALID_REVISION = 6,
  OUTPOST_INVALID_SCOPE = 7,
  OUTPOST_UNAUTHORIZED = 8,
  OUTPOST_FORBIDDEN = 9,
  OUTPOST_NOT_FOUND = 10,
  OUTPOST_METHOD_NOT_ALLOWED = 11,
  OUTPOST_UNKNOWN_TABLE = 12,
  OUTPOST_CONFLICT = 13,
  OUTPOST_SCHEMA_CONFLICT = 14,
  OUTPOST_TOO_LARGE = 15,
  OUTPOST_UNSUPPORTED_MEDIA_TYPE = 16,
  OUTPOST_UNAVAILABLE = 17,
  OUTPOST_INTERNAL = 18,
  /* The disk holding the database is full (HTTP 507). Added after the
   * others, so it is numbered after OUTPOST_INTERNAL. */
  OUTPOST_DISK_FULL = 19,
  /* Not an API code: the call was cancelled (outpost_cancel, or a progress
   * callback that returned non-zero). */
  OUTPOST_CANCELLED = 100
} outpost_code;

/* An error as filled by a failed call. Start it zeroed
 * (outpost_error err = {0};) and clear it with outpost_error_clear(), which
 * frees the message; a call that fills an error already holding a message
 * frees that message first. */
typedef struct outpost_error {
  outpost_code code;
  char* message; /* owned: freed by outpost_error_clear(); NULL when OK */
} outpost_error;

/* An open database. Opaque. */
typedef struct outpost_db outpost_db;

/* ----------------------------------------------------------------------
 * Library
 * ---------------------------------------------------------------------- */

/* The library's version, e.g. "0.1.0". Static: do not free. Any thread. */
OUTPOST_EXPORT const char* outpost_version(void);
/* OUTPOST_ABI_VERSION of the library actually loaded. Any thread. */
OUTPOST_EXPORT int outpost_abi_version(void);
/* The wire name of a code ("invalid_value"; "cancelled" for
 * OUTPOST_CANCELLED; "unknown" for a number that is no code). Static: do
 * not free. Any thread. */
OUTPOST_EXPORT const char* outpost_code_name(int code);
/* Frees a string returned by outpost. NULL is fine. Any thread. */
OUTPOST_EXPORT void outpost_free(void* p);
/* Frees err->message and resets err to OUTPOST_OK. NULL is fine. */
OUTPOST_EXPORT void outpost_error_clear(outpost_error* err);

/* Log lines ("2026-11-22T10:00:00.123456Z WARN sync: message key=value")
 * go to stderr, from level "info" up, unless changed here. Sets the least
 * level written: "debug", "info", "warn" (or "warning"), "error" or "off",
 * in any case; another name is OUTPOST_INVALID_VALUE. Process-wide; any
 * thread. */
OUTPOST_EXPORT outpost_code outpost_log_level(const char* level, outpost_error* err);
/* Where log lines go instead of stderr (NULL: back to stderr). `sink` is
 * called with one line at a time, NUL-terminated and ending in '\n',
 * borrowed for the call, from whichever thread logs; calls never overlap.
 * The sink may call outpost: what it logs meanwhile is dropped, and an
 * outpost_log_sink() from inside it takes effect once it returns.
 * Process-wide; any thread. */
typedef void (*outpost_log_fn)(void* user_data, const char* line);
OUTPOST_EXPORT void outpost_log_sink(outpost_log_fn sink, void* user_data);

/* ----------------------------------------------------------------------
 * Opening
 * ---------------------------------------------------------------------- */

/* Opens the database at `url`: "sqlite:PATH" or a plain path (created when
 * missing), "postgres://..." (not in a device build: OUTPOST_UNAVAILABLE),
 * or a hub "http(s)://HOST:PORT". `options_json` may be NULL or "{}"; keys:
 *   "durability": "full" (default) or "normal"   (SQLite)
 *   "busy_timeout_ms": N                          (SQLite, default 10000)
 *   "token": "T"                                  (http: bearer token)
 *   "cacert": "FILE", "insecure": true            (https)
 * On success *db holds the handle; close it with outpost_close(). */
OUTPOST_EXPORT outpost_code outpost_open(const char* url, const char* options_json, outpost_db** db,
                                         outpost_error* err);
/* Closes the handle and frees it. NULL is fine. No other call on `db` may
 * run or start during or after it; cancel running syncs first. */
OUTPOST_EXPORT void outpost_close(outpost_db* db);
/* {"db_id", "backend", "update_seq", "scope"}: the database's identity and
 * feed position ("scope" is its own scope's text, or null). */
OUTPOST_EXPORT outpost_code outpost_info(outpost_db* db, char** out_json, outpost_error* err);

/* ----------------------------------------------------------------------
 * Tables (docs/http-api.md, "Server and tables")
 * ---------------------------------------------------------------------- */

/* Creates table `name`, or extends it with the columns it lacks: the
 * tables' create and extend in one call, as PUT /v1/tables/{t}. Columns are
 * never removed or retyped, and a column added to an existing table may
 * not be required (both OUTPOST_SCHEMA_CONFLICT). `table_json`:
 * {"columns": [{"name", "type", "required"?}]}. *out_json (may be NULL)
 * receives the definition now stored. */
OUTPOST_EXPORT outpost_code outpost_table_put(outpost_db* db, const char* name,
                                              const char* table_json, char** out_json,
                                              outpost_error* err);
/* {"name", "columns": [...]}; OUTPOST_UNKNOWN_TABLE when there is none. */
OUTPOST_EXPORT outpost_code outpost_table_get(outpost_db* db, const char* name, char** out_json,
                                              outpost_error* err);
/* {"tables": [...]}. */
OUTPOST_EXPORT outpost_code outpost_table_list(outpost_db* db, char** out_json, outpost_error* err);

/* ----------------------------------------------------------------------
 * Records. A write answers the write result {"table", "id", "revision"}.
 * `revision` (may be NULL) is the leaf an edit builds on; NULL builds on
 * the current winner (for a put: creates the record when it does not
 * exist). `attributes_json` is {"column": {"type": "text"}, ...}, the
 * record's whole new content.
 * ---------------------------------------------------------------------- */

OUTPOST_EXPORT outpost_code outpost_put(outpost_db* db, const char* table, const char* id,
                                        const char* revision, const char* attributes_json,
                                        char** out_json, outpost_error* err);
/* A new record with a generated id (a UUID v4), named in the result. */
OUTPOST_EXPORT outpost_code outpost_create(outpost_db* db, const char* table,
                                           const char* attributes_json, char** out_json,
                                           outpost_error* err);
/* Writes a tombstone on leaf `revision`, or on the winner when NULL (then
 * OUTPOST_NOT_FOUND when the record is absent or already deleted). */
OUTPOST_EXPORT outpost_code outpost_delete(outpost_db* db, const char* table, const char* id,
                                           const char* revision, char** out_json,
                                           outpost_error* err);
/* Keeps leaf `revision` (NULL: the winner) with `attributes_json` (NULL:
 * that leaf's own values) and deletes every other live leaf, in one
 * transaction. */
OUTPOST_EXPORT outpost_code outpost_resolve(outpost_db* db, const char* table, const char* id,
                                            const char* revision, const char* attributes_json,
                                            char** out_json, outpost_error* err);
/* Many edits in one transaction: the body of POST /v1/bulk_docs,
 * {"docs": [{"table", "id"?, "revision"?, "deleted"?, "attributes",
 * "resolve"?}, ...]} ("new_edits": false writes replicated revisions).
 * *out_json is the array of write results, one per document in order; a
 * document that fails has "error" and "message" there and the others are
 * written all the same (the call still returns OUTPOST_OK). */
OUTPOST_EXPORT outpost_code outpost_bulk_docs(outpost_db* db, const char* body_json,
                                              char** out_json, outpost_error* err);
/* The record as GET /v1/tables/{t}/records/{id} answers it. `options_json`
 * may be NULL; keys: "rev": "R" (that revision, not the winner),
 * "conflicts": true, "ancestry": true. OUTPOST_NOT_FOUND when absent. */
OUTPOST_EXPORT outpost_code outpost_get(outpost_db* db, const char* table, const char* id,
                                        const char* options_json, char** out_json,
                                        outpost_error* err);
/* Live records in id order: {"records": [...], "next"}. `options_json` may
 * be NULL; keys: "after": "ID", "limit": N (default 1000), "where": a scope
 * clause of this table ("district = 'north' AND size IN (5, 6)"). */
OUTPOST_EXPORT outpost_code outpost_list(outpost_db* db, const char* table,
                                         const char* options_json, char** out_json,
                                         outpost_error* err);
/* Records with conflicts: {"conflicts": [{"table", "id", "winner",
 * "conflicts"}], "next"}. `options_json` may be NULL; keys: "table",
 * "after", "limit". */
OUTPOST_EXPORT outpost_code outpost_conflicts(outpost_db* db, const char* options_json,
                                              char** out_json, outpost_error* err);

/* ----------------------------------------------------------------------
 * The change feed (docs/http-api.md, "The change feed")
 * ---------------------------------------------------------------------- */

/* One page of the feed: {"results": [...], "last_seq", "more"}. Keys of
 * `options_json` (may be NULL): "since" (a cursor; default from the
 * beginning), "limit", "tables": ["a", ...], "timeout_ms": N (wait up to N
 * ms until an entry exists; outpost_cancel ends the wait with what there
 * is), "scope": "SCOPE" (only records in the scope, plus removed entries).
 * Pass "last_seq" back as "since". */
OUTPOST_EXPORT outpost_code outpost_changes(outpost_db* db, const char* options_json,
                                            char** out_json, outpost_error* err);

/* ----------------------------------------------------------------------
 * Sync (as `outpost sync` does; docs/cli.md, docs/replication.md)
 * ---------------------------------------------------------------------- */

/* Called from a syncing thread as the sync moves on (the two directions
 * run on two threads; their calls are serialised, never two at once),
 * with the progress of one direction
 * as JSON: {"direction": "push" or "pull", "changes_read",
 * "revisions_written", "already_present", "errors", "seconds", "last_seq",
 * "bytes"?}. The text is borrowed for the call. Return 0 to go on, anything
 * else to cancel the sync. */
typedef int (*outpost_progress_fn)(void* user_data, const char* progress_json);

/* Replicates between `db` and the database at `url` (a hub's
 * http(s)://HOST:PORT or any database URL) until both hold the same
 * records. `options_json` may be NULL; keys:
 *   "token", "cacert", "insecure"   as for outpost_open (http(s) only)
 *   "direction": "both" (default), "pull" or "push"
 *   "tables": ["a", ...], "scope": "SCOPE", "batch": N
 *   "continuous": true   follow both feeds until cancelled; an unreachable
 *                        hub is waited for
 *   "scope_check_ms": N  continuous: how often the token's scope is read
 *   "retry_for_ms": N    one-shot: how long a hub that cannot be reached (or
 *                        answers 503, or times out) is tried again before
 *                        the sync fails with OUTPOST_UNAVAILABLE (default
 *                        60000; 0: no retry; each request is sent once and
 *                        this budget alone retries, as `outpost sync`)
 * A device syncing through a token with a scope adopts it (and reports it
 * as "adopted_scope"). `progress` may be NULL.
 * *report_json (may be NULL) receives the report, the JSON of
 * `outpost sync --json`, whenever copying began, also when the call then
 * fails. Returns OUTPOST_OK when every document was copied;
 * OUTPOST_CANCELLED when cancelled (a continuous sync ends so, or on an
 * error other than OUTPOST_UNAVAILABLE, which it waits out); the error's
 * code when the sync stopped on one; when documents failed,
 * the first one's code (the report's "errors" lists them), or
 * OUTPOST_FORBIDDEN when only documents refused by earlier syncs remain
 * (the report's "refused" counts them). Blocks; cancel it from another
 * thread with outpost_cancel(). */
OUTPOST_EXPORT outpost_code outpost_sync(outpost_db* db, const char* url, const char* options_json,
                                         outpost_progress_fn progress, void* user_data,
                                         char** report_json, outpost_error* err);

/* Cancels every outpost_sync and waiting outpost_changes running on `db`
 * now; they return soon (OUTPOST_CANCELLED, or a changes page with what
 * there is; a long-poll on a server, http(s)://, runs to its timeout).
 * Calls started afterwards are not affected. Any thread. */
OUTPOST_EXPORT void outpost_cancel(outpost_db* db);

/* ----------------------------------------------------------------------
 * The database's scope (DESIGN.md section 14; `outpost scope`)
 * ---------------------------------------------------------------------- */

/* {"scope", "fingerprint"}, both null when the database holds every
 * record. */
OUTPOST_EXPORT outpost_code outpost_scope_get(outpost_db* db, char** out_json, outpost_error* err);
/* Sets the database's scope from its text ("households: district =
 * 'north'; visits"); NULL or "" clears it, as outpost_scope_clear. Narrowing
 * purges what fell out of it, but only what a database without a scope
 * has acknowledged; the rest waits for a push. *out_json (may be NULL):
 * {"scope", "fingerprint", "purged": N, "waiting": ["table/id", ...]}.
 * Local databases only (OUTPOST_INVALID_VALUE for a server). */
OUTPOST_EXPORT outpost_code outpost_scope_set(outpost_db* db, const char* scope, char** out_json,
                                              outpost_error* err);
/* Clears the database's scope: it holds every record again and the next
 * sync pulls what it lacks. *out_json (may be NULL) as outpost_scope_set. */
OUTPOST_EXPORT outpost_code outpost_scope_clear(outpost_db* db, char** out_json,
                                                outpost_error* err);

#ifdef __cplusplus
}
#endif

#endif /* OUTPOST_H */
