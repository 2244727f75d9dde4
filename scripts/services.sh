#!/usr/bin/env bash
# Local PostgreSQL 15 + Redis 7 for development and tests, under .local/<profile>/.
#
#   scripts/services.sh start [dev|test]   start (idempotent), print nothing on success
#   scripts/services.sh stop  [dev|test]   stop what this script started (pid files)
#   scripts/services.sh env   [dev|test]   print `export` lines for the profile
#   scripts/services.sh status [dev|test]
#
# Ports (below the kernel's ephemeral range 32768-60999, so an outgoing connection can never hold
# them): PG_PORT / REDIS_PORT override the profile defaults (dev 25432/26379, test 25433/26380,
# bench 25434/26381).
# PostgreSQL refuses to run as root, so its data directory belongs to the unprivileged
# `postgres` user (created by the postgresql package). Both listen on 127.0.0.1 only.
set -euo pipefail

cmd=${1:-start}
profile=${2:-dev}
root=$(cd "$(dirname "$0")/.." && pwd)
case "$profile" in
  dev)  pg_port=${PG_PORT:-25432}; redis_port=${REDIS_PORT:-26379} ;;
  test) pg_port=${PG_PORT:-25433}; redis_port=${REDIS_PORT:-26380} ;;
  bench) pg_port=${PG_PORT:-25434}; redis_port=${REDIS_PORT:-26381} ;;
  *) echo "services.sh: unknown profile '$profile' (dev|test|bench)" >&2; exit 2 ;;
esac
base="$root/.local/$profile"
pg_bin=$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || true)
pg_user=postgres
redis_dir="$base/redis"
redis_pid="$redis_dir/redis.pid"

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u "$pg_user" -- "$@"; else "$@"; fi
}

# The data directory must be writable by the postgres user. If the checkout lives somewhere that
# user cannot reach (e.g. a private temp dir), keep the data in /var/tmp and link it from .local.
pg_data_dir() {
  local want="$base/pg"
  if [ -L "$want" ]; then readlink "$want"; return; fi
  mkdir -p "$base"
  if [ "$(id -u)" = 0 ]; then
    if runuser -u "$pg_user" -- test -x "$base" 2>/dev/null && runuser -u "$pg_user" -- test -r "$base"; then
      mkdir -p "$want"; chown "$pg_user" "$want"; chmod 700 "$want"; echo "$want"; return
    fi
    local alt="/var/tmp/emporium-$(echo -n "$base" | sha1sum | cut -c1-12)"
    mkdir -p "$alt"; chown "$pg_user" "$alt"; chmod 700 "$alt"
    ln -sfn "$alt" "$want"; echo "$alt"; return
  fi
  mkdir -p "$want"; chmod 700 "$want"; echo "$want"
}

start_pg() {
  [ -n "$pg_bin" ] || { echo "PostgreSQL 15 is not installed (run scripts/deps.sh)" >&2; exit 1; }
  if [ "$(id -u)" != 0 ]; then pg_user=$(id -un); fi
  local data; data=$(pg_data_dir)
  if [ ! -f "$data/PG_VERSION" ]; then
    as_pg "$pg_bin/initdb" -D "$data" -U emporium --auth=trust -E UTF8 --no-locale >"$base/initdb.log" 2>&1 \
      || { cat "$base/initdb.log" >&2; exit 1; }
    {
      echo "listen_addresses = '127.0.0.1'"
      echo "port = $pg_port"
      echo "unix_socket_directories = '$data'"
      echo "max_connections = 300"
      echo "shared_buffers = 256MB"
      echo "timezone = 'UTC'"
      echo "log_timezone = 'UTC'"
      if [ "$profile" = test ]; then
        # Test data is disposable: trade durability for speed.
        echo "fsync = off"; echo "synchronous_commit = off"; echo "full_page_writes = off"
      fi
    } >>"$data/postgresql.conf"
  fi
  if as_pg "$pg_bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then return; fi
  as_pg "$pg_bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 -o "-p $pg_port" start >/dev/null \
    || { tail -20 "$data/server.log" >&2; exit 1; }
  if [ "$profile" != test ]; then
    if ! psql -h 127.0.0.1 -p "$pg_port" -U emporium -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname='emporium'" | grep -q 1; then
      psql -h 127.0.0.1 -p "$pg_port" -U emporium -d postgres -qc "CREATE DATABASE emporium" >/dev/null
    fi
  fi
}

stop_pg() {
  local data="$base/pg"
  [ -e "$data" ] || return 0
  data=$(readlink -f "$data")
  [ -f "$data/postmaster.pid" ] || return 0
  if [ "$(id -u)" != 0 ]; then pg_user=$(id -un); fi
  as_pg "$pg_bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
}

start_redis() {
  mkdir -p "$redis_dir"
  if [ -f "$redis_pid" ] && kill -0 "$(cat "$redis_pid")" 2>/dev/null; then return; fi
  local persist=(--appendonly yes)
  [ "$profile" = test ] && persist=(--appendonly no --save "")
  redis-server --bind 127.0.0.1 --port "$redis_port" --daemonize yes --pidfile "$redis_pid" \
    --dir "$redis_dir" --logfile "$redis_dir/redis.log" --protected-mode yes "${persist[@]}" >/dev/null
  for _ in $(seq 1 100); do
    redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1 && return
    sleep 0.1
  done
  echo "Redis did not start on port $redis_port; see $redis_dir/redis.log" >&2; exit 1
}

stop_redis() {
  [ -f "$redis_pid" ] || return 0
  local pid; pid=$(cat "$redis_pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$redis_pid"
}

print_env() {
  if [ "$profile" = test ] || [ "$profile" = bench ]; then
    echo "export EMPORIUM_TEST_DATABASE_URL=postgresql://emporium@127.0.0.1:$pg_port/postgres"
    echo "export EMPORIUM_TEST_REDIS_URL=redis://127.0.0.1:$redis_port"
    echo "export EMPORIUM_TEST_PG_DATA=$(readlink -f "$base/pg" 2>/dev/null || echo "$base/pg")"
    echo "export EMPORIUM_TEST_PG_PORT=$pg_port"
    echo "export EMPORIUM_TEST_REDIS_PORT=$redis_port"
    echo "export EMPORIUM_TEST_REDIS_PIDFILE=$redis_pid"
  else
    echo "export DATABASE_URL=postgresql://emporium@127.0.0.1:$pg_port/emporium"
    echo "export REDIS_URL=redis://127.0.0.1:$redis_port/0"
  fi
}

case "$cmd" in
  start) start_pg; start_redis ;;
  stop) stop_redis; stop_pg ;;
  env) print_env ;;
  status)
    if [ -e "$base/pg" ] && as_pg "$pg_bin/pg_ctl" -D "$(readlink -f "$base/pg")" status >/dev/null 2>&1; then echo "postgres: running on $pg_port"; else echo "postgres: stopped"; fi
    if [ -f "$redis_pid" ] && kill -0 "$(cat "$redis_pid")" 2>/dev/null; then echo "redis: running on $redis_port"; else echo "redis: stopped"; fi ;;
  *) echo "usage: $0 start|stop|env|status [dev|test]" >&2; exit 2 ;;
esac
