#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests.
#
#   eval "$(scripts/pg-cluster.sh start)"   # prints export lines on stdout
#   scripts/pg-cluster.sh stop [DIR]        # DIR defaults to $OUTPOST_PG_DIR
#   scripts/pg-cluster.sh cleanup           # stop/remove clusters whose owner died
#   scripts/pg-cluster.sh list              # clusters of this script on this machine
#
# start: makes a fresh directory (mktemp -d under $OUTPOST_PG_TMPDIR, default
# /tmp), runs initdb there (trust auth, superuser "postgres"), and starts the
# server on 127.0.0.1 on the first free port from $OUTPOST_PG_PORT (default
# 55432) upward, with its unix socket in the same directory. It creates the
# database outpost_test and prints, for eval:
#   OUTPOST_TEST_PG=postgres://postgres@127.0.0.1:PORT/outpost_test
#   PGHOST PGPORT PGUSER PGDATABASE OUTPOST_PG_DIR
# As root, initdb/pg_ctl run as the "postgres" OS user (initdb refuses root);
# otherwise as the current user. Binaries: newest /usr/lib/postgresql/*/bin,
# or $OUTPOST_PG_BINDIR.
#
# Every cluster records its owner process ($OUTPOST_PG_OWNER_PID, default the
# caller). "start" first removes clusters left behind by owners that are gone
# (a killed earlier run); clusters of live owners (a concurrent run) are kept.
set -euo pipefail

PREFIX=outpost-pg
MARKER=.outpost-pg-cluster
TMP_PARENT=${OUTPOST_PG_TMPDIR:-/tmp}
FIRST_PORT=${OUTPOST_PG_PORT:-55432}
PORT_TRIES=100
DATABASE=outpost_test
SUPERUSER=postgres

log() { echo "pg-cluster: $*" >&2; }
die() { log "$*"; exit 1; }

find_bindir() {
  if [[ -n ${OUTPOST_PG_BINDIR:-} ]]; then echo "$OUTPOST_PG_BINDIR"; return; fi
  local newest
  newest=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  if [[ -n $newest && -x $newest/initdb ]]; then echo "$newest"; return; fi
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return; fi
  die "initdb not found (install the postgresql package: scripts/install-deps.sh)"
}

# Start time of a process (field 22 of /proc/PID/stat), empty if it is gone;
# together with the pid it names one process even if pids are reused.
proc_start() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  local fields
  read -ra fields <<<"${stat##*) }"
  echo "${fields[19]:-}"
}

# Run a command as the cluster's OS user, with the cluster dir as cwd.
as_user() {
  local dir=$1 user=$2; shift 2
  if [[ $(id -u) -eq 0 && $user != root ]]; then
    (cd "$dir" && runuser -u "$user" -- "$@")
  else
    (cd "$dir" && "$@")
  fi
}

port_in_use() {
  # Something accepts connections on 127.0.0.1:$1 (bash /dev/tcp; no ss needed).
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

port_reserved() {
  # A port recorded by another of our clusters (it may be between starts).
  local d
  for d in "$TMP_PARENT/$PREFIX".*/; do
    [[ -f $d/$MARKER && -f $d/port ]] || continue
    [[ $(cat "$d/port") == "$1" ]] && return 0
  done
  return 1
}

# stop_dir DIR: stop the server of one of our clusters and remove the dir.
stop_dir() {
  local dir=${1%/}
  [[ -d $dir ]] || { log "$dir: already gone"; return 0; }
  [[ -f $dir/$MARKER ]] || { log "$dir is not a cluster made by pg-cluster.sh; not touching it"; return 1; }
  local user bindir pid
  user=$(cat "$dir/user" 2>/dev/null || id -un)
  bindir=$(cat "$dir/bindir" 2>/dev/null || find_bindir)
  if [[ $(id -u) -ne 0 && $user != "$(id -un)" ]]; then
    log "$dir belongs to OS user $user; stop it as root or as $user"
    return 1
  fi
  if [[ -f $dir/data/postmaster.pid ]]; then
    pid=$(head -n 1 "$dir/data/postmaster.pid")
    if ! as_user "$dir" "$user" "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1; then
      as_user "$dir" "$user" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 10 stop >/dev/null 2>&1 || true
    fi
    # Last resort: the postmaster of exactly this data dir.
    if [[ $pid =~ ^[0-9]+$ ]] && { tr "\0" " " <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qF -- "$dir/data"; then
      log "killing postmaster $pid of $dir"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
    fi
  fi
  rm -rf -- "$dir"
  log "stopped and removed $dir"
}

cleanup_stale() {
  local d owner start
  for d in "$TMP_PARENT/$PREFIX".*/; do
    [[ -f $d/$MARKER ]] || continue
    read -r owner start <"$d/owner" 2>/dev/null || { owner=; start=; }
    if [[ -n $owner && -n $start && $(proc_start "$owner") == "$start" ]]; then
      continue # owner still running: a concurrent run, leave it alone
    fi
    log "removing cluster left behind by a finished run: ${d%/}"
    stop_dir "$d" || true
  done
}

cmd_start() {
  local bindir user dir port owner ok=
  bindir=$(find_bindir)
  if [[ $(id -u) -eq 0 ]]; then
    if id -u postgres >/dev/null 2>&1; then user=postgres
    else user=nobody; log "OS user postgres missing; running the cluster as nobody"
    fi
  else
    user=$(id -un)
  fi
  cleanup_stale

  dir=$(mktemp -d "$TMP_PARENT/$PREFIX.XXXXXXXX")
  # Until the export lines are printed, a failure removes what was made.
  trap 'stop_dir "$dir" >/dev/null 2>&1 || rm -rf -- "$dir"' EXIT
  owner=${OUTPOST_PG_OWNER_PID:-$PPID}
  echo "$owner $(proc_start "$owner")" >"$dir/owner"
  echo "$user" >"$dir/user"
  echo "$bindir" >"$dir/bindir"
  touch "$dir/$MARKER"
  chmod 0755 "$dir" # other users may reach the socket; data/ itself is 0700
  [[ $user == "$(id -un)" ]] || chown "$user" "$dir"

  if ! as_user "$dir" "$user" "$bindir/initdb" -D "$dir/data" -U "$SUPERUSER" \
      --auth=trust --encoding=UTF8 --no-locale --no-instructions --no-sync >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    die "initdb failed"
  fi
  cat >>"$dir/data/postgresql.conf" <<CONF

# pg-cluster.sh: throwaway test cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
unix_socket_permissions = 0777
max_connections = 200
CONF

  port=$FIRST_PORT
  for ((i = 0; i < PORT_TRIES; i++, port++)); do
    if port_in_use "$port" || port_reserved "$port"; then continue; fi
    echo "$port" >"$dir/port"
    if as_user "$dir" "$user" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" \
        -o "-p $port" -w -t 60 start >/dev/null 2>&1; then
      ok=1; break
    fi
    if grep -q 'could not bind\|could not create any TCP/IP sockets\|already in use' "$dir/server.log" 2>/dev/null; then
      log "port $port taken meanwhile, trying the next"
      : >"$dir/server.log"; continue
    fi
    tail -n 20 "$dir/server.log" >&2 2>/dev/null || true
    die "could not start PostgreSQL in $dir"
  done
  [[ -n $ok ]] || die "no free port in $FIRST_PORT..$((FIRST_PORT + PORT_TRIES - 1))"

  "$bindir/createdb" -h 127.0.0.1 -p "$port" -U "$SUPERUSER" "$DATABASE" \
    || die "createdb $DATABASE failed"

  trap - EXIT
  log "PostgreSQL $("$bindir/pg_ctl" --version | awk '{print $3}') on 127.0.0.1:$port (socket and data in $dir, OS user $user)"
  local url="postgres://$SUPERUSER@127.0.0.1:$port/$DATABASE"
  printf 'export OUTPOST_TEST_PG=%q\n' "$url"
  printf 'export PGHOST=%q PGPORT=%q PGUSER=%q PGDATABASE=%q\n' 127.0.0.1 "$port" "$SUPERUSER" "$DATABASE"
  printf 'export OUTPOST_PG_DIR=%q\n' "$dir"
}

cmd_list() {
  local d
  for d in "$TMP_PARENT/$PREFIX".*/; do
    [[ -f $d/$MARKER ]] || continue
    echo "${d%/} port=$(cat "$d/port" 2>/dev/null || echo -) owner=$(cut -d' ' -f1 "$d/owner" 2>/dev/null || echo -)"
  done
}

case "${1:-}" in
  start) cmd_start ;;
  stop)
    dir=${2:-${OUTPOST_PG_DIR:-}}
    [[ -n $dir ]] || die "stop: no directory given and OUTPOST_PG_DIR is not set"
    stop_dir "$dir" ;;
  cleanup) cleanup_stale ;;
  list) cmd_list ;;
  *) echo "usage: $0 start|stop [DIR]|cleanup|list" >&2; exit 2 ;;
esac
