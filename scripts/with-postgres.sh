#!/usr/bin/env bash
# Runs a command with DATABASE_URL pointing at a PostgreSQL server.
#
# If DATABASE_URL is set it is used as it is. Otherwise a throwaway cluster is
# created from the machine's `postgresql` package (installed if missing), the
# command runs against it, and the cluster is stopped and removed afterwards.
# PostgreSQL refuses to run as root, so as root the server runs as `postgres`.
set -euo pipefail

if [ -n "${DATABASE_URL:-}" ]; then
  exec "$@"
fi

find_pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

PG_BIN=$(find_pg_bin || true)
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
  echo "with-postgres: installing the postgresql package" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "with-postgres: PostgreSQL is not installed and this user cannot install it; set DATABASE_URL" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq postgresql >/dev/null
  PG_BIN=$(find_pg_bin)
fi

PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/delius-pg.XXXXXX")
PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

watchdog=""
cleanup() {
  trap - EXIT INT TERM HUP
  [ -n "$watchdog" ] && kill "$watchdog" 2>/dev/null
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}
trap cleanup EXIT

if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir "$PG_DIR" --shell /bin/sh postgres
  chown postgres "$PG_DIR"
fi

as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres -E UTF8 --no-sync >/dev/null
# A disposable server: durability is not needed, speed and connections are.
as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -w -l "$PG_DIR/server.log" \
  -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c timezone=UTC" \
  start >/dev/null
postmaster=$(head -n 1 "$PG_DIR/data/postmaster.pid")

# SIGKILL runs no trap: a watchdog in its own session (so a signal to this
# script's process group does not take it too) stops the server once this
# script's process is gone (and ends the command too). Its output goes nowhere: holding the caller's
# standard output open would keep `out=$(...)` waiting.
setsid bash -c '
  while kill -0 "$1" 2>/dev/null; do sleep 0.5; done
  [ -f "$3/command.pid" ] && kill -TERM "$(cat "$3/command.pid")" 2>/dev/null
  kill -QUIT "$2" 2>/dev/null   # the postmaster: immediate shutdown
  sleep 1; rm -rf "$3"
' with-postgres-watchdog "$$" "$postmaster" "$PG_DIR" </dev/null >/dev/null 2>&1 &
watchdog=$!

export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
echo "with-postgres: throwaway PostgreSQL at $DATABASE_URL" >&2

# The command runs in the background so that a signal to this script is
# handled at once (bash defers traps while a foreground command runs): INT,
# TERM and HUP are passed on to the command as TERM, then the server stops.
"$@" <&0 &
command=$!
echo "$command" >"$PG_DIR/command.pid"
trap 'kill -TERM "$command" 2>/dev/null' INT TERM HUP
status=0
while :; do
  wait "$command" && status=0 || status=$?
  # wait returns early (status > 128) when a trapped signal arrives.
  kill -0 "$command" 2>/dev/null || break
done
exit "$status"
