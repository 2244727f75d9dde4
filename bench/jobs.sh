#!/usr/bin/env bash
# Background jobs, measured in one run:
#   throughput: JOBS (default 20000) no-op jobs put into the `default` stream (redis-cli --pipe)
#     before one `emporium worker --queues default --no-relay` starts, at concurrency 1, 16 and 64
#     (a fresh batch each); timed from just before the worker is launched until the stats counter
#     `default:succeeded` reaches JOBS, so process start-up is included (it is shown separately)
#   latency: one worker with the outbox relay (default concurrency) while pgbench commits outbox
#     rows (`bench.noop` events carrying probe_ms = clock_timestamp() of the INSERT) at a fixed
#     rate, -R 200 and -R 1000, for SECONDS (default 15) each; the noop handler records
#     now − probe_ms, i.e. outbox INSERT (so including its commit) → handler start, in whole ms;
#     p50/p90/p99/max, and inserted events vs. jobs run (must be equal)
#   reference: redis-benchmark XADD (-c 50 -P 16), and pgbench's own latency for the inserts
# Results go to .local/bench/jobs/results.md as well.
# Usage: bench/jobs.sh BUILD_DIR [JOBS] [SECONDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: jobs.sh BUILD_DIR [JOBS] [SECONDS]}
njobs=${2:-20000}
secs=${3:-15}
[[ $njobs =~ ^[1-9][0-9]*$ && $secs =~ ^[1-9][0-9]*$ ]] || { echo "usage: jobs.sh BUILD_DIR [JOBS] [SECONDS] (positive integers)" >&2; exit 2; }
bin="$root/$build/src/app/emporium"
out="$root/.local/bench/jobs"; mkdir -p "$out"
[[ -x $bin ]] || { echo "jobs.sh: $bin not found (build first)" >&2; exit 1; }
bash "$root/scripts/services.sh" start bench
eval "$(bash "$root/scripts/services.sh" env bench)"
pg_port=$EMPORIUM_TEST_PG_PORT
redis_port=$EMPORIUM_TEST_REDIS_PORT
db="jobs_$(date +%s)_$$"
prefix="bench:jobs:$db:"   # every Redis key of this run starts with it
psql_admin() { psql -h 127.0.0.1 -p "$pg_port" -U emporium -d postgres -qAtc "$1"; }
psql_db() { psql -h 127.0.0.1 -p "$pg_port" -U emporium -d "$db" -qAtc "$1"; }
rcli() { redis-cli -h 127.0.0.1 -p "$redis_port" "$@"; }
psql_admin "CREATE DATABASE $db"
export DATABASE_URL="postgresql://emporium@127.0.0.1:$pg_port/$db" REDIS_URL="redis://127.0.0.1:$redis_port/0"
export MIGRATIONS_DIR="$root/migrations" LOG_LEVEL=warn OUTBOX_POLL_MS=1000
export JWT_SECRET="jobs-bench-secret-jobs-bench-secret-jobs-0" RATE_LIMIT_KEY_PREFIX="$prefix" CACHE_KEY_PREFIX="$prefix"
unset WORKER_CONCURRENCY WORKER_QUEUES WORKER_HANDLER_DELAY_MS
pid=""       # the worker, while one runs
bg=""        # pgbench / redis-benchmark, while one runs
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null || true
  [[ -n $bg ]] && kill "$bg" 2>/dev/null || true
  wait 2>/dev/null || true
  psql_admin "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
  rcli --scan --pattern "${prefix}*" | xargs -r redis-cli -h 127.0.0.1 -p "$redis_port" DEL >/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$bin" migrate --env-file /nonexistent >/dev/null

now_ms() { local t=${EPOCHREALTIME/./}; echo $(( t / 1000 )); }

# One connection to Redis kept open for polling, so the loops below fork nothing while a worker
# is being timed. `redis_get` leaves the answer of an inline command (integer or bulk) in $reply.
exec {redis_fd}<>"/dev/tcp/127.0.0.1/$redis_port"
redis_get() {
  local line
  printf '%s\r\n' "$*" >&"$redis_fd"
  IFS= read -r line <&"$redis_fd"; line=${line%$'\r'}
  case $line in
    :*) reply=${line#:} ;;
    '$-1') reply=0 ;;
    '$'*) IFS= read -r reply <&"$redis_fd"; reply=${reply%$'\r'} ;;
    *) echo "jobs.sh: unexpected Redis reply '$line'" >&2; exit 1 ;;
  esac
}
# Sleeps 10 ms without forking: a read on the idle polling connection that times out.
nap() { IFS= read -r -t 0.01 _ <&"$redis_fd" || true; }

start_worker() {  # name JOBS_KEY_PREFIX worker-args…
  local name=$1 p=$2; shift 2
  : >"$out/$name.out"
  JOBS_KEY_PREFIX=$p "$bin" worker --env-file /nonexistent --queues default "$@" >"$out/$name.out" 2>"$out/$name.log" &
  pid=$!
}
worker_ready() { [[ $(<"$out/$1.out") == *"emporium worker running"* ]]; }
check_alive() {  # name
  kill -0 "$pid" 2>/dev/null && return
  echo "jobs.sh: the worker exited early; see $out/$1.log:" >&2; tail -5 "$out/$1.log" >&2; exit 1
}
wait_ready() {  # name
  for _ in $(seq 1 200); do worker_ready "$1" && return; check_alive "$1"; sleep 0.05; done
  echo "jobs.sh: the worker did not start within 10 s; see $out/$1.log" >&2; exit 1
}
stop_worker() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }

enqueue() {  # JOBS_KEY_PREFIX count id-tag: XADDs as RESP, loaded with redis-cli --pipe
  local key="${1}{q:default}:jobs:stream" result
  result=$(LC_ALL=C awk -v key="$key" -v n="$2" -v tag="$3" -v now="$(now_ms)" 'BEGIN {
    for (i = 1; i <= n; i++) {
      job = sprintf("{\"id\":\"bench-%s-%d\",\"type\":\"noop\",\"queue\":\"default\",\"payload\":{},\"attempt\":1,\"created_ms\":%s}", tag, i, now)
      printf "*5\r\n$4\r\nXADD\r\n$%d\r\n%s\r\n$1\r\n*\r\n$3\r\njob\r\n$%d\r\n%s\r\n", length(key), key, length(job), job
    }
  }' | rcli --pipe)
  [[ $result == *"errors: 0, replies: $2"* ]] || { echo "jobs.sh: enqueue failed: $result" >&2; exit 1; }
  [[ $(rcli XLEN "$key") == "$2" ]] || { echo "jobs.sh: stream $key does not hold $2 entries" >&2; exit 1; }
}

# --- throughput ---------------------------------------------------------------------------------
throughput() {  # concurrency → sets tp_row
  local c=$1 p="${prefix}c$1:" name="worker-c$1" t0 t_ready="" t_end limit
  echo "throughput: $njobs no-op jobs, concurrency $c …" >&2
  enqueue "$p" "$njobs" "c$c"
  limit=$(( $(now_ms) + 300000 ))
  t0=$(now_ms)
  start_worker "$name" "$p" --no-relay --concurrency "$c"
  while :; do
    if [[ -z $t_ready ]]; then
      if worker_ready "$name"; then t_ready=$(now_ms)
      elif (( $(now_ms) - t0 > 10000 )); then echo "jobs.sh: the worker did not start within 10 s; see $out/$name.log" >&2; exit 1
      fi
    fi
    redis_get HGET "${p}{q:default}:jobs:stats" succeeded
    (( reply >= njobs )) && break
    check_alive "$name"
    (( $(now_ms) < limit )) || { echo "jobs.sh: only $reply of $njobs jobs done after 300 s" >&2; exit 1; }
    nap
  done
  t_end=$(now_ms)
  [[ -n $t_ready ]] || t_ready=$t_end   # finished before the poll saw the line (tiny batches)
  stop_worker
  redis_get HGET "${p}{q:default}:jobs:stats" dead; local dead=$reply
  redis_get HGET "${p}{q:default}:jobs:stats" retried; local retried=$reply
  local rate; rate=$(awk -v n="$njobs" -v ms="$(( t_end - t0 ))" 'BEGIN { printf "%.0f", n * 1000 / ms }')
  failures=$(( failures + dead + retried ))
  tp_row="| throughput, concurrency $c | **$rate jobs/s** ($njobs jobs in $(( t_end - t0 )) ms from launch, of which start-up $(( t_ready - t0 )) ms; retried $retried, dead $dead) |"
}

# --- latency ------------------------------------------------------------------------------------
mean() { awk '{ s += $1 } END { if (NR) printf "%.1f", s / NR; else print "-" }' "$1"; }
pct() {  # sorted-file q → nearest-rank percentile
  awk -v q="$2" '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit } i = int(q * NR); if (i < q * NR) i++; if (i < 1) i = 1; print v[i] }' "$1"
}
latency() {  # rate → sets lat_row, pg_row
  local rate=$1 p="${prefix}r$1:" name="worker-r$1" label="r$1"
  echo "latency: outbox inserts at $rate/s for ${secs}s …" >&2
  start_worker "$name" "$p"
  wait_ready "$name"
  # floor(), not a rounding cast: the handler truncates its clock to whole ms as well, so a delay
  # never comes out negative and each sample is within 1 ms of the true one.
  cat >"$out/insert-$label.sql" <<SQL
INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload)
VALUES ('bench', '$label', 'bench.noop', jsonb_build_object('probe_ms', floor(extract(epoch from clock_timestamp()) * 1000)::bigint));
SQL
  pgbench -h 127.0.0.1 -p "$pg_port" -U emporium -n -M prepared -c 4 -j 2 -T "$secs" -R "$rate" \
    -f "$out/insert-$label.sql" "$db" >"$out/pgbench-$label.txt" 2>"$out/pgbench-$label.err" &
  bg=$!
  wait "$bg" || { echo "jobs.sh: pgbench failed; see $out/pgbench-$label.err" >&2; bg=""; exit 1; }
  bg=""
  local processed pg_avg pg_lag inserted
  processed=$(sed -nE 's/^number of transactions actually processed: ([0-9]+).*/\1/p' "$out/pgbench-$label.txt")
  pg_avg=$(sed -nE 's/^latency average = ([0-9.]+) ms.*/\1/p' "$out/pgbench-$label.txt")
  pg_lag=$(sed -nE 's/^rate limit schedule lag: avg ([0-9.]+) .*/\1/p' "$out/pgbench-$label.txt")
  inserted=$(psql_db "SELECT count(*) FROM outbox WHERE aggregate_id = '$label'")
  [[ -n $processed ]] || { echo "jobs.sh: no pgbench result; see $out/pgbench-$label.txt" >&2; exit 1; }
  # Wait (up to 30 s) for every committed event to have run.
  local limit=$(( $(now_ms) + 30000 ))
  while :; do
    redis_get LLEN "${p}jobs:probe"
    (( reply >= inserted || $(now_ms) >= limit )) && break
    check_alive "$name"
    nap
  done
  stop_worker
  redis_get HGET "${p}{q:default}:jobs:stats" succeeded; local ran=$reply
  rcli LRANGE "${p}jobs:probe" 0 -1 | sort -n >"$out/probe-$label.txt"
  local probes; probes=$(wc -l <"$out/probe-$label.txt")
  local f="$out/probe-$label.txt"
  local lost=$(( inserted - ran ))
  (( lost == 0 && probes == inserted && processed == inserted )) || failures=$(( failures + 1 ))
  lat_row="| commit → handler start, $rate events/s (${secs}s) | **p50 $(pct "$f" 0.5) ms, p90 $(pct "$f" 0.9) ms, p99 $(pct "$f" 0.99) ms**, max $(pct "$f" 1) ms, mean $(mean "$f") ms; inserted $inserted (pgbench: $processed), jobs run $ran, probes $probes, lost $lost |"
  pg_row="| pgbench outbox INSERT, -R $rate -c 4 | latency average $pg_avg ms (schedule lag avg $pg_lag ms) |"
}

failures=0
echo "reference: redis-benchmark XADD …" >&2
redis-benchmark -h 127.0.0.1 -p "$redis_port" -q -n 100000 -c 50 -P 16 XADD "${prefix}xadd" '*' f v \
  >"$out/redis-benchmark.txt" 2>&1 &
bg=$!
wait "$bg"; bg=""
rcli DEL "${prefix}xadd" >/dev/null
xadd=$(tr '\r' '\n' <"$out/redis-benchmark.txt" | sed -nE 's/.*: ([0-9.]+) requests per second.*/\1/p' | tail -1)
[[ -n $xadd ]] || { echo "jobs.sh: no redis-benchmark result; see $out/redis-benchmark.txt" >&2; exit 1; }

rows=()
for c in 1 16 64; do throughput "$c"; rows+=("$tp_row"); done
lat_rows=()
for rate in 200 1000; do latency "$rate"; lat_rows+=("$lat_row" "$pg_row"); done

{
  echo "| scenario | figure |"
  echo "|---|---|"
  echo "| raw XADD, \`redis-benchmark -c 50 -P 16\` | $(printf '%.0f' "$xadd") XADD/s |"
  for row in "${rows[@]}" "${lat_rows[@]}"; do echo "$row"; done
} | tee "$out/results.md"
(( failures == 0 )) || { echo "jobs.sh: jobs were lost, retried or dead (see above)" >&2; exit 1; }
