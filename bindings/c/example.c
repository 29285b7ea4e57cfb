/* A field app's use of the C ABI, as docs/embedding.md shows it: open a
 * device database, make a table, write and read a record, follow the
 * change feed, and sync with a hub when one is given.
 *
 *   cc -std=c99 example.c $(pkg-config --cflags --libs outpost) -o example
 *   ./example device.db [http://hub:8080 [TOKEN]]
 *
 * make test builds it against an installed copy and runs it. */
#include <stdio.h>
#include <stdlib.h>

#include <outpost.h>

/* Prints the error, frees its message, and says whether the call failed. */
static int failed(outpost_code code, outpost_error *err, const char *what) {
  if (code == OUTPOST_OK) return 0;
  fprintf(stderr, "%s: %s: %s\n", what, outpost_code_name(code),
          err->message ? err->message : "");
  outpost_error_clear(err);
  return 1;
}

static int on_progress(void *user_data, const char *progress_json) {
  (void)user_data;
  fprintf(stderr, "progress: %s\n", progress_json);
  return 0; /* go on; non-zero would cancel */
}

int main(int argc, char **argv) {
  outpost_error err = {OUTPOST_OK, NULL};
  outpost_db *db = NULL;
  char *out = NULL;
  int status = 1;
  if (argc < 2) {
    fprintf(stderr, "usage: %s DB [HUB_URL [TOKEN]]\n", argv[0]);
    return 2;
  }
  printf("outpost %s (ABI %d)\n", outpost_version(), outpost_abi_version());
  if (failed(outpost_open(argv[1], NULL, &db, &err), &err, "open")) return 1;

  if (failed(outpost_table_put(db, "households",
                               "{\"columns\": [{\"name\": \"head_name\", \"type\": \"string\"},"
                               " {\"name\": \"size\", \"type\": \"int\"}]}",
                               NULL, &err),
             &err, "table"))
    goto done;

  /* NULL revision: build on the winner (or create the record). */
  if (failed(outpost_put(db, "households", "h-001", NULL,
                         "{\"head_name\": {\"string\": \"Amina Okello\"}, \"size\": {\"int\": \"6\"}}",
                         &out, &err),
             &err, "put"))
    goto done;
  printf("written: %s\n", out);
  outpost_free(out);
  out = NULL;

  if (failed(outpost_get(db, "households", "h-001", "{\"conflicts\": true}", &out, &err), &err,
             "get"))
    goto done;
  printf("read: %s\n", out);
  outpost_free(out);
  out = NULL;

  if (failed(outpost_changes(db, "{\"since\": \"\", \"limit\": 10}", &out, &err), &err, "changes"))
    goto done;
  printf("changes: %s\n", out);
  outpost_free(out);
  out = NULL;

  if (argc >= 3) {
    char options[512];
    snprintf(options, sizeof options, "{\"token\": \"%s\"}", argc >= 4 ? argv[3] : "");
    outpost_code code =
        outpost_sync(db, argv[2], argc >= 4 ? options : NULL, on_progress, NULL, &out, &err);
    if (out != NULL) printf("sync report: %s\n", out);
    outpost_free(out);
    out = NULL;
    if (failed(code, &err, "sync")) goto done;
  }
  status = 0;

done:
  outpost_close(db);
  return status;
}
