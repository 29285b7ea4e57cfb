/* abi_test.c: exercises every function of include/outpost.h (the C ABI),
 * success and error paths, against liboutpost.so.
 *
 * Built by scripts/test-abi.sh as C99 with -Wall -Wextra -Werror -pedantic
 * and -fsanitize=address,undefined, and run with:
 *   OUTPOST_ABI_TMP         a fresh temporary directory (required)
 *   OUTPOST_ABI_SERVER_BIN  the `outpost` CLI, started here as a hub
 *                           (`outpost serve`) for the sync tests (required)
 *   OUTPOST_ABI_DEVICE=1    the library is a device build: postgres:// URLs
 *                           must be OUTPOST_UNAVAILABLE (optional)
 * Every string the library returns is freed with outpost_free, every error
 * cleared with outpost_error_clear, every handle closed, so LeakSanitizer
 * must report nothing. Prints one line per failed check (file:line, the
 * expression, the error's code and message) and exits 1 if any failed. */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "outpost.h"

extern char **environ;

/* ----------------------------------------------------------------------
 * Checks
 * ---------------------------------------------------------------------- */

static pthread_mutex_t fail_mu = PTHREAD_MUTEX_INITIALIZER;
static int failures = 0;
static int checks = 0;

/* The main thread's error; threads use their own. */
static outpost_error err = {0};

static void note_check(void) {
  pthread_mutex_lock(&fail_mu);
  checks++;
  pthread_mutex_unlock(&fail_mu);
}

static void fail_at(const char *file, int line, const char *expr, const outpost_error *e,
                    const char *extra) {
  pthread_mutex_lock(&fail_mu);
  failures++;
  fprintf(stderr, "%s:%d: CHECK failed: %s", file, line, expr);
  if (extra != NULL) fprintf(stderr, " [%s]", extra);
  if (e != NULL && (e->code != OUTPOST_OK || e->message != NULL))
    fprintf(stderr, " (error %d %s: %s)", (int)e->code, outpost_code_name((int)e->code),
            e->message != NULL ? e->message : "(no message)");
  fputc('\n', stderr);
  fflush(stderr);
  pthread_mutex_unlock(&fail_mu);
}

#define CHECK_E(cond, e)                                             \
  do {                                                               \
    note_check();                                                    \
    if (!(cond)) fail_at(__FILE__, __LINE__, #cond, (e), NULL);      \
  } while (0)
#define CHECK(cond) CHECK_E(cond, &err)

/* The call must succeed; err is cleared afterwards. */
#define CHECK_OK(call)                                                                  \
  do {                                                                                  \
    outpost_code rc_ = (call);                                                          \
    note_check();                                                                       \
    if (rc_ != OUTPOST_OK) {                                                            \
      char b_[96];                                                                      \
      snprintf(b_, sizeof b_, "returned %d %s, expected OK", (int)rc_,                  \
               outpost_code_name((int)rc_));                                            \
      fail_at(__FILE__, __LINE__, #call, &err, b_);                                     \
    }                                                                                   \
    outpost_error_clear(&err);                                                          \
  } while (0)

/* The call must fail with `code`, and err must hold that code and a
 * message; err is cleared afterwards. */
#define CHECK_CODE(call, code) check_code_((call), (code), #call, __FILE__, __LINE__)

static void check_code_(outpost_code rc, outpost_code want, const char *expr, const char *file,
                        int line) {
  char b[160];
  note_check();
  if (rc != want) {
    snprintf(b, sizeof b, "returned %d %s, expected %d %s", (int)rc, outpost_code_name((int)rc),
             (int)want, outpost_code_name((int)want));
    fail_at(file, line, expr, &err, b);
  } else if (err.code != want) {
    snprintf(b, sizeof b, "err.code is %d %s, expected %d %s", (int)err.code,
             outpost_code_name((int)err.code), (int)want, outpost_code_name((int)want));
    fail_at(file, line, expr, &err, b);
  } else if (want != OUTPOST_OK && (err.message == NULL || err.message[0] == '\0')) {
    fail_at(file, line, expr, &err, "err.message is empty");
  }
  outpost_error_clear(&err);
}

/* The call must fail (any code) with a message in err; err is cleared. */
#define CHECK_FAILS(call) check_fails_((call), #call, __FILE__, __LINE__)

static void check_fails_(outpost_code rc, const char *expr, const char *file, int line) {
  char b[128];
  note_check();
  if (rc == OUTPOST_OK) {
    fail_at(file, line, expr, &err, "returned OK, expected an error");
  } else if (err.code != rc) {
    snprintf(b, sizeof b, "err.code is %d, returned %d", (int)err.code, (int)rc);
    fail_at(file, line, expr, &err, b);
  } else if (err.message == NULL || err.message[0] == '\0') {
    fail_at(file, line, expr, &err, "err.message is empty");
  }
  outpost_error_clear(&err);
}

static int has(const char *json, const char *sub) {
  return json != NULL && strstr(json, sub) != NULL;
}

static int count(const char *json, const char *sub) {
  int n = 0;
  size_t len = strlen(sub);
  const char *p = json;
  if (json == NULL || len == 0) return 0;
  while ((p = strstr(p, sub)) != NULL) {
    n++;
    p += len;
  }
  return n;
}

static void show_json(const char *what, const char *json) {
  pthread_mutex_lock(&fail_mu);
  fprintf(stderr, "    %s: %.1200s%s\n", what, json != NULL ? json : "(NULL)",
          json != NULL && strlen(json) > 1200 ? "..." : "");
  pthread_mutex_unlock(&fail_mu);
}

#define CHECK_HAS(json, sub)                                                \
  do {                                                                      \
    note_check();                                                           \
    if (!has((json), (sub))) {                                              \
      fail_at(__FILE__, __LINE__, "has(" #json ", " #sub ")", NULL, (sub)); \
      show_json(#json, (json));                                             \
    }                                                                       \
  } while (0)
/* A check that shows `json` when it fails. */
#define CHECK_J(cond, json)                                   \
  do {                                                        \
    note_check();                                             \
    if (!(cond)) {                                            \
      fail_at(__FILE__, __LINE__, #cond, NULL, NULL);         \
      show_json(#json, (json));                               \
    }                                                         \
  } while (0)
#define CHECK_HASNT(json, sub)                                                \
  do {                                                                        \
    note_check();                                                             \
    if ((json) == NULL || has((json), (sub))) {                               \
      fail_at(__FILE__, __LINE__, "!has(" #json ", " #sub ")", NULL, (sub));  \
      show_json(#json, (json));                                               \
    }                                                                         \
  } while (0)

/* Frees *p with outpost_free and sets it to NULL. */
static void drop(char **p) {
  outpost_free(*p);
  *p = NULL;
}

/* An out-parameter a failed call must have left NULL; freed if it was set
 * all the same, so that a wrong answer does not also leak. */
#define CHECK_NULL(p) \
  do {                \
    CHECK((p) == NULL); \
    drop(&(p));       \
  } while (0)

/* The string value of the n-th (0-based) "key": "..." in json, copied into
 * buf (escapes kept as they are). 1 when found, else 0 with buf "". */
static int json_str_n(const char *json, const char *key, int n, char *buf, size_t size) {
  char pat[128];
  const char *p = json;
  size_t len;
  buf[0] = '\0';
  if (json == NULL) return 0;
  snprintf(pat, sizeof pat, "\"%s\":", key);
  len = strlen(pat);
  for (;;) {
    const char *q;
    size_t i = 0;
    p = strstr(p, pat);
    if (p == NULL) return 0;
    p += len;
    while (*p == ' ') p++;
    if (*p != '"') continue;
    if (n-- > 0) continue;
    for (q = p + 1; *q != '\0' && *q != '"'; q++) {
      if (*q == '\\' && q[1] != '\0') {
        if (i + 1 < size) buf[i++] = *q;
        q++;
      }
      if (i + 1 < size) buf[i++] = *q;
    }
    buf[i] = '\0';
    return *q == '"';
  }
}

static int json_str(const char *json, const char *key, char *buf, size_t size) {
  return json_str_n(json, key, 0, buf, size);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static int is_uuid_v4(const char *s) {
  int i;
  if (s == NULL || strlen(s) != 36) return 0;
  for (i = 0; i < 36; i++) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return 0;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return 0;
    }
  }
  return s[14] == '4' && strchr("89abAB", s[19]) != NULL;
}

/* Sync options: {"token": T, EXTRA} or {EXTRA}. */
static void with_token(char *buf, size_t size, const char *token, const char *extra) {
  if (token != NULL)
    snprintf(buf, size, "{\"token\":\"%s\",%s}", token, extra);
  else
    snprintf(buf, size, "{%s}", extra);
}

/* The "revisions_written" of a sync report's "total", or of its only
 * report (one direction); -1: none. */
static long total_written(const char *report) {
  const char *p = report != NULL ? strstr(report, "\"total\":{") : NULL;
  if (p == NULL) p = report;
  if (p == NULL) return -1;
  p = strstr(p, "\"revisions_written\":");
  if (p == NULL) return -1;
  return strtol(p + strlen("\"revisions_written\":"), NULL, 10);
}

/* Attributes of a households record. */
static const char *hh(char *buf, size_t size, const char *name, const char *district, int n) {
  snprintf(buf, size,
           "{\"head_name\":{\"string\":\"%s\"},\"district\":{\"string\":\"%s\"},"
           "\"size\":{\"int\":\"%d\"}}",
           name, district, n);
  return buf;
}

/* ----------------------------------------------------------------------
 * Environment
 * ---------------------------------------------------------------------- */

static char tmp_dir[1024];
static char path_a[1200], path_b[1200], path_hub[1200], path_d[1200];
static char url_a[1300], url_b[1300];
static const char *server_bin = NULL;
static int device_build = 0;
static volatile pid_t server_pid = -1;

static void on_alarm(int sig) {
  static const char msg[] = "abi_test: watchdog: the test took too long; killing the hub\n";
  (void)sig;
  if (server_pid > 0) kill(server_pid, SIGKILL);
  if (write(2, msg, sizeof msg - 1) < 0) {
  }
  _exit(3);
}

/* ----------------------------------------------------------------------
 * Library
 * ---------------------------------------------------------------------- */

static void test_library(void) {
  static const char *names[] = {"ok",
                                "invalid_json",
                                "invalid_value",
                                "invalid_name",
                                "unknown_column",
                                "missing_required",
                                "invalid_revision",
                                "invalid_scope",
                                "unauthorized",
                                "forbidden",
                                "not_found",
                                "method_not_allowed",
                                "unknown_table",
                                "conflict",
                                "schema_conflict",
                                "too_large",
                                "unsupported_media_type",
                                "unavailable",
                                "internal",
                                "disk_full"};
  const char *v = outpost_version();
  int code;
  outpost_error e = {0};

  CHECK(v != NULL && v[0] != '\0' && strchr(v, '.') != NULL);
  CHECK(outpost_abi_version() == OUTPOST_ABI_VERSION);

  for (code = OUTPOST_OK; code <= OUTPOST_DISK_FULL; code++) {
    const char *name = outpost_code_name(code);
    CHECK(name != NULL && strcmp(name, "unknown") != 0);
    if (code != OUTPOST_OK && name != NULL && strcmp(name, names[code]) != 0) {
      fprintf(stderr, "    code %d is named \"%s\", expected \"%s\"\n", code, name, names[code]);
      CHECK(strcmp(name, names[code]) == 0);
    }
  }
  CHECK(outpost_code_name(OUTPOST_CANCELLED) != NULL &&
        strcmp(outpost_code_name(OUTPOST_CANCELLED), "cancelled") == 0);
  CHECK(strcmp(outpost_code_name(9999), "unknown") == 0);
  CHECK(strcmp(outpost_code_name(-1), "unknown") == 0);
  CHECK(strcmp(outpost_code_name(OUTPOST_DISK_FULL), "disk_full") == 0);
  CHECK(strcmp(outpost_code_name(20), "unknown") == 0);
  CHECK(strcmp(outpost_code_name(99), "unknown") == 0);
  CHECK(strcmp(outpost_code_name(101), "unknown") == 0);
  /* Static: the same pointer every time is fine, it must just stay valid. */
  CHECK(outpost_code_name(OUTPOST_CONFLICT) == outpost_code_name(OUTPOST_CONFLICT) ||
        strcmp(outpost_code_name(OUTPOST_CONFLICT), "conflict") == 0);

  outpost_free(NULL);
  outpost_error_clear(NULL);
  outpost_error_clear(&e); /* zeroed */
  CHECK_E(e.code == OUTPOST_OK && e.message == NULL, &e);
  outpost_error_clear(&e); /* twice */
  CHECK_E(e.code == OUTPOST_OK && e.message == NULL, &e);
}

/* ----------------------------------------------------------------------
 * Opening
 * ---------------------------------------------------------------------- */

/* A failed open leaves *db as it was; a handle opened all the same is
 * closed. */
#define CHECK_SENTINEL(d, sentinel)         \
  do {                                      \
    CHECK((d) == (sentinel));               \
    if ((d) != (sentinel)) outpost_close(d); \
  } while (0)

static outpost_db *test_open(void) {
  static int sentinel_storage;
  outpost_db *const sentinel = (outpost_db *)(void *)&sentinel_storage;
  outpost_db *db = NULL, *d2 = NULL;
  char *out = NULL;
  char url[1400];
  outpost_error e = {0};

  /* sqlite:PATH, created when missing, with options. */
  CHECK_OK(outpost_open(url_a, "{\"durability\":\"normal\",\"busy_timeout_ms\":5000}", &db, &err));
  CHECK(db != NULL);

  /* A plain path, NULL options; "{}" options. */
  snprintf(url, sizeof url, "%s/plain.db", tmp_dir);
  CHECK_OK(outpost_open(url, NULL, &d2, &err));
  CHECK(d2 != NULL);
  if (d2 != NULL) {
    struct stat st;
    CHECK(stat(url, &st) == 0);
    CHECK_OK(outpost_info(d2, &out, &err));
    CHECK_HAS(out, "\"backend\":\"sqlite\"");
    drop(&out);
  }
  outpost_close(d2);
  d2 = NULL;
  snprintf(url, sizeof url, "sqlite:%s/plain.db", tmp_dir);
  CHECK_OK(outpost_open(url, "{}", &d2, &err));
  CHECK(d2 != NULL);
  outpost_close(d2);
  d2 = NULL;

  /* A directory cannot be a database: an error with a message, and the
   * out-parameter left as it was. */
  d2 = sentinel;
  CHECK_FAILS(outpost_open(tmp_dir, NULL, &d2, &err));
  CHECK_SENTINEL(d2, sentinel);
  d2 = sentinel;
  snprintf(url, sizeof url, "sqlite:%s", tmp_dir);
  CHECK_FAILS(outpost_open(url, "{}", &d2, &err));
  CHECK_SENTINEL(d2, sentinel);

  /* Options that are not JSON. */
  d2 = sentinel;
  snprintf(url, sizeof url, "sqlite:%s/never.db", tmp_dir);
  CHECK_CODE(outpost_open(url, "{not json", &d2, &err), OUTPOST_INVALID_JSON);
  CHECK_SENTINEL(d2, sentinel);
  d2 = sentinel;
  CHECK_CODE(outpost_open(url, "[1,", &d2, &err), OUTPOST_INVALID_JSON);
  CHECK_SENTINEL(d2, sentinel);
  d2 = sentinel;
  CHECK_FAILS(outpost_open(url, "{\"durability\":\"sometimes\"}", &d2, &err));
  CHECK_SENTINEL(d2, sentinel);

  /* err may be NULL: the code alone. */
  d2 = sentinel;
  CHECK(outpost_open(url, "{not json", &d2, NULL) == OUTPOST_INVALID_JSON);
  CHECK_SENTINEL(d2, sentinel);

  /* A failure into an error that already holds a message frees it first
   * (LeakSanitizer would see the first message otherwise). */
  d2 = sentinel;
  CHECK_E(outpost_open(url, "{not json", &d2, &e) == OUTPOST_INVALID_JSON, &e);
  CHECK_E(e.code == OUTPOST_INVALID_JSON && e.message != NULL, &e);
  CHECK_E(outpost_open(tmp_dir, NULL, &d2, &e) != OUTPOST_OK, &e);
  CHECK_E(e.code != OUTPOST_OK && e.message != NULL, &e);
  outpost_error_clear(&e);
  CHECK_E(e.code == OUTPOST_OK && e.message == NULL, &e);
  CHECK_SENTINEL(d2, sentinel);

  if (device_build) {
    d2 = sentinel;
    CHECK_CODE(outpost_open("postgres://outpost@127.0.0.1:5432/outpost", NULL, &d2, &err),
               OUTPOST_UNAVAILABLE);
    CHECK_SENTINEL(d2, sentinel);
    d2 = sentinel;
    CHECK_CODE(outpost_open("postgresql://outpost@127.0.0.1/outpost", "{}", &d2, &err),
               OUTPOST_UNAVAILABLE);
    CHECK_SENTINEL(d2, sentinel);
  } else {
    printf("note: OUTPOST_ABI_DEVICE is not 1: the postgres:// check is skipped\n");
  }

  /* info */
  if (db != NULL) {
    char id1[128], id2[128];
    CHECK_OK(outpost_info(db, &out, &err));
    CHECK_HAS(out, "\"db_id\":\"");
    CHECK_HAS(out, "\"backend\":\"sqlite\"");
    CHECK_HAS(out, "\"update_seq\":");
    CHECK_HAS(out, "\"scope\":null");
    CHECK(json_str(out, "db_id", id1, sizeof id1) && strlen(id1) > 0);
    drop(&out);
    /* The identity is stable across handles on the same file. */
    CHECK_OK(outpost_open(url_a, NULL, &d2, &err));
    if (d2 != NULL) {
      CHECK_OK(outpost_info(d2, &out, &err));
      CHECK(json_str(out, "db_id", id2, sizeof id2) && strcmp(id1, id2) == 0);
      drop(&out);
      outpost_close(d2);
      d2 = NULL;
    }
  }
  return db;
}

/* ----------------------------------------------------------------------
 * Tables
 * ---------------------------------------------------------------------- */

static void test_tables(outpost_db *db) {
  char *out = NULL;

  CHECK_OK(outpost_table_put(db, "households",
                             "{\"columns\":[{\"name\":\"head_name\",\"type\":\"string\","
                             "\"required\":true},{\"name\":\"size\",\"type\":\"int\"}]}",
                             &out, &err));
  CHECK_HAS(out, "\"name\":\"households\"");
  CHECK_HAS(out, "{\"name\":\"head_name\",\"type\":\"string\",\"required\":true}");
  CHECK_HAS(out, "{\"name\":\"size\",\"type\":\"int\",\"required\":false}");
  drop(&out);

  /* Extend with a column (out_json may be NULL); the name may be given. */
  CHECK_OK(outpost_table_put(
      db, "households",
      "{\"name\":\"households\",\"columns\":[{\"name\":\"district\",\"type\":\"string\"}]}", NULL,
      &err));
  CHECK_OK(outpost_table_get(db, "households", &out, &err));
  CHECK_HAS(out, "\"name\":\"households\"");
  CHECK_HAS(out, "\"head_name\"");
  CHECK_HAS(out, "{\"name\":\"district\",\"type\":\"string\",\"required\":false}");
  CHECK_HAS(out, "{\"name\":\"size\",\"type\":\"int\",\"required\":false}");
  drop(&out);

  /* The same definition again changes nothing. */
  CHECK_OK(outpost_table_put(db, "households",
                             "{\"columns\":[{\"name\":\"size\",\"type\":\"int\"}]}", &out, &err));
  CHECK_HAS(out, "\"district\"");
  drop(&out);

  /* More tables. */
  CHECK_OK(outpost_table_put(db, "visits",
                             "{\"columns\":[{\"name\":\"household\",\"type\":\"string\"},"
                             "{\"name\":\"district\",\"type\":\"string\"},"
                             "{\"name\":\"n\",\"type\":\"int\"}]}",
                             &out, &err));
  CHECK_HAS(out, "\"name\":\"visits\"");
  drop(&out);
  CHECK_OK(outpost_table_put(db, "load", "{\"columns\":[{\"name\":\"n\",\"type\":\"int\"}]}",
                             NULL, &err));

  /* Retyping a column; a new required column on an existing table. */
  CHECK_CODE(outpost_table_put(db, "households",
                               "{\"columns\":[{\"name\":\"size\",\"type\":\"string\"}]}", &out,
                               &err),
             OUTPOST_SCHEMA_CONFLICT);
  CHECK_NULL(out);
  CHECK_CODE(outpost_table_put(
                 db, "households",
                 "{\"columns\":[{\"name\":\"extra\",\"type\":\"int\",\"required\":true}]}", &out,
                 &err),
             OUTPOST_SCHEMA_CONFLICT);
  CHECK_NULL(out);
  /* Nothing was stored by either. */
  CHECK_OK(outpost_table_get(db, "households", &out, &err));
  CHECK_HAS(out, "{\"name\":\"size\",\"type\":\"int\",\"required\":false}");
  CHECK_HASNT(out, "\"extra\"");
  drop(&out);

  /* Bad JSON, bad shapes. */
  CHECK_CODE(outpost_table_put(db, "households", "{\"columns\":[", &out, &err),
             OUTPOST_INVALID_JSON);
  CHECK_NULL(out);
  CHECK_CODE(outpost_table_put(db, "households", "{\"columns\":5}", &out, &err),
             OUTPOST_INVALID_JSON);
  CHECK_NULL(out);
  CHECK_FAILS(outpost_table_put(db, "households",
                                "{\"name\":\"visits\",\"columns\":[{\"name\":\"size\","
                                "\"type\":\"int\"}]}",
                                &out, &err));
  CHECK_NULL(out);
  CHECK_FAILS(outpost_table_put(db, "households",
                                "{\"columns\":[{\"name\":\"w\",\"type\":\"complex\"}]}", &out,
                                &err));
  CHECK_NULL(out);

  /* Bad names: of the table, of a column. */
  CHECK_CODE(outpost_table_put(db, "Bad-Name",
                               "{\"columns\":[{\"name\":\"a\",\"type\":\"int\"}]}", &out, &err),
             OUTPOST_INVALID_NAME);
  CHECK_NULL(out);
  CHECK_CODE(outpost_table_put(db, "1abc", "{\"columns\":[{\"name\":\"a\",\"type\":\"int\"}]}",
                               &out, &err),
             OUTPOST_INVALID_NAME);
  CHECK_NULL(out);
  CHECK_CODE(outpost_table_put(db, "fine",
                               "{\"columns\":[{\"name\":\"Bad Col\",\"type\":\"int\"}]}", &out,
                               &err),
             OUTPOST_INVALID_NAME);
  CHECK_NULL(out);
  CHECK_CODE(outpost_table_get(db, "fine", &out, &err), OUTPOST_UNKNOWN_TABLE);
  CHECK_NULL(out);

  /* get */
  CHECK_CODE(outpost_table_get(db, "nope", &out, &err), OUTPOST_UNKNOWN_TABLE);
  CHECK_NULL(out);
  CHECK(outpost_table_get(db, "nope", &out, NULL) == OUTPOST_UNKNOWN_TABLE);
  CHECK_NULL(out);

  /* list */
  CHECK_OK(outpost_table_list(db, &out, &err));
  CHECK_HAS(out, "{\"tables\":[");
  CHECK_HAS(out, "\"name\":\"households\"");
  CHECK_HAS(out, "\"name\":\"visits\"");
  CHECK_HAS(out, "\"name\":\"load\"");
  CHECK_HASNT(out, "\"name\":\"fine\"");
  drop(&out);
}

/* ----------------------------------------------------------------------
 * Records
 * ---------------------------------------------------------------------- */

static void test_records(outpost_db *db) {
  char *out = NULL;
  char a[512], opts[512], rev1[96], rev2[96], rev3[96], rev[96], id[96], expect[512];
  const char *amina6 =
      "{\"head_name\":{\"string\":\"Amina\"},\"size\":{\"int\":\"6\"},"
      "\"district\":{\"string\":\"north\"}}";
  const char *amina7 =
      "{\"head_name\":{\"string\":\"Amina\"},\"size\":{\"int\":\"7\"},"
      "\"district\":{\"string\":\"north\"}}";

  /* put: a new record (NULL revision creates it). */
  CHECK_OK(outpost_put(db, "households", "h-001", NULL, amina6, &out, &err));
  CHECK_HAS(out, "\"table\":\"households\"");
  CHECK_HAS(out, "\"id\":\"h-001\"");
  CHECK_HAS(out, "\"revision\":\"1-");
  CHECK(json_str(out, "revision", rev1, sizeof rev1));
  drop(&out);

  /* put on the winner (NULL revision). */
  CHECK_OK(outpost_put(db, "households", "h-001", NULL, amina7, &out, &err));
  CHECK_HAS(out, "\"revision\":\"2-");
  CHECK(json_str(out, "revision", rev2, sizeof rev2));
  drop(&out);

  /* put on a given revision. */
  CHECK_OK(outpost_put(db, "households", "h-001", rev2,
                       hh(a, sizeof a, "Amina Okello", "north", 8), &out, &err));
  CHECK_HAS(out, "\"revision\":\"3-");
  CHECK(json_str(out, "revision", rev3, sizeof rev3));
  drop(&out);

  /* The same edit again answers the revision it made the first time. */
  CHECK_OK(outpost_put(db, "households", "h-001", rev2,
                       hh(a, sizeof a, "Amina Okello", "north", 8), &out, &err));
  CHECK(json_str(out, "revision", rev, sizeof rev) && strcmp(rev, rev3) == 0);
  drop(&out);

  /* A stale revision: conflict, nothing stored. */
  CHECK_CODE(outpost_put(db, "households", "h-001", rev1,
                         hh(a, sizeof a, "Someone", "north", 1), &out, &err),
             OUTPOST_CONFLICT);
  CHECK_NULL(out);
  CHECK_CODE(outpost_put(db, "households", "h-001", "zzz", amina6, &out, &err),
             OUTPOST_INVALID_REVISION);
  CHECK_NULL(out);

  /* get: the winner, a revision, conflicts and ancestry. */
  CHECK_OK(outpost_get(db, "households", "h-001", NULL, &out, &err));
  snprintf(expect, sizeof expect, "\"revision\":\"%s\"", rev3);
  CHECK_HAS(out, expect);
  CHECK_HAS(out, "\"deleted\":false");
  CHECK_HAS(out, "\"size\":{\"int\":\"8\"}");
  CHECK_HAS(out, "\"head_name\":{\"string\":\"Amina Okello\"}");
  CHECK_HASNT(out, "\"ancestry\"");
  CHECK_HASNT(out, "\"conflicts\"");
  drop(&out);
  CHECK_OK(outpost_get(db, "households", "h-001", "{}", &out, &err));
  CHECK_HAS(out, expect);
  drop(&out);
  CHECK_OK(outpost_get(db, "households", "h-001", "{\"conflicts\":true,\"ancestry\":true}", &out,
                       &err));
  CHECK_HAS(out, expect);
  CHECK_HAS(out, "\"conflicts\":[]");
  snprintf(expect, sizeof expect, "\"ancestry\":[\"%s\",\"%s\"]", rev2, rev1);
  CHECK_HAS(out, expect);
  drop(&out);
  snprintf(opts, sizeof opts, "{\"rev\":\"%s\"}", rev1);
  CHECK_OK(outpost_get(db, "households", "h-001", opts, &out, &err));
  snprintf(expect, sizeof expect, "\"revision\":\"%s\"", rev1);
  CHECK_HAS(out, expect);
  CHECK_HAS(out, "\"size\":{\"int\":\"6\"}");
  drop(&out);
  CHECK_CODE(outpost_get(db, "households", "h-001",
                         "{\"rev\":\"1-00000000000000000000000000000000\"}", &out, &err),
             OUTPOST_NOT_FOUND);
  CHECK_NULL(out);
  CHECK_CODE(outpost_get(db, "households", "h-404", NULL, &out, &err), OUTPOST_NOT_FOUND);
  CHECK_NULL(out);
  CHECK(outpost_get(db, "households", "h-404", NULL, &out, NULL) == OUTPOST_NOT_FOUND);
  CHECK_NULL(out);
  CHECK_CODE(outpost_get(db, "nope", "h-001", NULL, &out, &err), OUTPOST_UNKNOWN_TABLE);
  CHECK_NULL(out);
  CHECK_CODE(outpost_get(db, "households", "h-001", "{\"conflicts\":", &out, &err),
             OUTPOST_INVALID_JSON);
  CHECK_NULL(out);

  /* Ids with odd characters are fine. */
  CHECK_OK(outpost_put(db, "households", "a/b c\xc3\xa9", NULL, amina6, &out, &err));
  drop(&out);
  CHECK_OK(outpost_get(db, "households", "a/b c\xc3\xa9", NULL, &out, &err));
  CHECK_HAS(out, "\"id\":\"a/b c\xc3\xa9\"");
  drop(&out);

  /* create: a generated UUID v4. */
  CHECK_OK(outpost_create(db, "households", hh(a, sizeof a, "Joseph", "south", 3), &out, &err));
  CHECK_HAS(out, "\"table\":\"households\"");
  CHECK_HAS(out, "\"revision\":\"1-");
  CHECK(json_str(out, "id", id, sizeof id) && is_uuid_v4(id));
  drop(&out);
  CHECK_OK(outpost_get(db, "households", id, NULL, &out, &err));
  CHECK_HAS(out, "\"head_name\":{\"string\":\"Joseph\"}");
  drop(&out);
  CHECK_CODE(outpost_create(db, "households", "{\"size\":{\"int\":\"1\"}}", &out, &err),
             OUTPOST_MISSING_REQUIRED);
  CHECK_NULL(out);
  CHECK_CODE(outpost_create(db, "nope", amina6, &out, &err), OUTPOST_UNKNOWN_TABLE);
  CHECK_NULL(out);
  CHECK_CODE(outpost_create(db, "households", "{", &out, &err), OUTPOST_INVALID_JSON);
  CHECK_NULL(out);

  /* Invalid values, unknown columns, missing required, bad ids. */
  CHECK_CODE(outpost_put(db, "households", "h-bad", NULL,
                         "{\"head_name\":{\"string\":\"X\"},\"size\":{\"int\":\"six\"}}", &out,
                         &err),
             OUTPOST_INVALID_VALUE);
  CHECK_NULL(out);
  CHECK_CODE(outpost_put(db, "households", "h-bad", NULL,
                         "{\"head_name\":{\"string\":\"X\"},\"size\":{\"string\":\"6\"}}", &out,
                         &err),
             OUTPOST_INVALID_VALUE);
  CHECK_NULL(out);
  CHECK_CODE(outpost_put(db, "households", "h-bad", NULL,
                         "{\"head_name\":{\"string\":\"X\"},\"colour\":{\"string\":\"red\"}}",
                         &out, &err),
             OUTPOST_UNKNOWN_COLUMN);
  CHECK_NULL(out);
  CHECK_CODE(outpost_put(db, "households", "h-bad", NULL, "{\"size\":{\"int\":\"1\"}}", &out,
                         &err),
             OUTPOST_MISSING_REQUIRED);
  CHECK_NULL(out);
  CHECK_CODE(outpost_put(db, "households", "h-bad", NULL, "{\"head_name\":", &out, &err),
             OUTPOST_INVALID_JSON);
  CHECK_NULL(out);
  CHECK_CODE(outpost_put(db, "households", "bad\x01id", NULL, amina6, &out, &err),
             OUTPOST_INVALID_NAME);
  CHECK_NULL(out);
  CHECK_CODE(outpost_put(db, "nope", "h-bad", NULL, amina6, &out, &err), OUTPOST_UNKNOWN_TABLE);
  CHECK_NULL(out);
  CHECK_CODE(outpost_get(db, "households", "h-bad", NULL, &out, &err), OUTPOST_NOT_FOUND);
  CHECK_NULL(out);
  /* The failed writes changed nothing. */
  CHECK_OK(outpost_get(db, "households", "h-001", NULL, &out, &err));
  snprintf(expect, sizeof expect, "\"revision\":\"%s\"", rev3);
  CHECK_HAS(out, expect);
  drop(&out);

  /* delete: on the winner (NULL), on a revision, stale, missing. */
  CHECK_OK(outpost_put(db, "households", "h-002", NULL, hh(a, sizeof a, "Peter", "south", 2),
                       &out, &err));
  drop(&out);
  CHECK_OK(outpost_put(db, "households", "h-003", NULL, hh(a, sizeof a, "Grace", "south", 4),
                       &out, &err));
  CHECK(json_str(out, "revision", rev, sizeof rev));
  drop(&out);
  CHECK_OK(outpost_delete(db, "households", "h-002", NULL, &out, &err));
  CHECK_HAS(out, "\"id\":\"h-002\"");
  CHECK_HAS(out, "\"revision\":\"2-");
  drop(&out);
  CHECK_OK(outpost_get(db, "households", "h-002", NULL, &out, &err));
  CHECK_HAS(out, "\"deleted\":true");
  drop(&out);
  CHECK_OK(outpost_delete(db, "households", "h-003", rev, &out, &err));
  CHECK_HAS(out, "\"revision\":\"2-");
  drop(&out);
  CHECK_CODE(outpost_delete(db, "households", "h-001", rev1, &out, &err), OUTPOST_CONFLICT);
  CHECK_NULL(out);
  CHECK_CODE(outpost_delete(db, "households", "h-404", NULL, &out, &err), OUTPOST_NOT_FOUND);
  CHECK_NULL(out);
  CHECK_CODE(outpost_delete(db, "nope", "h-001", NULL, &out, &err), OUTPOST_UNKNOWN_TABLE);
  CHECK_NULL(out);

  /* bulk_docs: one bad document among good ones. */
  CHECK_OK(outpost_bulk_docs(
      db,
      "{\"docs\":["
      "{\"table\":\"households\",\"id\":\"b-1\","
      "\"attributes\":{\"head_name\":{\"string\":\"B1\"}}},"
      "{\"table\":\"households\",\"id\":\"b-2\",\"attributes\":{\"head_name\":{\"string\":\"B2\"},"
      "\"size\":{\"int\":\"1.5\"}}},"
      "{\"table\":\"households\",\"attributes\":{\"head_name\":{\"string\":\"B3\"}}},"
      "{\"table\":\"households\",\"id\":\"b-4\",\"attributes\":{\"size\":{\"int\":\"3\"}}},"
      "{\"table\":\"households\",\"id\":\"h-001\",\"revision\":\"0-x\","
      "\"attributes\":{\"head_name\":{\"string\":\"B5\"}}}"
      "]}",
      &out, &err));
  CHECK(out != NULL && out[0] == '[');
  CHECK_HAS(out, "{\"table\":\"households\",\"id\":\"b-1\",\"revision\":\"1-");
  CHECK_HAS(out, "\"id\":\"b-2\",\"error\":\"invalid_value\",\"message\":\"");
  CHECK_HAS(out, "\"id\":\"b-4\",\"error\":\"missing_required\"");
  CHECK_HAS(out, "\"error\":\"invalid_revision\"");
  CHECK(count(out, "\"error\":") == 3);
  CHECK(count(out, "\"revision\":\"1-") == 2);
  CHECK(json_str_n(out, "id", 2, id, sizeof id) && is_uuid_v4(id));
  drop(&out);
  CHECK_OK(outpost_get(db, "households", "b-1", NULL, &out, &err));
  CHECK_HAS(out, "\"head_name\":{\"string\":\"B1\"}");
  drop(&out);
  CHECK_CODE(outpost_get(db, "households", "b-2", NULL, &out, &err), OUTPOST_NOT_FOUND);
  CHECK_NULL(out);
  CHECK_CODE(outpost_get(db, "households", "b-4", NULL, &out, &err), OUTPOST_NOT_FOUND);
  CHECK_NULL(out);
  /* Deleting and resolving through bulk_docs. */
  CHECK_OK(outpost_get(db, "households", "b-1", NULL, &out, &err));
  CHECK(json_str(out, "revision", rev, sizeof rev));
  drop(&out);
  snprintf(a, sizeof a,
           "{\"new_edits\":true,\"docs\":[{\"table\":\"households\",\"id\":\"b-1\","
           "\"revision\":\"%s\",\"deleted\":true}]}",
           rev);
  CHECK_OK(outpost_bulk_docs(db, a, &out, &err));
  CHECK_HAS(out, "\"id\":\"b-1\",\"revision\":\"2-");
  CHECK_HASNT(out, "\"error\"");
  drop(&out);
  CHECK_OK(outpost_get(db, "households", "b-1", NULL, &out, &err));
  CHECK_HAS(out, "\"deleted\":true");
  drop(&out);
  CHECK_CODE(outpost_bulk_docs(db, "{\"docs\":[", &out, &err), OUTPOST_INVALID_JSON);
  CHECK_NULL(out);
  CHECK_CODE(outpost_bulk_docs(db, "{\"docs\":5}", &out, &err), OUTPOST_INVALID_JSON);
  CHECK_NULL(out);
  CHECK_OK(outpost_bulk_docs(db, "{\"docs\":[]}", &out, &err));
  CHECK(out != NULL && strcmp(out, "[]") == 0);
  drop(&out);
}

/* list with paging and "where" */
static void test_list(outpost_db *db) {
  static const char *districts[] = {"north", "south", "north", "south", "north"};
  char *out = NULL;
  char a[512], opts[512], id[32], next[96], rev[96];
  int i, pages = 0, total = 0;

  for (i = 0; i < 5; i++) {
    snprintf(id, sizeof id, "v-%02d", i + 1);
    snprintf(a, sizeof a,
             "{\"household\":{\"string\":\"h-001\"},\"district\":{\"string\":\"%s\"},"
             "\"n\":{\"int\":\"%d\"}}",
             districts[i], i + 1);
    CHECK_OK(outpost_put(db, "visits", id, NULL, a, &out, &err));
    drop(&out);
  }
  CHECK_OK(outpost_put(db, "visits", "v-06", NULL, "{\"n\":{\"int\":\"6\"}}", &out, &err));
  CHECK(json_str(out, "revision", rev, sizeof rev));
  drop(&out);
  CHECK_OK(outpost_delete(db, "visits", "v-06", rev, &out, &err));
  drop(&out);

  CHECK_OK(outpost_list(db, "visits", NULL, &out, &err));
  CHECK_HAS(out, "{\"records\":[");
  CHECK_HAS(out, "\"next\":\"\"");
  CHECK(count(out, "\"id\":\"v-") == 5);
  CHECK_HASNT(out, "v-06");
  CHECK(has(out, "v-01") && has(out, "v-05") && strstr(out, "v-01") < strstr(out, "v-05"));
  drop(&out);

  /* Pages of 2. */
  next[0] = '\0';
  for (;;) {
    if (next[0] == '\0')
      snprintf(opts, sizeof opts, "{\"limit\":2}");
    else
      snprintf(opts, sizeof opts, "{\"limit\":2,\"after\":\"%s\"}", next);
    CHECK_OK(outpost_list(db, "visits", opts, &out, &err));
    if (out == NULL) break;
    pages++;
    total += count(out, "\"id\":\"v-");
    CHECK(count(out, "\"id\":\"v-") <= 2);
    if (pages == 1) {
      CHECK_HAS(out, "\"id\":\"v-01\"");
      CHECK_HAS(out, "\"id\":\"v-02\"");
      CHECK_HAS(out, "\"next\":\"v-02\"");
    }
    if (pages == 2) {
      CHECK_HAS(out, "\"id\":\"v-03\"");
      CHECK_HASNT(out, "\"id\":\"v-02\"");
    }
    CHECK(has(out, "\"next\":"));
    json_str(out, "next", next, sizeof next);
    drop(&out);
    if (next[0] == '\0' || pages > 10) break;
  }
  CHECK(total == 5);
  CHECK(pages == 3 || pages == 4);

  /* where */
  CHECK_OK(outpost_list(db, "visits", "{\"where\":\"district = 'north'\"}", &out, &err));
  CHECK(count(out, "\"id\":\"v-") == 3);
  CHECK_HAS(out, "\"id\":\"v-01\"");
  CHECK_HAS(out, "\"id\":\"v-05\"");
  CHECK_HASNT(out, "\"id\":\"v-02\"");
  drop(&out);
  CHECK_OK(outpost_list(db, "visits",
                        "{\"where\":\"district = 'north' AND n IN (3, 5)\",\"limit\":1}", &out,
                        &err));
  CHECK(count(out, "\"id\":\"v-") == 1);
  CHECK_HAS(out, "\"id\":\"v-03\"");
  drop(&out);
  CHECK_CODE(outpost_list(db, "visits", "{\"where\":\"distric = 'north'\"}", &out, &err),
             OUTPOST_INVALID_SCOPE);
  CHECK_NULL(out);
  CHECK_CODE(outpost_list(db, "visits", "{\"where\":\"n = 'three'\"}", &out, &err),
             OUTPOST_INVALID_SCOPE);
  CHECK_NULL(out);
  CHECK_CODE(outpost_list(db, "visits", "{\"limit\":0}", &out, &err), OUTPOST_INVALID_VALUE);
  CHECK_NULL(out);
  CHECK_CODE(outpost_list(db, "visits", "{\"limit\":", &out, &err), OUTPOST_INVALID_JSON);
  CHECK_NULL(out);
  CHECK_CODE(outpost_list(db, "nope", NULL, &out, &err), OUTPOST_UNKNOWN_TABLE);
  CHECK_NULL(out);
}

/* Conflicts made by two databases syncing through a file, resolve, and
 * replicated revisions through bulk_docs "new_edits": false. */
static void test_conflicts(outpost_db *a_db) {
  outpost_db *b_db = NULL;
  char *out = NULL, *report = NULL, *doc = NULL, *body = NULL;
  char a[512], expect[512], win[96], lose[96], rev[96];
  size_t n;

  CHECK_OK(outpost_open(url_b, "{\"durability\":\"normal\"}", &b_db, &err));
  if (b_db == NULL) return;
  CHECK_OK(outpost_table_put(b_db, "households",
                             "{\"columns\":[{\"name\":\"head_name\",\"type\":\"string\","
                             "\"required\":true},{\"name\":\"size\",\"type\":\"int\"},"
                             "{\"name\":\"district\",\"type\":\"string\"}]}",
                             NULL, &err));
  CHECK_OK(outpost_put(a_db, "households", "c-1", NULL, hh(a, sizeof a, "Alice", "north", 1),
                       &out, &err));
  drop(&out);
  CHECK_OK(outpost_put(b_db, "households", "c-1", NULL, hh(a, sizeof a, "Bob", "north", 2), &out,
                       &err));
  drop(&out);
  CHECK_OK(outpost_put(b_db, "households", "r-1", NULL, hh(a, sizeof a, "Rev one", "north", 1),
                       &out, &err));
  drop(&out);
  CHECK_OK(outpost_put(b_db, "households", "r-1", NULL, hh(a, sizeof a, "Rev two", "north", 2),
                       &out, &err));
  drop(&out);

  /* A syncs with B's file (no progress, report wanted). */
  CHECK_OK(outpost_sync(a_db, url_b, NULL, NULL, NULL, &report, &err));
  CHECK_HAS(report, "\"a_to_b\":{");
  CHECK_HAS(report, "\"b_to_a\":{");
  CHECK_HAS(report, "\"total\":{");
  CHECK_HAS(report, "\"revisions_written\":");
  CHECK_HAS(report, "\"changes_read\":");
  CHECK_HAS(report, "\"errors\":[]");
  drop(&report);

  /* Both have the conflict. */
  CHECK_OK(outpost_conflicts(a_db, NULL, &out, &err));
  CHECK_HAS(out, "{\"conflicts\":[");
  CHECK_HAS(out, "\"table\":\"households\",\"id\":\"c-1\",\"winner\":\"1-");
  CHECK_HAS(out, "\"conflicts\":[\"1-");
  CHECK_HAS(out, "\"next\":");
  CHECK(json_str(out, "winner", win, sizeof win));
  drop(&out);
  CHECK_OK(outpost_conflicts(b_db, "{\"table\":\"households\",\"limit\":10}", &out, &err));
  CHECK_HAS(out, "\"id\":\"c-1\"");
  snprintf(expect, sizeof expect, "\"winner\":\"%s\"", win);
  CHECK_HAS(out, expect);
  drop(&out);
  CHECK_OK(outpost_conflicts(a_db, "{\"table\":\"visits\"}", &out, &err));
  CHECK_HAS(out, "\"conflicts\":[]");
  drop(&out);
  CHECK_OK(outpost_conflicts(a_db, "{\"limit\":1}", &out, &err));
  CHECK(count(out, "\"winner\":") == 1);
  drop(&out);
  CHECK_CODE(outpost_conflicts(a_db, "{\"limit\":", &out, &err), OUTPOST_INVALID_JSON);
  CHECK_NULL(out);
  CHECK_OK(outpost_get(a_db, "households", "c-1", "{\"conflicts\":true}", &out, &err));
  CHECK_HAS(out, "\"conflicts\":[\"1-");
  snprintf(expect, sizeof expect, "\"revision\":\"%s\"", win);
  CHECK_HAS(out, expect);
  drop(&out);

  /* Resolve on A: keep the winner with its own values. */
  CHECK_OK(outpost_resolve(a_db, "households", "c-1", NULL, NULL, &out, &err));
  CHECK_HAS(out, "\"id\":\"c-1\"");
  CHECK_HAS(out, "\"revision\":\"2-");
  drop(&out);
  CHECK_OK(outpost_conflicts(a_db, NULL, &out, &err));
  CHECK_HAS(out, "{\"conflicts\":[]");
  drop(&out);
  CHECK_OK(outpost_get(a_db, "households", "c-1", "{\"conflicts\":true}", &out, &err));
  CHECK_HAS(out, "\"conflicts\":[]");
  drop(&out);

  /* Resolve on B: keep the loser, with new values. */
  CHECK_OK(outpost_get(b_db, "households", "c-1", "{\"conflicts\":true}", &out, &err));
  {
    const char *p = out != NULL ? strstr(out, "\"conflicts\":[\"") : NULL;
    lose[0] = '\0';
    if (p != NULL) {
      size_t i = 0;
      p += strlen("\"conflicts\":[\"");
      while (*p != '\0' && *p != '"' && i + 1 < sizeof lose) lose[i++] = *p++;
      lose[i] = '\0';
    }
  }
  CHECK(strncmp(lose, "1-", 2) == 0 && strcmp(lose, win) != 0);
  drop(&out);
  CHECK_OK(outpost_resolve(b_db, "households", "c-1", lose,
                           hh(a, sizeof a, "Alice and Bob", "north", 3), &out, &err));
  CHECK_HAS(out, "\"revision\":\"2-");
  drop(&out);
  CHECK_OK(outpost_get(b_db, "households", "c-1", "{\"conflicts\":true}", &out, &err));
  CHECK_HAS(out, "\"head_name\":{\"string\":\"Alice and Bob\"}");
  CHECK_HAS(out, "\"conflicts\":[]");
  drop(&out);
  CHECK_OK(outpost_conflicts(b_db, NULL, &out, &err));
  CHECK_HAS(out, "{\"conflicts\":[]");
  drop(&out);
  CHECK_CODE(outpost_resolve(b_db, "households", "c-1", lose, NULL, &out, &err),
             OUTPOST_CONFLICT);
  CHECK_NULL(out);
  CHECK_CODE(outpost_resolve(b_db, "households", "c-404", NULL, NULL, &out, &err),
             OUTPOST_NOT_FOUND);
  CHECK_NULL(out);
  CHECK_CODE(outpost_resolve(b_db, "households", "c-1", NULL, "{\"size\":{\"int\":\"x\"}}", &out,
                             &err),
             OUTPOST_INVALID_VALUE);
  CHECK_NULL(out);

  /* Replicated revisions: B's r-1 (2 revisions, the first already in A
   * from the sync) written again into A with new_edits false. */
  CHECK_OK(outpost_put(b_db, "households", "r-1", NULL, hh(a, sizeof a, "Rev three", "north", 3),
                       &out, &err));
  drop(&out);
  CHECK_OK(outpost_get(b_db, "households", "r-1", "{\"ancestry\":true}", &doc, &err));
  CHECK_HAS(doc, "\"ancestry\":[\"2-");
  CHECK(json_str(doc, "revision", rev, sizeof rev) && strncmp(rev, "3-", 2) == 0);
  n = (doc != NULL ? strlen(doc) : 0) + 64;
  body = (char *)malloc(n);
  if (body != NULL && doc != NULL) {
    char *t;
    snprintf(body, n, "{\"new_edits\":false,\"docs\":[%s]}", doc);
    CHECK_OK(outpost_bulk_docs(a_db, body, &out, &err));
    snprintf(expect, sizeof expect, "\"id\":\"r-1\",\"revision\":\"%s\"", rev);
    CHECK_HAS(out, expect);
    CHECK_HASNT(out, "\"error\"");
    drop(&out);
    CHECK_OK(outpost_get(a_db, "households", "r-1", NULL, &out, &err));
    snprintf(expect, sizeof expect, "\"revision\":\"%s\"", rev);
    CHECK_HAS(out, expect);
    CHECK_HAS(out, "\"head_name\":{\"string\":\"Rev three\"}");
    drop(&out);
    /* The same revision with other content: its hash does not match. */
    t = strstr(body, "Rev three");
    if (t != NULL) memcpy(t, "Rev THREE", 9);
    CHECK_OK(outpost_bulk_docs(a_db, body, &out, &err));
    CHECK_HAS(out, "\"error\":\"invalid_revision\"");
    drop(&out);
  }
  free(body);
  drop(&doc);
  outpost_close(b_db);
}

/* Sync options "tables", "scope", "batch", "direction" against files. */
static void test_sync_files(outpost_db *a_db) {
  outpost_db *e_db = NULL;
  char *out = NULL, *report = NULL;
  char url[1400];
  snprintf(url, sizeof url, "sqlite:%s/e.db", tmp_dir);
  CHECK_OK(outpost_sync(a_db, url,
                        "{\"direction\":\"push\",\"tables\":[\"visits\"],\"batch\":2}", NULL,
                        NULL, &report, &err));
  CHECK_J(total_written(report) == 6, report); /* v-01..v-06, v-06 deleted */
  drop(&report);
  snprintf(url, sizeof url, "sqlite:%s/f.db", tmp_dir);
  CHECK_OK(outpost_sync(a_db, url,
                        "{\"direction\":\"push\",\"scope\":\"visits: district = 'north'\"}",
                        NULL, NULL, &report, &err));
  CHECK_J(total_written(report) == 3, report);
  drop(&report);
  CHECK_OK(outpost_open(url, NULL, &e_db, &err));
  if (e_db != NULL) {
    CHECK_OK(outpost_list(e_db, "visits", NULL, &out, &err));
    CHECK(count(out, "\"id\":\"v-") == 3);
    CHECK_HASNT(out, "\"id\":\"v-02\"");
    drop(&out);
    outpost_close(e_db);
  }
  snprintf(url, sizeof url, "sqlite:%s/e.db", tmp_dir);
  CHECK_OK(outpost_open(url, NULL, &e_db, &err));
  if (e_db != NULL) {
    CHECK_OK(outpost_list(e_db, "visits", NULL, &out, &err));
    CHECK(count(out, "\"id\":\"v-") == 5);
    drop(&out);
    CHECK_CODE(outpost_table_get(e_db, "households", &out, &err), OUTPOST_UNKNOWN_TABLE);
    CHECK_NULL(out);
    outpost_close(e_db);
  }
  CHECK_CODE(outpost_sync(a_db, url, "{\"scope\":\"visits: nope = 1\"}", NULL, NULL, &report,
                          &err),
             OUTPOST_INVALID_SCOPE);
  drop(&report);
}

/* ----------------------------------------------------------------------
 * The change feed
 * ---------------------------------------------------------------------- */

typedef struct {
  outpost_db *db;
  long delay_ms;
  int what; /* 0: put a record; 1: outpost_cancel */
  const char *id;
  outpost_code rc;
  outpost_error e;
  double at_ms; /* when it acted */
} delayed_job;

static void *delayed_main(void *arg) {
  delayed_job *j = (delayed_job *)arg;
  sleep_ms(j->delay_ms);
  j->at_ms = now_ms();
  if (j->what == 0) {
    char *out = NULL;
    j->rc = outpost_put(j->db, "visits", j->id, NULL, "{\"n\":{\"int\":\"42\"}}", &out, &j->e);
    outpost_free(out);
  } else {
    outpost_cancel(j->db);
    j->rc = OUTPOST_OK;
  }
  return NULL;
}

static void last_seq_of(outpost_db *db, char *buf, size_t size) {
  char *out = NULL;
  buf[0] = '\0';
  CHECK_OK(outpost_changes(db, NULL, &out, &err));
  CHECK(json_str(out, "last_seq", buf, size));
  drop(&out);
}

/* A long-poll with `timeout_ms` that another thread ends, by a write
 * (what 0) or by outpost_cancel (what 1). A long-poll on a server runs to
 * its timeout when cancelled (outpost.h): then `timeout_ms` is short and
 * the page only has to come back. */
static void long_poll(outpost_db *db, int what, long timeout_ms, const char *label) {
  char since[256], opts[512];
  char *out = NULL;
  pthread_t th;
  delayed_job job;
  double t0, t1;

  memset(&job, 0, sizeof job);
  last_seq_of(db, since, sizeof since);
  job.db = db;
  job.what = what;
  job.delay_ms = what == 0 ? 300 : 200;
  job.id = "v-longpoll";
  snprintf(opts, sizeof opts, "{\"since\":\"%s\",\"timeout_ms\":%ld}", since, timeout_ms);
  t0 = now_ms();
  if (pthread_create(&th, NULL, delayed_main, &job) != 0) {
    CHECK(!"pthread_create");
    return;
  }
  CHECK_OK(outpost_changes(db, opts, &out, &err));
  t1 = now_ms();
  pthread_join(th, NULL);
  CHECK_E(job.rc == OUTPOST_OK, &job.e);
  outpost_error_clear(&job.e);
  printf("%s: the long-poll returned after %.0f ms (the other thread acted at %.0f ms)\n", label,
         t1 - t0, job.at_ms - t0);
  CHECK(t1 - t0 < 10000.0);
  CHECK(t1 >= job.at_ms - 50.0); /* it waited for the other thread */
  CHECK_HAS(out, "\"results\":[");
  CHECK_HAS(out, "\"last_seq\":\"");
  if (what == 0) {
    CHECK_HAS(out, "\"id\":\"v-longpoll\"");
  } else {
    CHECK_HAS(out, "\"results\":[]");
  }
  drop(&out);
}

static void test_changes(outpost_db *db) {
  char *out = NULL;
  char since[256], opts[512], seq[256], first_seq[256];
  int all, seen = 0, pages = 0;
  double t0, t1;

  CHECK_OK(outpost_changes(db, NULL, &out, &err));
  CHECK_HAS(out, "{\"results\":[");
  CHECK_HAS(out, "\"seq\":\"");
  CHECK_HAS(out, "\"leaves\":[");
  CHECK_HAS(out, "\"last_seq\":\"");
  CHECK_HAS(out, "\"more\":false");
  CHECK_HAS(out, "\"id\":\"h-001\"");
  CHECK_HAS(out, "\"id\":\"v-05\"");
  all = count(out, "\"seq\":");
  CHECK(all >= 10);
  /* Each record once: h-001 was written three times. */
  CHECK(count(out, "\"id\":\"h-001\"") == 1);
  drop(&out);
  CHECK_OK(outpost_changes(db, "{}", &out, &err));
  CHECK(count(out, "\"seq\":") == all);
  drop(&out);

  /* Pages of 3, resumed with last_seq. */
  since[0] = '\0';
  first_seq[0] = '\0';
  for (;;) {
    if (since[0] == '\0')
      snprintf(opts, sizeof opts, "{\"limit\":3}");
    else
      snprintf(opts, sizeof opts, "{\"since\":\"%s\",\"limit\":3}", since);
    CHECK_OK(outpost_changes(db, opts, &out, &err));
    if (out == NULL) break;
    pages++;
    CHECK(count(out, "\"seq\":") <= 3);
    seen += count(out, "\"seq\":");
    if (pages == 1) {
      CHECK_HAS(out, "\"more\":true");
      CHECK(json_str(out, "seq", first_seq, sizeof first_seq));
    } else {
      CHECK(json_str(out, "seq", seq, sizeof seq) == 0 || strcmp(seq, first_seq) != 0);
    }
    CHECK(json_str(out, "last_seq", since, sizeof since));
    if (has(out, "\"more\":false") || count(out, "\"seq\":") == 0 || pages > 100) {
      drop(&out);
      break;
    }
    drop(&out);
  }
  CHECK(seen == all);
  CHECK(pages == (all + 2) / 3 || pages == (all + 2) / 3 + 1);

  /* Resumed at the end: nothing, at once without a timeout. */
  snprintf(opts, sizeof opts, "{\"since\":\"%s\"}", since);
  CHECK_OK(outpost_changes(db, opts, &out, &err));
  CHECK_HAS(out, "\"results\":[]");
  drop(&out);

  /* tables, scope */
  CHECK_OK(outpost_changes(db, "{\"tables\":[\"visits\"]}", &out, &err));
  CHECK_HAS(out, "\"table\":\"visits\"");
  CHECK_HASNT(out, "\"table\":\"households\"");
  drop(&out);
  CHECK_OK(outpost_changes(db, "{\"scope\":\"visits: district = 'north'\"}", &out, &err));
  CHECK_HAS(out, "\"id\":\"v-01\"");
  CHECK_HASNT(out, "\"id\":\"v-02\"");
  CHECK_HASNT(out, "\"table\":\"households\"");
  drop(&out);

  /* Errors. */
  CHECK_CODE(outpost_changes(db, "{\"limit\":", &out, &err), OUTPOST_INVALID_JSON);
  CHECK_NULL(out);
  CHECK(outpost_changes(db, "{\"limit\":", &out, NULL) == OUTPOST_INVALID_JSON);
  CHECK_NULL(out);
  CHECK_CODE(outpost_changes(db, "{\"since\":\"not a cursor\"}", &out, &err),
             OUTPOST_INVALID_VALUE);
  CHECK_NULL(out);
  CHECK_CODE(outpost_changes(db, "{\"scope\":\"visits: nope = 1\"}", &out, &err),
             OUTPOST_INVALID_SCOPE);
  CHECK_NULL(out);

  /* A timeout with nothing to report waits that long. */
  last_seq_of(db, since, sizeof since);
  snprintf(opts, sizeof opts, "{\"since\":\"%s\",\"timeout_ms\":300}", since);
  t0 = now_ms();
  CHECK_OK(outpost_changes(db, opts, &out, &err));
  t1 = now_ms();
  CHECK_HAS(out, "\"results\":[]");
  CHECK(t1 - t0 >= 250.0 && t1 - t0 < 10000.0);
  drop(&out);

  /* A write from another thread ends a long wait. */
  long_poll(db, 0, 30000, "changes, write");
  /* outpost_cancel from another thread ends a long wait. */
  long_poll(db, 1, 30000, "changes, cancel");
  /* A call started after the cancel is not affected: it waits. */
  last_seq_of(db, since, sizeof since);
  snprintf(opts, sizeof opts, "{\"since\":\"%s\",\"timeout_ms\":300}", since);
  t0 = now_ms();
  CHECK_OK(outpost_changes(db, opts, &out, &err));
  t1 = now_ms();
  CHECK(t1 - t0 >= 250.0);
  drop(&out);
}

/* Several threads writing through one handle at once. */
typedef struct {
  outpost_db *db;
  int base;
  int failed;
  outpost_error e;
} writer_job;

static void *writer_main(void *arg) {
  writer_job *j = (writer_job *)arg;
  int i;
  for (i = 0; i < 25; i++) {
    char id[32], a[64];
    char *out = NULL;
    snprintf(id, sizeof id, "w-%03d", j->base + i);
    snprintf(a, sizeof a, "{\"n\":{\"int\":\"%d\"}}", j->base + i);
    if (outpost_put(j->db, "load", id, NULL, a, &out, &j->e) != OUTPOST_OK) {
      j->failed++;
      if (j->failed == 1) fail_at(__FILE__, __LINE__, "outpost_put from a thread", &j->e, id);
      outpost_error_clear(&j->e);
    } else if (!has(out, "\"revision\":\"1-")) {
      j->failed++;
    }
    outpost_free(out);
    if (i % 5 == 0) {
      out = NULL;
      if (outpost_list(j->db, "load", "{\"limit\":5}", &out, &j->e) != OUTPOST_OK) j->failed++;
      outpost_error_clear(&j->e);
      outpost_free(out);
    }
  }
  return NULL;
}

static void test_threads(outpost_db *db) {
  pthread_t th[4];
  writer_job jobs[4];
  char *out = NULL;
  int i, started = 0;
  memset(jobs, 0, sizeof jobs);
  for (i = 0; i < 4; i++) {
    jobs[i].db = db;
    jobs[i].base = i * 100;
    if (pthread_create(&th[i], NULL, writer_main, &jobs[i]) == 0) started = i + 1;
    else break;
  }
  CHECK(started == 4);
  for (i = 0; i < started; i++) {
    pthread_join(th[i], NULL);
    CHECK(jobs[i].failed == 0);
  }
  CHECK_OK(outpost_list(db, "load", "{\"limit\":1000}", &out, &err));
  CHECK(count(out, "\"id\":\"w-") == 100);
  drop(&out);
}

/* ----------------------------------------------------------------------
 * The hub: `outpost serve` as a child process
 * ---------------------------------------------------------------------- */

/* Starts argv with its stdout on a pipe; *fd receives the read end. */
static pid_t spawn_piped(char *const argv[], int *fd) {
  int p[2];
  pid_t pid = -1;
  posix_spawn_file_actions_t fa;
  *fd = -1;
  if (pipe(p) != 0) return -1;
  fcntl(p[0], F_SETFD, FD_CLOEXEC);
  fcntl(p[1], F_SETFD, FD_CLOEXEC);
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  close(p[1]);
  if (pid < 0) {
    close(p[0]);
    return -1;
  }
  *fd = p[0];
  return pid;
}

/* Reads from fd into buf until `until` appears followed by a newline (or,
 * with until NULL, end of file), or the deadline passes. 1 when found. */
static int read_until(int fd, char *buf, size_t size, const char *until, double deadline) {
  size_t len = 0;
  buf[0] = '\0';
  for (;;) {
    struct pollfd pfd;
    double left = deadline - now_ms();
    ssize_t n;
    const char *hit;
    if (until != NULL && (hit = strstr(buf, until)) != NULL && strchr(hit, '\n') != NULL)
      return 1;
    if (left <= 0) return 0;
    pfd.fd = fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (poll(&pfd, 1, (int)left) <= 0) continue;
    if (len + 1 >= size) return 0;
    n = read(fd, buf + len, size - 1 - len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return until == NULL;
    len += (size_t)n;
    buf[len] = '\0';
  }
}

/* Runs the CLI (`outpost --db sqlite:HUB --json tokens create ...`) and
 * copies the secret it prints. 1 on success. */
static int create_token(const char *name, const char *scope, char *secret, size_t size) {
  char db_arg[1300];
  char buf[8192];
  char *argv[12];
  int fd, status = 0, ok, i = 0;
  pid_t pid;
  snprintf(db_arg, sizeof db_arg, "sqlite:%s", path_hub);
  argv[i++] = (char *)server_bin;
  argv[i++] = (char *)"--db";
  argv[i++] = db_arg;
  argv[i++] = (char *)"--json";
  argv[i++] = (char *)"tokens";
  argv[i++] = (char *)"create";
  argv[i++] = (char *)name;
  if (scope == NULL) {
    argv[i++] = (char *)"--admin";
  } else {
    argv[i++] = (char *)"--scope";
    argv[i++] = (char *)scope;
  }
  argv[i] = NULL;
  pid = spawn_piped(argv, &fd);
  if (pid < 0) return 0;
  ok = read_until(fd, buf, sizeof buf, NULL, now_ms() + 30000.0);
  close(fd);
  waitpid(pid, &status, 0);
  ok = ok && WIFEXITED(status) && WEXITSTATUS(status) == 0 && json_str(buf, "secret", secret, size);
  if (!ok) fprintf(stderr, "    tokens create %s printed: %s\n", name, buf);
  return ok;
}

static int hub_fd = -1;

/* Starts the hub on a free port; fills url. 1 on success. */
static int start_hub(int no_auth, char *url, size_t size) {
  char db_arg[1300];
  char buf[8192];
  char *argv[16];
  const char *p;
  int i = 0;
  pid_t pid;
  snprintf(db_arg, sizeof db_arg, "sqlite:%s", path_hub);
  argv[i++] = (char *)server_bin;
  argv[i++] = (char *)"--db";
  argv[i++] = db_arg;
  argv[i++] = (char *)"--log-level";
  argv[i++] = (char *)"warn";
  argv[i++] = (char *)"serve";
  argv[i++] = (char *)"--listen";
  argv[i++] = (char *)"127.0.0.1:0";
  argv[i++] = (char *)"--max-body";
  argv[i++] = (char *)"1048576";
  if (no_auth) argv[i++] = (char *)"--no-auth";
  argv[i] = NULL;
  pid = spawn_piped(argv, &hub_fd);
  if (pid < 0) return 0;
  server_pid = pid;
  if (!read_until(hub_fd, buf, sizeof buf, "listening on ", now_ms() + 30000.0)) {
    fprintf(stderr, "    the hub did not say it is listening; it printed: %s\n", buf);
    return 0;
  }
  p = strstr(buf, "listening on ") + strlen("listening on ");
  for (i = 0; p[i] != '\0' && p[i] != '\n' && p[i] != '\r' && (size_t)i + 1 < size; i++)
    url[i] = p[i];
  url[i] = '\0';
  return strncmp(url, "http://127.0.0.1:", 17) == 0;
}

static void stop_hub(void) {
  int status = 0;
  pid_t pid = server_pid;
  double deadline = now_ms() + 40000.0;
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) break;
    if (now_ms() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      CHECK(!"the hub did not stop within 40 s of SIGTERM");
      break;
    }
    sleep_ms(20);
  }
  server_pid = -1;
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  if (hub_fd >= 0) close(hub_fd);
  hub_fd = -1;
}

/* A port nothing listens on. */
static int closed_port(void) {
  struct sockaddr_in sa;
  socklen_t len = sizeof sa;
  int port = 0;
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return 1;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = 0;
  if (bind(s, (struct sockaddr *)&sa, sizeof sa) == 0 &&
      getsockname(s, (struct sockaddr *)&sa, &len) == 0)
    port = ntohs(sa.sin_port);
  close(s);
  return port > 0 ? port : 1;
}

typedef struct {
  pthread_mutex_t mu;
  int calls, push, pull, bad, cancel, overlap;
} progress_state;

static int on_progress(void *user_data, const char *json) {
  progress_state *s = (progress_state *)user_data;
  int r;
  /* The calls are serialised (outpost.h): the lock is never held here by
   * another call. */
  if (pthread_mutex_trylock(&s->mu) != 0) {
    pthread_mutex_lock(&s->mu);
    s->overlap++;
  }
  s->calls++;
  if (has(json, "\"direction\":\"push\""))
    s->push++;
  else if (has(json, "\"direction\":\"pull\""))
    s->pull++;
  else
    s->bad++;
  if (!has(json, "\"changes_read\":") || !has(json, "\"revisions_written\":") ||
      !has(json, "\"last_seq\":"))
    s->bad++;
  r = s->cancel;
  pthread_mutex_unlock(&s->mu);
  return r;
}

typedef struct {
  outpost_db *db;
  char url[512];
  char opts[1024];
  outpost_code rc;
  char *report;
  outpost_error e;
  double ended_ms;
} sync_job;

static void *sync_main(void *arg) {
  sync_job *j = (sync_job *)arg;
  j->rc = outpost_sync(j->db, j->url, j->opts, NULL, NULL, &j->report, &j->e);
  j->ended_ms = now_ms();
  return NULL;
}

/* A continuous sync in a thread, cancelled with outpost_cancel after
 * `wait` (which may wait for the sync to show it runs). */
static void continuous_sync(outpost_db *db, const char *url, const char *opts,
                            int (*wait)(void *), void *wait_arg, const char *label) {
  pthread_t th;
  sync_job *job = (sync_job *)calloc(1, sizeof(sync_job));
  double t_cancel, waited;
  if (job == NULL) return;
  job->db = db;
  snprintf(job->url, sizeof job->url, "%s", url);
  snprintf(job->opts, sizeof job->opts, "%s", opts);
  job->rc = OUTPOST_INTERNAL;
  if (pthread_create(&th, NULL, sync_main, job) != 0) {
    CHECK(!"pthread_create");
    free(job);
    return;
  }
  if (wait != NULL) {
    CHECK(wait(wait_arg));
  } else {
    sleep_ms(500);
  }
  t_cancel = now_ms();
  outpost_cancel(db);
  pthread_join(th, NULL);
  waited = job->ended_ms - t_cancel;
  printf("%s: the continuous sync ended %.0f ms after outpost_cancel\n", label, waited);
  CHECK(waited < 10000.0);
  CHECK_E(job->rc == OUTPOST_CANCELLED, &job->e);
  CHECK_E(job->e.code == OUTPOST_CANCELLED, &job->e);
  if (job->report != NULL) CHECK_HAS(job->report, "\"cancelled\":true");
  outpost_free(job->report);
  outpost_error_clear(&job->e);
  free(job);
}

typedef struct {
  outpost_db *db;
  const char *table, *id;
} appear_arg;

/* Waits up to 20 s until the record exists in db. */
static int wait_appears(void *arg) {
  appear_arg *w = (appear_arg *)arg;
  double deadline = now_ms() + 20000.0;
  while (now_ms() < deadline) {
    char *out = NULL;
    outpost_code rc = outpost_get(w->db, w->table, w->id, NULL, &out, NULL);
    outpost_free(out);
    if (rc == OUTPOST_OK) return 1;
    sleep_ms(50);
  }
  return 0;
}

static void test_scope(outpost_db *db, const char *hub_url, const char *hub_opts);

/* A document the hub refuses for good (larger than its --max-body): the
 * sync returns that document's code, with the report. Done on a device of
 * its own, since every later sync of it tries the document again. */
static void test_refused(outpost_db *hub, const char *hub_url, const char *hub_opts) {
  outpost_db *g_db = NULL;
  char *out = NULL, *report = NULL, *big;
  char path[1400];
  const size_t n = 1500000;
  snprintf(path, sizeof path, "sqlite:%s/g.db", tmp_dir);
  CHECK_OK(outpost_open(path, NULL, &g_db, &err));
  if (g_db == NULL) return;
  CHECK_OK(outpost_sync(g_db, hub_url, hub_opts, NULL, NULL, NULL, &err));
  big = (char *)malloc(n + 128);
  if (big != NULL) {
    size_t len;
    strcpy(big, "{\"head_name\":{\"string\":\"");
    len = strlen(big);
    memset(big + len, 'x', n);
    strcpy(big + len + n, "\"}}");
    CHECK_OK(outpost_put(g_db, "households", "g-big", NULL, big, &out, &err));
    drop(&out);
    free(big);
  }
  CHECK_OK(outpost_put(g_db, "households", "g-small", NULL, "{\"head_name\":{\"string\":\"s\"}}",
                       &out, &err));
  drop(&out);
  CHECK_CODE(outpost_sync(g_db, hub_url, hub_opts, NULL, NULL, &report, &err), OUTPOST_TOO_LARGE);
  CHECK(report != NULL);
  CHECK_HAS(report, "\"refused\":1");
  drop(&report);
  /* The others were copied all the same; the refused one is tried again. */
  CHECK_OK(outpost_get(hub, "households", "g-small", NULL, &out, &err));
  drop(&out);
  CHECK_CODE(outpost_get(hub, "households", "g-big", NULL, &out, &err), OUTPOST_NOT_FOUND);
  CHECK_NULL(out);
  CHECK_CODE(outpost_sync(g_db, hub_url, hub_opts, NULL, NULL, NULL, &err), OUTPOST_TOO_LARGE);
  outpost_close(g_db);
}

static void test_hub(outpost_db *a_db) {
  char hub_url[256], token[256], worker[256], hub_opts[512], opts[1024], url[512];
  char expect[512], a[512], rev[96];
  char *out = NULL, *report = NULL;
  outpost_db *hub = NULL, *d_db = NULL;
  progress_state ps;
  int auth, i, port;
  double t0, t1, deadline;

  if (server_bin == NULL || server_bin[0] == '\0') {
    CHECK(!"OUTPOST_ABI_SERVER_BIN is not set: the sync tests cannot run");
    return;
  }
  auth = create_token("abi", NULL, token, sizeof token);
  if (!auth) printf("note: could not create a token with the CLI: the hub runs with --no-auth\n");
  CHECK(auth);
  if (!start_hub(!auth, hub_url, sizeof hub_url)) {
    CHECK(!"the hub did not start");
    return;
  }
  printf("hub: %s (pid %ld)%s\n", hub_url, (long)server_pid, auth ? " with a token" : "");
  if (auth)
    snprintf(hub_opts, sizeof hub_opts, "{\"token\":\"%s\"}", token);
  else
    snprintf(hub_opts, sizeof hub_opts, "{}");

  /* Open the hub's URL and wait until it answers. */
  deadline = now_ms() + 20000.0;
  for (;;) {
    outpost_code rc = outpost_open(hub_url, hub_opts, &hub, &err);
    if (rc == OUTPOST_OK) {
      rc = outpost_info(hub, &out, &err);
      if (rc == OUTPOST_OK) break;
      outpost_close(hub);
      hub = NULL;
    }
    outpost_error_clear(&err);
    if (now_ms() > deadline) break;
    sleep_ms(100);
  }
  CHECK(hub != NULL);
  if (hub == NULL) {
    stop_hub();
    return;
  }
  CHECK_HAS(out, "\"db_id\":\"");
  CHECK_HAS(out, "\"backend\":\"");
  CHECK_HAS(out, "\"update_seq\":");
  drop(&out);

  /* A wrong token. */
  if (auth) {
    outpost_db *bad = NULL;
    outpost_code rc = outpost_open(hub_url, "{\"token\":\"wrong-token\"}", &bad, &err);
    if (rc == OUTPOST_OK) {
      CHECK_CODE(outpost_info(bad, &out, &err), OUTPOST_UNAUTHORIZED);
      CHECK_NULL(out);
      outpost_close(bad);
    } else {
      CHECK_CODE(rc, OUTPOST_UNAUTHORIZED);
    }
    CHECK_CODE(outpost_sync(a_db, hub_url, "{\"token\":\"wrong-token\"}", NULL, NULL, &report,
                            &err),
               OUTPOST_UNAUTHORIZED);
    drop(&report);
  }

  /* Sync both ways, with progress. */
  memset(&ps, 0, sizeof ps);
  pthread_mutex_init(&ps.mu, NULL);
  CHECK_OK(outpost_sync(a_db, hub_url, hub_opts, on_progress, &ps, &report, &err));
  CHECK_HAS(report, "\"a_to_b\":{");
  CHECK_HAS(report, "\"b_to_a\":{");
  CHECK_HAS(report, "\"total\":{");
  CHECK_HAS(report, "\"revisions_written\":");
  CHECK_HAS(report, "\"changes_read\":");
  CHECK_HAS(report, "\"already_present\":");
  CHECK_HAS(report, "\"round_trips\":");
  CHECK_HAS(report, "\"cancelled\":false");
  CHECK(total_written(report) > 0);
  drop(&report);
  pthread_mutex_lock(&ps.mu);
  printf("sync: %d progress calls (%d push, %d pull)\n", ps.calls, ps.push, ps.pull);
  CHECK(ps.calls > 0);
  CHECK(ps.push > 0);
  CHECK(ps.bad == 0);
  CHECK(ps.overlap == 0);
  pthread_mutex_unlock(&ps.mu);

  /* Read through the hub: the same winner as on the device. */
  CHECK_OK(outpost_get(a_db, "households", "h-001", NULL, &out, &err));
  CHECK(json_str(out, "revision", rev, sizeof rev));
  drop(&out);
  CHECK_OK(outpost_get(hub, "households", "h-001", NULL, &out, &err));
  snprintf(expect, sizeof expect, "\"revision\":\"%s\"", rev);
  CHECK_HAS(out, expect);
  CHECK_HAS(out, "\"head_name\":{\"string\":\"Amina Okello\"}");
  drop(&out);
  CHECK_CODE(outpost_get(hub, "households", "h-404", NULL, &out, &err), OUTPOST_NOT_FOUND);
  CHECK_NULL(out);
  CHECK_CODE(outpost_get(hub, "nope", "h-404", NULL, &out, &err), OUTPOST_UNKNOWN_TABLE);
  CHECK_NULL(out);
  CHECK_OK(outpost_table_list(hub, &out, &err));
  CHECK_HAS(out, "\"name\":\"households\"");
  drop(&out);
  CHECK_OK(outpost_list(hub, "visits", "{\"limit\":2}", &out, &err));
  CHECK(count(out, "\"id\":\"v-") == 2);
  drop(&out);

  /* Writes and reads through the hub's handle. */
  CHECK_OK(outpost_table_get(hub, "households", &out, &err));
  CHECK_HAS(out, "\"name\":\"district\"");
  drop(&out);
  CHECK_CODE(outpost_table_get(hub, "nope", &out, &err), OUTPOST_UNKNOWN_TABLE);
  CHECK_NULL(out);
  CHECK_OK(outpost_table_put(hub, "hubonly", "{\"columns\":[{\"name\":\"n\",\"type\":\"int\"}]}",
                             &out, &err));
  CHECK_HAS(out, "\"name\":\"hubonly\"");
  drop(&out);
  CHECK_CODE(outpost_table_put(hub, "hubonly",
                               "{\"columns\":[{\"name\":\"m\",\"type\":\"int\","
                               "\"required\":true}]}",
                               &out, &err),
             OUTPOST_SCHEMA_CONFLICT);
  CHECK_NULL(out);
  CHECK_CODE(outpost_table_put(hub, "hubonly",
                               "{\"columns\":[{\"name\":\"n\",\"type\":\"string\"}]}", &out,
                               &err),
             OUTPOST_SCHEMA_CONFLICT);
  CHECK_NULL(out);
  CHECK_OK(outpost_create(hub, "hubonly", "{\"n\":{\"int\":\"1\"}}", &out, &err));
  CHECK(json_str(out, "id", a, sizeof a) && is_uuid_v4(a));
  drop(&out);
  CHECK_OK(outpost_put(hub, "hubonly", "x-1", NULL, "{\"n\":{\"int\":\"1\"}}", &out, &err));
  drop(&out);
  CHECK_OK(outpost_put(hub, "hubonly", "x-1", NULL, "{\"n\":{\"int\":\"2\"}}", &out, &err));
  CHECK_HAS(out, "\"revision\":\"2-");
  drop(&out);
  CHECK_CODE(outpost_put(hub, "hubonly", "x-1", NULL, "{\"n\":{\"int\":\"two\"}}", &out, &err),
             OUTPOST_INVALID_VALUE);
  CHECK_NULL(out);
  CHECK_OK(outpost_delete(hub, "hubonly", "x-1", NULL, &out, &err));
  CHECK_HAS(out, "\"revision\":\"3-");
  drop(&out);
  CHECK_OK(outpost_bulk_docs(hub,
                             "{\"docs\":[{\"table\":\"hubonly\",\"id\":\"x-2\","
                             "\"attributes\":{\"n\":{\"int\":\"2\"}}},"
                             "{\"table\":\"hubonly\",\"id\":\"x-3\","
                             "\"attributes\":{\"nope\":{\"int\":\"2\"}}}]}",
                             &out, &err));
  CHECK_HAS(out, "\"id\":\"x-2\",\"revision\":\"1-");
  CHECK_HAS(out, "\"id\":\"x-3\",\"error\":\"unknown_column\"");
  drop(&out);
  CHECK_OK(outpost_resolve(hub, "hubonly", "x-2", NULL, NULL, &out, &err));
  CHECK_HAS(out, "\"revision\":\"2-");
  drop(&out);
  CHECK_OK(outpost_conflicts(hub, "{\"table\":\"hubonly\"}", &out, &err));
  CHECK_HAS(out, "\"conflicts\":[]");
  drop(&out);
  CHECK_OK(outpost_list(hub, "hubonly", "{\"where\":\"n = 2\"}", &out, &err));
  CHECK(count(out, "\"id\":") == 1);
  CHECK_HAS(out, "\"id\":\"x-2\"");
  drop(&out);
  CHECK_OK(outpost_changes(hub, "{\"tables\":[\"hubonly\"],\"limit\":2}", &out, &err));
  CHECK(count(out, "\"seq\":") == 2);
  CHECK_HAS(out, "\"more\":true");
  drop(&out);

  /* Pull: a write on the hub reaches the device. */
  CHECK_OK(outpost_put(hub, "households", "hub-1", NULL, hh(a, sizeof a, "Hub", "north", 1), &out,
                       &err));
  CHECK_HAS(out, "\"revision\":\"1-");
  drop(&out);
  with_token(opts, sizeof opts, auth ? token : NULL, "\"direction\":\"pull\"");
  CHECK_OK(outpost_sync(a_db, hub_url, opts, NULL, NULL, &report, &err));
  CHECK_J(total_written(report) >= 1, report);
  drop(&report);
  CHECK_OK(outpost_get(a_db, "households", "hub-1", NULL, &out, &err));
  drop(&out);

  /* Push: a write on the device reaches the hub (report not wanted). */
  CHECK_OK(outpost_put(a_db, "households", "dev-1", NULL, hh(a, sizeof a, "Dev", "south", 1),
                       &out, &err));
  drop(&out);
  with_token(opts, sizeof opts, auth ? token : NULL, "\"direction\":\"push\",\"batch\":10");
  CHECK_OK(outpost_sync(a_db, hub_url, opts, NULL, NULL, NULL, &err));
  CHECK_OK(outpost_get(hub, "households", "dev-1", NULL, &out, &err));
  drop(&out);

  /* A progress callback that returns 1 cancels. */
  for (i = 0; i < 30; i++) {
    char id[32];
    snprintf(id, sizeof id, "p-%02d", i);
    CHECK_OK(outpost_put(a_db, "households", id, NULL, hh(a, sizeof a, "P", "south", i), &out,
                         &err));
    drop(&out);
  }
  pthread_mutex_destroy(&ps.mu);
  memset(&ps, 0, sizeof ps);
  pthread_mutex_init(&ps.mu, NULL);
  ps.cancel = 1;
  with_token(opts, sizeof opts, auth ? token : NULL, "\"batch\":5");
  CHECK_CODE(outpost_sync(a_db, hub_url, opts, on_progress, &ps, &report, &err),
             OUTPOST_CANCELLED);
  CHECK(ps.calls >= 1);
  CHECK(report != NULL);
  CHECK_HAS(report, "\"cancelled\":true");
  drop(&report);
  pthread_mutex_destroy(&ps.mu);
  /* A later sync is not affected and copies the rest. */
  CHECK_OK(outpost_sync(a_db, hub_url, hub_opts, NULL, NULL, &report, &err));
  drop(&report);
  CHECK_OK(outpost_get(hub, "households", "p-29", NULL, &out, &err));
  drop(&out);

  /* Continuous sync, cancelled from this thread while it runs in another;
   * meanwhile a write on the hub reaches the device. */
  {
    appear_arg w;
    char cont[1024];
    CHECK_OK(outpost_put(hub, "households", "cont-1", NULL, hh(a, sizeof a, "C", "north", 1),
                         &out, &err));
    drop(&out);
    w.db = a_db;
    w.table = "households";
    w.id = "cont-1";
    with_token(cont, sizeof cont, auth ? token : NULL,
               "\"continuous\":true,\"scope_check_ms\":200");
    continuous_sync(a_db, hub_url, cont, wait_appears, &w, "hub");
    /* Unreachable while continuous: waited for, and cancelled. */
    snprintf(url, sizeof url, "http://127.0.0.1:%d", closed_port());
    continuous_sync(a_db, url, cont, NULL, NULL, "unreachable hub");
  }

  /* Errors. */
  with_token(opts, sizeof opts, auth ? token : NULL, "\"direction\":\"sideways\"");
  CHECK_CODE(outpost_sync(a_db, hub_url, opts, NULL, NULL, &report, &err), OUTPOST_INVALID_VALUE);
  CHECK_NULL(report);
  drop(&report);
  CHECK_CODE(outpost_sync(a_db, hub_url, "{\"direction\":", NULL, NULL, &report, &err),
             OUTPOST_INVALID_JSON);
  CHECK_NULL(report);
  drop(&report);
  CHECK_CODE(outpost_sync(a_db, url_a, NULL, NULL, NULL, &report, &err), OUTPOST_INVALID_VALUE);
  CHECK_NULL(report);
  drop(&report);
  CHECK_CODE(outpost_sync(a_db, path_a, NULL, NULL, NULL, &report, &err), OUTPOST_INVALID_VALUE);
  drop(&report);
  CHECK(outpost_sync(a_db, url_a, NULL, NULL, NULL, NULL, NULL) == OUTPOST_INVALID_VALUE);
  port = closed_port();
  snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
  t0 = now_ms();
  CHECK_CODE(outpost_sync(a_db, url, hub_opts, NULL, NULL, &report, &err), OUTPOST_UNAVAILABLE);
  t1 = now_ms();
  printf("sync with a closed port: %.0f ms\n", t1 - t0);
  CHECK(t1 - t0 < 120000.0);
  drop(&report);
  if (auth) {
    outpost_db *bad = NULL;
    /* The token is also taken from outpost_open's options. */
    CHECK_OK(outpost_open(url, hub_opts, &bad, &err));
    if (bad != NULL) {
      CHECK_CODE(outpost_info(bad, &out, &err), OUTPOST_UNAVAILABLE);
      CHECK_NULL(out);
      outpost_close(bad);
    }
  }

  /* A long-poll through the hub, ended by a write and by outpost_cancel. */
  long_poll(hub, 0, 30000, "hub changes, write");
  long_poll(hub, 1, 1500, "hub changes, cancel");

  /* Scope of a hub handle: local databases only. */
  CHECK_OK(outpost_scope_get(hub, &out, &err));
  CHECK_HAS(out, "\"scope\":null");
  drop(&out);
  CHECK_CODE(outpost_scope_set(hub, "households: district = 'north'", &out, &err),
             OUTPOST_INVALID_VALUE);
  CHECK_NULL(out);
  CHECK_CODE(outpost_scope_clear(hub, &out, &err), OUTPOST_INVALID_VALUE);
  CHECK_NULL(out);

  /* A token with a scope: a fresh device adopts it. */
  if (auth && create_token("worker", "households: district = 'north'", worker, sizeof worker)) {
    CHECK_OK(outpost_open(path_d, NULL, &d_db, &err));
    if (d_db != NULL) {
      snprintf(opts, sizeof opts, "{\"token\":\"%s\"}", worker);
      CHECK_OK(outpost_sync(d_db, hub_url, opts, NULL, NULL, &report, &err));
      CHECK_HAS(report, "\"adopted_scope\":{");
      CHECK_HAS(report, "households: district = 'north'");
      drop(&report);
      CHECK_OK(outpost_scope_get(d_db, &out, &err));
      CHECK_HAS(out, "\"scope\":\"households: district = 'north'\"");
      CHECK_HAS(out, "\"fingerprint\":\"");
      drop(&out);
      CHECK_OK(outpost_get(d_db, "households", "h-001", NULL, &out, &err));
      drop(&out);
      CHECK_CODE(outpost_get(d_db, "households", "dev-1", NULL, &out, &err), OUTPOST_NOT_FOUND);
      CHECK_NULL(out);
      CHECK_OK(outpost_info(d_db, &out, &err));
      CHECK_HAS(out, "\"scope\":\"households: district = 'north'\"");
      drop(&out);
      outpost_close(d_db);
    }
  } else if (auth) {
    CHECK(!"could not create a token with a scope");
  }

  test_refused(hub, hub_url, hub_opts);
  test_scope(a_db, hub_url, hub_opts);

  outpost_close(hub);
  stop_hub();
}

/* ----------------------------------------------------------------------
 * The database's scope
 * ---------------------------------------------------------------------- */

static void test_scope(outpost_db *db, const char *hub_url, const char *hub_opts) {
  char *out = NULL, *report = NULL;
  char a[512];
  const char *north = "households: district = 'north'";

  CHECK_OK(outpost_put(db, "households", "s-north", NULL, hh(a, sizeof a, "N", "north", 1), &out,
                       &err));
  drop(&out);
  CHECK_OK(outpost_put(db, "households", "s-south", NULL, hh(a, sizeof a, "S", "south", 1), &out,
                       &err));
  drop(&out);
  CHECK_OK(outpost_sync(db, hub_url, hub_opts, NULL, NULL, NULL, &err));
  /* Not pushed: waits when the scope narrows. */
  CHECK_OK(outpost_put(db, "households", "s-local", NULL, hh(a, sizeof a, "L", "south", 1), &out,
                       &err));
  drop(&out);

  CHECK_OK(outpost_scope_get(db, &out, &err));
  CHECK_HAS(out, "\"scope\":null");
  CHECK_HAS(out, "\"fingerprint\":null");
  drop(&out);

  CHECK_OK(outpost_scope_set(db, north, &out, &err));
  CHECK_HAS(out, "\"scope\":\"households: district = 'north'\"");
  CHECK_HAS(out, "\"fingerprint\":\"");
  CHECK_HAS(out, "\"purged\":");
  CHECK_HASNT(out, "\"purged\":0");
  CHECK_HAS(out, "\"waiting\":");
  CHECK_HAS(out, "s-local");
  drop(&out);
  CHECK_OK(outpost_scope_get(db, &out, &err));
  CHECK_HAS(out, "\"scope\":\"households: district = 'north'\"");
  CHECK_HAS(out, "\"fingerprint\":\"");
  drop(&out);
  CHECK_OK(outpost_info(db, &out, &err));
  CHECK_HAS(out, "\"scope\":\"households: district = 'north'\"");
  drop(&out);
  CHECK_OK(outpost_get(db, "households", "s-north", NULL, &out, &err));
  drop(&out);
  CHECK_CODE(outpost_get(db, "households", "s-south", NULL, &out, &err), OUTPOST_NOT_FOUND);
  CHECK_NULL(out);
  CHECK_OK(outpost_get(db, "households", "s-local", NULL, &out, &err)); /* waits for a push */
  drop(&out);

  /* Invalid scopes change nothing. */
  CHECK_CODE(outpost_scope_set(db, "households: distric = 'north'", &out, &err),
             OUTPOST_INVALID_SCOPE);
  CHECK_NULL(out);
  CHECK_CODE(outpost_scope_set(db, "nope: *", &out, &err), OUTPOST_INVALID_SCOPE);
  CHECK_NULL(out);
  CHECK_CODE(outpost_scope_set(db, "households: size = 'six'", NULL, &err),
             OUTPOST_INVALID_SCOPE);
  CHECK_CODE(outpost_scope_set(db, "households district north", NULL, &err),
             OUTPOST_INVALID_SCOPE);
  CHECK_OK(outpost_scope_get(db, &out, &err));
  CHECK_HAS(out, "\"scope\":\"households: district = 'north'\"");
  drop(&out);

  /* Clear: every record again, pulled back by the next sync. */
  CHECK_OK(outpost_scope_clear(db, &out, &err));
  CHECK_HAS(out, "\"scope\":null");
  CHECK_HAS(out, "\"fingerprint\":null");
  drop(&out);
  CHECK_OK(outpost_scope_get(db, &out, &err));
  CHECK_HAS(out, "\"scope\":null");
  drop(&out);
  CHECK_OK(outpost_sync(db, hub_url, hub_opts, NULL, NULL, &report, &err));
  drop(&report);
  CHECK_OK(outpost_get(db, "households", "s-south", NULL, &out, &err));
  drop(&out);

  /* Set with out NULL; clear with NULL and with "", and scope_clear with
   * out NULL. Every record is acknowledged by the hub now. */
  CHECK_OK(outpost_scope_set(db, "households: district IN ('north', 'south'); visits: *", NULL,
                             &err));
  CHECK_OK(outpost_scope_get(db, &out, &err));
  CHECK_HAS(out, "\"scope\":\"households: district IN ('north', 'south'); visits: *\"");
  drop(&out);
  CHECK_OK(outpost_scope_set(db, NULL, &out, &err));
  CHECK_HAS(out, "\"scope\":null");
  drop(&out);
  CHECK_OK(outpost_scope_set(db, north, NULL, &err));
  CHECK_OK(outpost_scope_set(db, "", NULL, &err));
  CHECK_OK(outpost_scope_get(db, &out, &err));
  CHECK_HAS(out, "\"scope\":null");
  drop(&out);
  CHECK_OK(outpost_scope_set(db, north, NULL, &err));
  CHECK_OK(outpost_scope_clear(db, NULL, &err));
  CHECK_OK(outpost_scope_get(db, &out, &err));
  CHECK_HAS(out, "\"scope\":null");
  drop(&out);
  CHECK_OK(outpost_sync(db, hub_url, hub_opts, NULL, NULL, NULL, &err));
}

/* ----------------------------------------------------------------------
 * main
 * ---------------------------------------------------------------------- */

/* Log lines: the level filters them and the sink receives them. */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static int log_lines = 0;
static int log_well_formed = 1;

static void on_log(void *user_data, const char *line) {
  size_t n = strlen(line);
  pthread_mutex_lock(&log_mu);
  ++log_lines;
  if (n == 0 || line[n - 1] != '\n' || user_data != (void *)&log_lines) log_well_formed = 0;
  pthread_mutex_unlock(&log_mu);
}

static void *cancel_later(void *db) {
  struct timespec pause = {1, 0};
  nanosleep(&pause, NULL);
  outpost_cancel((outpost_db *)db);
  return NULL;
}

static void test_logging(void) {
  outpost_db *db = NULL;
  outpost_error local = {OUTPOST_OK, NULL};
  pthread_t canceller;
  int seen;
  char path[1100];
  snprintf(path, sizeof path, "sqlite:%s/log.db", tmp_dir);
  CHECK_E(outpost_log_level("loud", &local) == OUTPOST_INVALID_VALUE, &local);
  CHECK_E(local.message != NULL && strstr(local.message, "loud") != NULL, &local);
  outpost_error_clear(&local);
  CHECK_CODE(outpost_log_level(NULL, &err), OUTPOST_INVALID_VALUE);
  outpost_log_sink(on_log, &log_lines);
  CHECK_OK(outpost_log_level("debug", &err));
  CHECK_OK(outpost_open(path, NULL, &db, &err));
  /* A continuous sync waiting for an unreachable hub says so in the log. */
  CHECK(pthread_create(&canceller, NULL, cancel_later, db) == 0);
  CHECK_CODE(outpost_sync(db, "http://127.0.0.1:1", "{\"continuous\": true}", NULL, NULL, NULL,
                          &err),
             OUTPOST_CANCELLED);
  pthread_join(canceller, NULL);
  pthread_mutex_lock(&log_mu);
  seen = log_lines;
  pthread_mutex_unlock(&log_mu);
  CHECK(seen > 0);
  CHECK(log_well_formed);
  /* "off": nothing more arrives. */
  CHECK_OK(outpost_log_level("off", &err));
  CHECK(pthread_create(&canceller, NULL, cancel_later, db) == 0);
  CHECK_CODE(outpost_sync(db, "http://127.0.0.1:1", "{\"continuous\": true}", NULL, NULL, NULL,
                          &err),
             OUTPOST_CANCELLED);
  pthread_join(canceller, NULL);
  pthread_mutex_lock(&log_mu);
  CHECK(log_lines == seen);
  pthread_mutex_unlock(&log_mu);
  outpost_close(db);
  outpost_log_sink(NULL, NULL);
  CHECK_OK(outpost_log_level("info", &err));
}

int main(void) {
  const char *t = getenv("OUTPOST_ABI_TMP");
  const char *dev = getenv("OUTPOST_ABI_DEVICE");
  struct sigaction sa;
  outpost_db *db;

  setvbuf(stdout, NULL, _IOLBF, 0);
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  alarm(600);
  signal(SIGPIPE, SIG_IGN);

  if (t == NULL || t[0] == '\0') {
    fprintf(stderr, "abi_test: set OUTPOST_ABI_TMP to a fresh temporary directory\n");
    return 2;
  }
  snprintf(tmp_dir, sizeof tmp_dir, "%s", t);
  snprintf(path_a, sizeof path_a, "%s/a.db", tmp_dir);
  snprintf(path_b, sizeof path_b, "%s/b.db", tmp_dir);
  snprintf(path_hub, sizeof path_hub, "%s/hub.db", tmp_dir);
  snprintf(path_d, sizeof path_d, "%s/d.db", tmp_dir);
  snprintf(url_a, sizeof url_a, "sqlite:%s", path_a);
  snprintf(url_b, sizeof url_b, "sqlite:%s", path_b);
  server_bin = getenv("OUTPOST_ABI_SERVER_BIN");
  device_build = dev != NULL && strcmp(dev, "1") == 0;

  printf("liboutpost %s, ABI %d\n", outpost_version(), outpost_abi_version());
  test_library();
  test_logging();
  db = test_open();
  if (db != NULL) {
    test_tables(db);
    test_records(db);
    test_list(db);
    test_conflicts(db);
    test_sync_files(db);
    test_changes(db);
    test_threads(db);
    test_hub(db);
    outpost_close(db);
  } else {
    CHECK(!"cannot open the test database: the rest is skipped");
  }
  outpost_close(NULL);
  stop_hub(); /* in case it is still running */

  if (failures > 0) {
    printf("abi_test: %d of %d checks FAILED\n", failures, checks);
    return 1;
  }
  printf("abi_test: all %d checks passed\n", checks);
  return 0;
}
