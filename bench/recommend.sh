#!/usr/bin/env bash
# Recommendations (issue 9), measured in one run on a throwaway database:
#   data: `emporium seed --products 100000 --users 10000 --orders ORDERS --seed 42` (deterministic)
#   rebuild: `emporium recommend rebuild` (stream the paid/fulfilled items by COPY in order-id
#     ranges on two connections, buffer each basket's pairs, sort and count them, keep the top K
#     per product, publish to Redis by RESTORE) — wall time from launch to exit, its own
#     read/count/publish split, and peak RSS (VmHWM of the process, polled from /proc every 10 ms
#     until it exits)
#   reference: the same co-occurrence counts from one SQL self-join + GROUP BY in PostgreSQL,
#     wrapped in `SELECT count(*), sum(n) FROM (…) t` so no result set travels to the client, timed
#     by psql's \timing at the server default work_mem
#   warm-up: each runs once untimed right before its timed run (the rebuild into a scratch key
#     prefix, so the timed one still publishes into an empty one); Redis's background saves are
#     waited for before the timed rebuild
#   agreement: the SQL's distinct pairs must equal the rebuild's pair count, and for 3 sample
#     products the top-5 neighbours with their counts from SQL must equal the Redis sorted sets
#   also-bought: one `emporium serve` (2 I/O threads), wrk -t2 -c64 for SECONDS over 2000 products
#     that have neighbours: one pass to warm the per-answer cache (60 s TTL), then the measured
#     pass; the same wrk against GET /healthz gives the server's floor
# Results go to .local/bench/recommend/results.md as well. Exits non-zero if the SQL and the
# rebuild disagree or any also-bought answer was not 2xx.
# Usage: bench/recommend.sh BUILD_DIR [ORDERS] [SECONDS]   (defaults: 1000000 orders, 10 s)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: recommend.sh BUILD_DIR [ORDERS] [SECONDS]}
norders=${2:-1000000}
secs=${3:-10}
[[ $norders =~ ^[1-9][0-9]*$ && $secs =~ ^[1-9][0-9]*$ ]] || { echo "usage: recommend.sh BUILD_DIR [ORDERS] [SECONDS] (positive integers)" >&2; exit 2; }
bin="$root/$build/src/app/emporium"
out="$root/.local/bench/recommend"; mkdir -p "$out"
[[ -x $bin ]] || { echo "recommend.sh: $bin not found (build first)" >&2; exit 1; }
for tool in psql redis-cli wrk; do
  command -v "$tool" >/dev/null || { echo "recommend.sh: $tool not found (scripts/deps.sh installs it)" >&2; exit 1; }
done

# Leave the bench services as we found them: stop afterwards only what this script started.
services_before=$(bash "$root/scripts/services.sh" status bench)
pg_was_up=false; redis_was_up=false
[[ $services_before == *"postgres: running"* ]] && pg_was_up=true
[[ $services_before == *"redis: running"* ]] && redis_was_up=true
bash "$root/scripts/services.sh" start bench
eval "$(bash "$root/scripts/services.sh" env bench)"
pg_port=$EMPORIUM_TEST_PG_PORT
redis_port=$EMPORIUM_TEST_REDIS_PORT
http_port=18097
db="recommend_$(date +%s)_$$"
prefix="bench:rec:$db:"   # every Redis key of this run starts with it
unset PGOPTIONS           # the reference runs at the server's own settings
psql_admin() { psql -X -h 127.0.0.1 -p "$pg_port" -U emporium -d postgres -qAtc "$1"; }
psql_db() { psql -X -h 127.0.0.1 -p "$pg_port" -U emporium -d "$db" -qAt -v ON_ERROR_STOP=1 "$@"; }
rcli() { redis-cli -h 127.0.0.1 -p "$redis_port" "$@"; }
export DATABASE_URL="postgresql://emporium@127.0.0.1:$pg_port/$db" REDIS_URL="redis://127.0.0.1:$redis_port/0"
export MIGRATIONS_DIR="$root/migrations" LOG_LEVEL=warn CACHE_KEY_PREFIX="$prefix" RATE_LIMIT_KEY_PREFIX="$prefix"
export JWT_SECRET="recommend-bench-secret-recommend-bench-0"
unset RECOMMEND_BATCH_ORDERS RECOMMEND_READ_STREAMS RECOMMEND_TOP_K RECOMMEND_SCORING RECOMMEND_CACHE_TTL_S   # the defaults are measured
pid=""         # the rebuild or the server, while one runs
db_created=false
stop_service_we_started() {
  if ! $pg_was_up && ! $redis_was_up; then
    bash "$root/scripts/services.sh" stop bench || true
  elif ! $redis_was_up; then
    [[ -f $EMPORIUM_TEST_REDIS_PIDFILE ]] && kill "$(cat "$EMPORIUM_TEST_REDIS_PIDFILE")" 2>/dev/null || true
  elif ! $pg_was_up; then
    local pg_ctl=/usr/lib/postgresql/15/bin/pg_ctl
    if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$pg_ctl" -D "$EMPORIUM_TEST_PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
    else "$pg_ctl" -D "$EMPORIUM_TEST_PG_DATA" -m fast -w stop >/dev/null 2>&1 || true; fi
  fi
}
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null || true
  wait 2>/dev/null || true
  $db_created && { psql_admin "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true; }
  rcli --scan --pattern "${prefix}*" | xargs -r redis-cli -h 127.0.0.1 -p "$redis_port" UNLINK >/dev/null || true
  rm -f "$out/nap.fifo"
  stop_service_we_started
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

psql_admin "CREATE DATABASE $db"
db_created=true
"$bin" migrate --env-file /nonexistent >/dev/null

# Sleeps 10 ms without forking: a read that times out on a FIFO nobody writes to.
rm -f "$out/nap.fifo"; mkfifo "$out/nap.fifo"
exec {nap_fd}<>"$out/nap.fifo"
nap() { IFS= read -r -t 0.01 _ <&"$nap_fd" || true; }
now_ms() { local t=${EPOCHREALTIME/./}; echo $(( t / 1000 )); }
secs_of() { awk -v ms="$1" 'BEGIN { printf "%.1f", ms / 1000 }'; }

# --- data ---------------------------------------------------------------------------------------
echo "seeding $norders orders …" >&2
t0=$(now_ms)
DB_QUERY_TIMEOUT_MS=3600000 "$bin" seed --env-file /nonexistent --products 100000 --users 10000 \
  --orders "$norders" --seed 42 >"$out/seed.out"
seed_ms=$(( $(now_ms) - t0 ))
psql_db -c "VACUUM ANALYZE" >/dev/null   # hint bits and statistics, so neither side pays for the load
items=$(psql_db -c "SELECT count(*) FROM order_items")
statuses=$(psql_db -c "SELECT string_agg(format('%s %s (%s%%)', status, n, pct), ', ' ORDER BY n DESC) FROM
                       (SELECT status, n, round(100.0 * n / sum(n) OVER (), 1) AS pct FROM
                        (SELECT status, count(*) AS n FROM orders GROUP BY status) s) t")
paid_items=$(psql_db -c "SELECT count(*), round(count(*)::numeric / nullif(count(DISTINCT i.order_id), 0), 2)
                         FROM order_items i JOIN orders o ON o.id = i.order_id WHERE o.status IN ('paid', 'fulfilled')")
echo "orders by status: $statuses" >&2

# --- warm-up ------------------------------------------------------------------------------------
# Each side runs once untimed right before its timed run, so that both find PostgreSQL's caches
# warm with their own pages: the rebuild into a scratch key prefix (deleted again: the timed
# rebuild still publishes into an empty one), the SQL exactly as it is timed. Then Redis's
# background persistence is brought up to date (an RDB save and an AOF rewrite, waited for), so
# that no fork triggered by these writes lands inside a timed run.
pairs_sql="SELECT a.product_id AS a, b.product_id AS b, count(*) AS n
  FROM order_items a
  JOIN order_items b ON b.order_id = a.order_id AND b.product_id <> a.product_id
  JOIN orders o ON o.id = a.order_id
  WHERE o.status IN ('paid', 'fulfilled')
  GROUP BY 1, 2"
persistence_busy() {
  local info
  info=$(rcli INFO persistence)
  [[ $info == *"rdb_bgsave_in_progress:1"* || $info == *"aof_rewrite_in_progress:1"* || $info == *"aof_rewrite_scheduled:1"* ]]
}
settle_redis() {
  local step
  for step in BGSAVE BGREWRITEAOF; do
    for _ in $(seq 1 600); do persistence_busy || break; sleep 0.1; done
    rcli "$step" >/dev/null 2>&1 || true
    sleep 0.2
  done
  for _ in $(seq 1 600); do persistence_busy || break; sleep 0.1; done
  ! persistence_busy || { echo "recommend.sh: Redis is still saving after 60 s" >&2; exit 1; }
}
echo "warm-up rebuild (untimed) …" >&2
CACHE_KEY_PREFIX="${prefix}warm:" "$bin" recommend rebuild --env-file /nonexistent >"$out/warm.out" 2>"$out/warm.log" \
  || { echo "recommend.sh: the warm-up rebuild failed; see $out/warm.log" >&2; exit 1; }
rcli --scan --pattern "${prefix}warm:*" | xargs -r -n 10000 redis-cli -h 127.0.0.1 -p "$redis_port" UNLINK >/dev/null
settle_redis

# --- rebuild ------------------------------------------------------------------------------------
echo "recommend rebuild …" >&2
hwm_kb=0
poll_hwm() {  # keeps the highest VmHWM of $pid; fails once the process has exited (or is a zombie)
  # One `read` for the whole file: reading it line by line makes bash seek back after every line,
  # and the kernel regenerates the text at each seek, so lines can come out torn.
  local status=""
  IFS= read -r -d '' status 2>/dev/null <"/proc/$pid/status" || true
  [[ $status =~ VmHWM:[[:space:]]*([0-9]+) ]] || return 1
  (( BASH_REMATCH[1] > hwm_kb )) && hwm_kb=${BASH_REMATCH[1]}
  return 0
}
t0=$(now_ms)
"$bin" recommend rebuild --env-file /nonexistent >"$out/rebuild.out" 2>"$out/rebuild.log" &
pid=$!
while poll_hwm; do nap; done
rc=0; wait "$pid" || rc=$?
rebuild_ms=$(( $(now_ms) - t0 ))
pid=""
(( rc == 0 )) || { echo "recommend.sh: the rebuild failed (exit $rc); see $out/rebuild.log:" >&2; tail -5 "$out/rebuild.log" >&2; exit 1; }
line=$(grep '^recommend rebuild:' "$out/rebuild.out") || { echo "recommend.sh: no report line in $out/rebuild.out" >&2; exit 1; }
echo "$line" >&2
# recommend rebuild: B baskets, P pairs, N products published (R removed); read X s, counted Y s, published Z s
re='^recommend rebuild: ([0-9]+) baskets, ([0-9]+) pairs, ([0-9]+) products published \(([0-9]+) removed\); read ([0-9.e+-]+) s, counted ([0-9.e+-]+) s, published ([0-9.e+-]+) s'
[[ $line =~ $re ]] || { echo "recommend.sh: unexpected report line: $line" >&2; exit 1; }
baskets=${BASH_REMATCH[1]} pairs=${BASH_REMATCH[2]} published=${BASH_REMATCH[3]}
read_s=${BASH_REMATCH[5]} count_s=${BASH_REMATCH[6]} publish_s=${BASH_REMATCH[7]}
(( hwm_kb > 0 )) || { echo "recommend.sh: could not read the rebuild's VmHWM" >&2; exit 1; }

# --- SQL reference ------------------------------------------------------------------------------
psql_db -c "EXPLAIN SELECT count(*), sum(n) FROM ($pairs_sql) t" >"$out/sql-plan.txt"
echo "warm-up SQL (untimed) …" >&2
psql_db -c "SELECT count(*), sum(n) FROM ($pairs_sql) t" >/dev/null
echo "SQL self-join …" >&2
sql_out=$(psql_db <<SQL
SELECT setting || coalesce(unit, '') || ' (' || source || ')' FROM pg_settings WHERE name = 'work_mem';
SELECT setting FROM pg_settings WHERE name = 'max_parallel_workers_per_gather';
\timing on
SELECT count(*), sum(n) FROM ($pairs_sql) t;
SQL
)
echo "$sql_out" >"$out/sql.txt"
work_mem=$(sed -n 1p <<<"$sql_out")
parallel=$(sed -n 2p <<<"$sql_out")
sql_pairs=$(sed -n 3p <<<"$sql_out" | cut -d'|' -f1)
sql_sum=$(sed -n 3p <<<"$sql_out" | cut -d'|' -f2)
sql_ms=$(sed -nE 's/^Time: ([0-9.]+) ms.*/\1/p' <<<"$sql_out")
[[ -n $sql_ms && -n $sql_pairs ]] || { echo "recommend.sh: no SQL timing; see $out/sql.txt" >&2; exit 1; }

# --- agreement ----------------------------------------------------------------------------------
failures=0
agree="yes"
if [[ $sql_pairs != "$pairs" ]]; then
  agree="NO"; failures=$(( failures + 1 ))
  echo "recommend.sh: SQL counts $sql_pairs distinct pairs, the rebuild $pairs" >&2
fi
# Three products at popularity ranks 1, 100 and 1000 (many, fewer and few neighbours).
samples=$(psql_db -c "SELECT i.product_id FROM order_items i JOIN orders o ON o.id = i.order_id
                      WHERE o.status IN ('paid', 'fulfilled') GROUP BY 1 ORDER BY count(*) DESC, 1" | sed -n '1p;100p;1000p')
sample_note=()
: >"$out/agreement.txt"
for p in $samples; do
  # The live set holds the top K by (count desc, id asc); Redis orders equal scores by member
  # bytes, so both sides are put in that order before the first five are compared.
  from_sql=$(psql_db -c "SELECT b.product_id || ' ' || count(*)
      FROM order_items a JOIN order_items b ON b.order_id = a.order_id AND b.product_id <> a.product_id
      JOIN orders o ON o.id = a.order_id
      WHERE o.status IN ('paid', 'fulfilled') AND a.product_id = $p
      GROUP BY b.product_id ORDER BY count(*) DESC, b.product_id LIMIT 5")
  from_redis=$(rcli ZREVRANGE "${prefix}{p:$p}:cooccurrence" 0 -1 WITHSCORES | paste -d' ' - - | sort -k2,2nr -k1,1n | head -5)
  {
    echo "product $p"; echo "  SQL:   $(tr '\n' ',' <<<"$from_sql")"; echo "  Redis: $(tr '\n' ',' <<<"$from_redis")"
  } >>"$out/agreement.txt"
  if [[ -z $from_sql || $from_sql != "$from_redis" ]]; then
    agree="NO"; failures=$(( failures + 1 ))
    echo "recommend.sh: product $p: SQL top 5 [$(tr '\n' ',' <<<"$from_sql")] vs Redis [$(tr '\n' ',' <<<"$from_redis")]" >&2
  fi
  sample_note+=("$p (top count $(head -1 <<<"$from_sql" | cut -d' ' -f2))")
done
[[ $(wc -w <<<"$samples") == 3 ]] || { agree="NO"; failures=$(( failures + 1 )); echo "recommend.sh: fewer than 3 sample products" >&2; }

# --- also-bought under load ---------------------------------------------------------------------
# 2000 active products with a published neighbour list, in a fixed pseudo-random order.
{
  echo "CREATE TEMP TABLE published (id bigint); COPY published FROM STDIN;"
  rcli SMEMBERS "${prefix}cooccurrence:index"
  echo '\.'
  echo "SELECT p.id FROM products p JOIN published USING (id) WHERE p.is_active AND p.deleted_at IS NULL ORDER BY md5(p.id::text) LIMIT 2000;"
} | psql_db >"$out/ids.txt"
nids=$(wc -l <"$out/ids.txt")
(( nids > 0 )) || { echo "recommend.sh: no active product has neighbours" >&2; exit 1; }

echo "emporium serve …" >&2
: >"$out/serve.out"
HTTP_PORT=$http_port HTTP_THREADS=2 RATE_LIMIT_ENABLED=false "$bin" serve --env-file /nonexistent >"$out/serve.out" 2>"$out/serve.log" &
pid=$!
for _ in $(seq 1 100); do
  grep -q "listening on" "$out/serve.out" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { echo "recommend.sh: the server exited; see $out/serve.log:" >&2; tail -5 "$out/serve.log" >&2; exit 1; }
  sleep 0.1
done
grep -q "listening on" "$out/serve.out" || { echo "recommend.sh: the server did not start; see $out/serve.log" >&2; exit 1; }
first=$(head -1 "$out/ids.txt")
curl -sf "http://127.0.0.1:$http_port/api/v1/products/$first/also-bought?limit=10" >"$out/sample-answer.json" \
  || { echo "recommend.sh: GET /api/v1/products/$first/also-bought failed" >&2; exit 1; }
grep -q '"items":\[{' "$out/sample-answer.json" || { echo "recommend.sh: empty also-bought answer for product $first" >&2; exit 1; }

cat "$root/bench/wrk/also_bought.lua" "$root/bench/wrk/report.lua" >"$out/also_bought.lua"
run_wrk() {  # name url script → the RESULT line (full output in $out/wrk-name.txt)
  wrk -t2 -c64 -d"${secs}s" --latency -s "$3" "$2" >"$out/wrk-$1.txt"
  grep '^RESULT' "$out/wrk-$1.txt" || { echo "recommend.sh: no wrk result; see $out/wrk-$1.txt" >&2; exit 1; }
}
field() { echo " $1" | sed -E "s/.* $2=([0-9.]+).*/\1/"; }
echo "wrk GET /healthz …" >&2
r_health=$(run_wrk healthz "http://127.0.0.1:$http_port/healthz" "$root/bench/wrk/report.lua")
echo "wrk also-bought, warming pass …" >&2
r_warm=$(IDS_FILE="$out/ids.txt" run_wrk also-bought-warm "http://127.0.0.1:$http_port" "$out/also_bought.lua")
echo "wrk also-bought, measured pass …" >&2
r_also=$(IDS_FILE="$out/ids.txt" run_wrk also-bought "http://127.0.0.1:$http_port" "$out/also_bought.lua")
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
bad=$(( $(field "$r_also" errors) + $(field "$r_also" non2xx) + $(field "$r_warm" errors) + $(field "$r_warm" non2xx) ))
(( bad == 0 )) || failures=$(( failures + 1 ))

# --- results ------------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
check() { if (( $1 )); then echo yes; else echo no; fi; }
rebuild_s=$(awk -v ms="$rebuild_ms" 'BEGIN { printf "%.2f", ms / 1000 }')
sql_s=$(awk -v ms="$sql_ms" 'BEGIN { printf "%.2f", ms / 1000 }')
rc_s=$(awk -v a="$read_s" -v b="$count_s" 'BEGIN { printf "%.2f", a + b }')
speedup=$(ratio "$sql_ms" "$rebuild_ms")
speedup_rc=$(awk -v s="$sql_ms" -v a="$read_s" -v b="$count_s" 'BEGIN { printf "%.2f", s / (1000 * (a + b)) }')
hwm_mib=$(awk -v kb="$hwm_kb" 'BEGIN { printf "%.0f", kb / 1024 }')
p99=$(field "$r_also" p99_ms)
fmt1() { awk -v v="$1" 'BEGIN { printf "%.1f", v }'; }
fmt2() { awk -v v="$1" 'BEGIN { printf "%.2f", v }'; }
{
  echo "| figure | value | target | met? |"
  echo "|---|---|---|---|"
  echo "| full rebuild, $norders orders ($baskets paid/fulfilled baskets read in ranges of 100 000 order ids on 2 connections, $pairs pairs, $published products published) | **$rebuild_s s** wall, launch to exit (read $(fmt2 "$read_s") s, count $(fmt2 "$count_s") s, publish $(fmt2 "$publish_s") s) | — | — |"
  echo "| SQL self-join + GROUP BY, same pairs (work_mem $work_mem, max_parallel_workers_per_gather $parallel) | $sql_s s | reference | — |"
  echo "| rebuild speed vs SQL (SQL time ÷ rebuild time) | **${speedup}×** (read + count alone, $rc_s s: ${speedup_rc}×) | ≥ 5× | $(check "$(awk -v s="$speedup" 'BEGIN { print (s >= 5) }')") |"
  echo "| rebuild peak memory (VmHWM) | **$hwm_mib MiB** ($(awk -v kb="$hwm_kb" 'BEGIN { printf "%.0f%%", 100 * kb / 1048576 }') of 1 GiB) | < 1 GiB | $(check "$(( hwm_kb < 1048576 ))") |"
  echo "| GET /products/{id}/also-bought?limit=10, wrk -t2 -c64 ${secs}s, $nids products, after a warming pass | p50 $(fmt1 "$(field "$r_also" p50_ms)") ms, **p99 $(fmt1 "$p99") ms**, $(field "$r_also" rps) req/s, non-2xx $(field "$r_also" non2xx), socket errors $(field "$r_also" errors) | p99 < 5 ms, 0 non-2xx | $(check "$(awk -v p="$p99" -v b="$bad" 'BEGIN { print (p < 5 && b == 0) }')") |"
  echo "| same, warming pass (each product's first request computes its answer) | p50 $(fmt1 "$(field "$r_warm" p50_ms)") ms, p99 $(fmt1 "$(field "$r_warm" p99_ms)") ms, $(field "$r_warm" rps) req/s, non-2xx $(field "$r_warm" non2xx) | — | — |"
  echo "| GET /healthz, same wrk (the server's floor) | p50 $(fmt1 "$(field "$r_health" p50_ms)") ms, p99 $(fmt1 "$(field "$r_health" p99_ms)") ms, $(field "$r_health" rps) req/s | — | — |"
  echo "| SQL and rebuild agree (distinct pairs $sql_pairs vs $pairs; top-5 neighbours and counts of products ${sample_note[*]}) | $agree | equal | $(check "$([[ $agree == yes ]] && echo 1 || echo 0)") |"
  echo
  echo "Data: $norders orders seeded in $(secs_of "$seed_ms") s; by status: $statuses; $items order items, of which $(cut -d'|' -f1 <<<"$paid_items") in paid/fulfilled orders ($(cut -d'|' -f2 <<<"$paid_items") per basket); pair occurrences (sum of counts) $sql_sum."
} | tee "$out/results.md"
(( failures == 0 )) || { echo "recommend.sh: the SQL and the rebuild disagree, or also-bought answered non-2xx (see above)" >&2; exit 1; }
