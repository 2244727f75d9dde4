#!/usr/bin/env bash
# `make run`: local PostgreSQL + Redis (scripts/services.sh), migrations, demo data, then the API,
# the background worker and the scheduler. Ctrl-C or `make stop` stops what this started, by pid
# file (.local/<profile>/run/*.pid). E-mails go to .local/mail/*.eml unless SMTP_URL is set.
# SERVICES_PROFILE=cluster (`make run CLUSTER=1`) runs on the cluster profile instead of dev: Redis
# Cluster, Redlock masters, a PostgreSQL primary with two replicas (the environment of
# `scripts/services.sh env cluster`); its secrets and administrator are kept in .local/cluster/.
#   scripts/run.sh BUILD_DIR [seed args…]
#   scripts/run.sh --stop     (either profile)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
profile=${SERVICES_PROFILE:-dev}
case "$profile" in dev|cluster) ;; *) echo "run.sh: SERVICES_PROFILE is dev or cluster" >&2; exit 2 ;; esac
state_dir="$root/.local/$profile"
run_dir="$state_dir/run"

stop_all() {
  for f in "$run_dir"/*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
  done
  bash "$root/scripts/services.sh" stop "$profile"
}

# `make stop`: the dev shop and its services, and a cluster shop and its services if one runs.
if [ "${1:-}" = "--stop" ]; then
  profile=dev run_dir="$root/.local/dev/run"; stop_all
  if compgen -G "$root/.local/cluster/run/*.pid" >/dev/null; then
    profile=cluster run_dir="$root/.local/cluster/run"; stop_all
  fi
  echo "stopped"; exit 0
fi
mkdir -p "$run_dir"

build_dir=${1:?usage: run.sh BUILD_DIR [seed args]}
shift
bin="$root/$build_dir/src/app/emporium"
[ -x "$bin" ] || { echo "run.sh: $bin not built" >&2; exit 1; }

bash "$root/scripts/services.sh" start "$profile"
eval "$(bash "$root/scripts/services.sh" env "$profile")"
export DOCS_DIR=${DOCS_DIR:-$root/node_modules/swagger-ui-dist}
export MIGRATIONS_DIR=${MIGRATIONS_DIR:-$root/migrations}
export HTTP_PORT=${HTTP_PORT:-8080}
export MAIL_SPOOL_DIR=${MAIL_SPOOL_DIR:-$root/.local/mail}
# Every process of the deployment must share one JWT signing key, and the payment webhooks need a
# signing secret (the README's tour signs one). Unless the environment sets them, generate local
# ones once, kept in .local/<profile>/.
local_secret() {  # VARIABLE FILE PREFIX
  local file="$state_dir/$2"
  [ -z "${!1:-}" ] || return 0
  [ -s "$file" ] || (umask 077; { printf '%s' "$3"; head -c 48 /dev/urandom | base64 | tr -d '\n/+='; } > "$file")
  export "$1=$(cat "$file")"
}
local_secret JWT_SECRET jwt_secret ""
local_secret WEBHOOK_SECRET webhook_secret whsec_
cd "$root"

"$bin" migrate
"$bin" seed --if-empty "$@"
# The demo shop's administrator (the README's tour signs in as it): made once per database, its
# password kept in .local/<profile>/admin_password.
if [ ! -s "$state_dir/admin_password" ]; then
  admin_password=$(head -c 24 /dev/urandom | base64 | tr -d '\n/+=')
  EMPORIUM_ADMIN_PASSWORD=$admin_password "$bin" create-admin --email admin@example.com --name Admin >/dev/null
  (umask 077; printf '%s' "$admin_password" > "$state_dir/admin_password")
fi

trap 'echo; echo "stopping…"; stop_all; exit 0' INT TERM
# Each process's /metrics on a port of its own (off the API port): 9464 serve, 9465 worker, 9466
# scheduler (METRICS_PORT moves the first; 0 turns them off and serve answers /metrics itself).
metrics_base=${METRICS_PORT:-9464}
metrics_of() { if [ "$metrics_base" = 0 ]; then echo 0; else echo $((metrics_base + $1)); fi; }
METRICS_PORT=$metrics_base "$bin" serve > >(tee "$run_dir/serve.out") 2> "$run_dir/serve.log" &
echo $! > "$run_dir/serve.pid"

for _ in $(seq 1 100); do
  grep -q "listening on" "$run_dir/serve.out" 2>/dev/null && break
  kill -0 "$(cat "$run_dir/serve.pid")" 2>/dev/null || { cat "$run_dir/serve.log" >&2; stop_all; exit 1; }
  sleep 0.1
done
offset=0
for role in worker scheduler; do
  offset=$((offset + 1))
  METRICS_PORT=$(metrics_of $offset) "$bin" "$role" > "$run_dir/$role.out" 2> "$run_dir/$role.log" &
  echo $! > "$run_dir/$role.pid"
done
for role in worker scheduler; do
  for _ in $(seq 1 100); do
    grep -q "emporium $role running" "$run_dir/$role.out" 2>/dev/null && break
    kill -0 "$(cat "$run_dir/$role.pid")" 2>/dev/null || { cat "$run_dir/$role.log" >&2; stop_all; exit 1; }
    sleep 0.1
  done
done
echo "Emporium is up: API http://127.0.0.1:$HTTP_PORT/api/v1 — docs http://127.0.0.1:$HTTP_PORT/docs/"
echo "worker and scheduler running; e-mails are written to $MAIL_SPOOL_DIR (set SMTP_URL to send them)."
[ "$metrics_base" = 0 ] ||
  echo "metrics: http://127.0.0.1:$metrics_base/metrics (serve), :$(metrics_of 1) (worker), :$(metrics_of 2) (scheduler)"
echo "logs: $run_dir/{serve,worker,scheduler}.log — Ctrl-C (or 'make stop' from another shell) stops everything."
# Stop everything as soon as any of the three exits.
wait -n "$(cat "$run_dir/serve.pid")" "$(cat "$run_dir/worker.pid")" "$(cat "$run_dir/scheduler.pid")" || true
stop_all
