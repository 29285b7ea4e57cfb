#!/usr/bin/env bash
# Checks the dependency direction of DESIGN.md section 1 over the #include
# lines of the sources (test/ is not checked: tests may reach anything).
#
#   scripts/check-layering.sh        exit 0 when clean, 1 with one line per
#                                     offending include: FILE:LINE: reason
#
# Project folders and what each may include besides itself:
#   utils       -
#   api         utils
#   engine      api utils
#   reconciler  api utils
#   server      api utils
#   client      api utils
#   bench       api utils engine reconciler server client
#   cli         everything
# and engine/sqlite/ and engine/postgres/ do not include each other.
# Third-party headers:
#   rapidjson/   only api/json_* (the codec)
#   sqlite3.h    only engine/sqlite/ and bench/
#   libpq-fe.h   only engine/postgres/ and bench/
#   boost/       only server/, client/, cli/, bench/ (api/ stays free of Beast)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Tracked and new (not ignored) files as they are in the working tree.
files=$(git ls-files --cached --others --exclude-standard -- '*.h' '*.cpp' \
  | grep -E '^(utils|api|engine|reconciler|server|client|bench|cli)/' \
  | while IFS= read -r f; do [[ -f $f ]] && echo "$f"; done | sort -u || true)
[[ -n $files ]] || exit 0

# shellcheck disable=SC2086 # one word per file
awk '
  BEGIN {
    allowed["utils"] = " "
    allowed["api"] = " utils "
    allowed["engine"] = " api utils "
    allowed["reconciler"] = " api utils "
    allowed["server"] = " api utils "
    allowed["client"] = " api utils "
    allowed["bench"] = " api utils engine reconciler server client "
    allowed["cli"] = " api utils engine reconciler server client bench "
    bad = 0
  }
  function report(why) {
    printf "%s:%d: %s\n", FILENAME, FNR, why > "/dev/stderr"
    bad++
  }
  /^[ \t]*#[ \t]*include[ \t]*[<"]/ {
    header = $0
    sub(/^[ \t]*#[ \t]*include[ \t]*[<"]/, "", header)
    sub(/[>"].*$/, "", header)
    dir = FILENAME; sub(/\/.*/, "", dir)
    top = header; sub(/\/.*/, "", top)
    if (index(header, "/") > 0 && (top in allowed) && top != dir && index(allowed[dir], " " top " ") == 0)
      report(dir "/ may not include " header " (DESIGN.md section 1)")
    if (FILENAME ~ /^engine\/(sqlite|postgres)\// && header ~ /^engine\/(sqlite|postgres)\//) {
      backend = FILENAME; sub(/^engine\//, "", backend); sub(/\/.*/, "", backend)
      if (index(header, "engine/" backend "/") != 1)
        report("one backend may not include another backend\x27s " header)
    }
    if (header ~ /^rapidjson\// && FILENAME !~ /^api\/json_/)
      report("RapidJSON is used only inside api/json_* (the codec)")
    if (header == "sqlite3.h" && FILENAME !~ /^(engine\/sqlite|bench)\//)
      report("sqlite3.h is included only under engine/sqlite/ and bench/")
    if (header == "libpq-fe.h" && FILENAME !~ /^(engine\/postgres|bench)\//)
      report("libpq-fe.h is included only under engine/postgres/ and bench/")
    if (header ~ /^boost\// && dir !~ /^(server|client|cli|bench)$/)
      report("Boost is used only by server/, client/, cli/ and bench/")
  }
  END {
    if (bad > 0) {
      printf "check-layering: %d include(s) cross a forbidden edge\n", bad > "/dev/stderr"
      exit 1
    }
    print "check-layering: ok" > "/dev/stderr"
  }
' $files
