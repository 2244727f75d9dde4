#!/usr/bin/env bash
# Catalog read benchmarks (issue 5), each with its reference measured in the same run:
#   GET /products/{id} cached     vs nginx serving the same JSON body as a static file
#   GET /products/{id} uncached   vs pgbench -S -M prepared (same 64 clients)
#   GET /products?sort=rank       p99 cached / uncached
#   GET /products?q=…             p99 (uncached: every request searches 100k products)
# Usage: bench/catalog.sh BUILD_DIR [SECONDS]
# Needs the bench PostgreSQL/Redis (scripts/services.sh start bench); seeds database `catalog`
# with 100k products once. Load: wrk -t2 -c64 on loopback, bounded by SECONDS per scenario.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: catalog.sh BUILD_DIR [SECONDS]}
secs=${2:-10}
bin="$root/$build/src/app/emporium"
out="$root/.local/bench/catalog"; mkdir -p "$out/www"
bash "$root/scripts/services.sh" start bench
eval "$(bash "$root/scripts/services.sh" env bench)"
pg_port=$EMPORIUM_TEST_PG_PORT
redis_url="redis://127.0.0.1:$EMPORIUM_TEST_REDIS_PORT/0"
db_url="postgresql://emporium@127.0.0.1:$pg_port/catalog"
psql_admin() { psql -h 127.0.0.1 -p "$pg_port" -U emporium -d postgres -Atc "$1"; }

if ! psql_admin "SELECT 1 FROM pg_database WHERE datname='catalog'" | grep -q 1; then
  psql_admin "CREATE DATABASE catalog" >/dev/null
  DATABASE_URL=$db_url MIGRATIONS_DIR="$root/migrations" LOG_LEVEL=warn "$bin" migrate >/dev/null
  DATABASE_URL=$db_url LOG_LEVEL=warn DB_QUERY_TIMEOUT_MS=3600000 "$bin" seed --products 100000 --users 10000 --orders 300000 --seed 42
  psql -h 127.0.0.1 -p "$pg_port" -U emporium -d catalog -qc "VACUUM ANALYZE"
fi
if ! psql_admin "SELECT 1 FROM pg_database WHERE datname='pgbench'" | grep -q 1; then
  psql_admin "CREATE DATABASE pgbench" >/dev/null
  pgbench -h 127.0.0.1 -p "$pg_port" -U emporium -i -s 10 -q pgbench >/dev/null 2>&1
fi

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$out/nginx.pid" ] && kill "$(cat "$out/nginx.pid")" 2>/dev/null || true
  redis-cli -u "$redis_url" --scan --pattern 'bench:*' | xargs -r redis-cli -u "$redis_url" DEL >/dev/null 2>&1 || true
}
trap cleanup EXIT

start_server() {  # name port cache_enabled
  env DATABASE_URL="$db_url" REDIS_URL="$redis_url" HTTP_PORT="$2" HTTP_THREADS=2 LOG_LEVEL=warn \
      RATE_LIMIT_ENABLED=false CACHE_ENABLED="$3" CACHE_KEY_PREFIX="bench:$1:" DB_POOL_SIZE=16 \
      JWT_SECRET=bench-secret-bench-secret-bench-secret-0123 \
      "$bin" serve >"$out/$1.out" 2>"$out/$1.log" &
  pids+=($!)
  for _ in $(seq 1 100); do grep -q "listening on" "$out/$1.out" 2>/dev/null && return; sleep 0.1; done
  echo "server $1 did not start" >&2; cat "$out/$1.log" >&2; exit 1
}
start_server cached 18081 true
start_server uncached 18082 false

# nginx serving the exact body of one product as a static file.
hot_id=$(psql -h 127.0.0.1 -p "$pg_port" -U emporium -d catalog -Atc "SELECT id FROM products WHERE is_active ORDER BY purchase_count DESC LIMIT 1")
curl -sf "http://127.0.0.1:18081/api/v1/products/$hot_id" > "$out/www/product.json"
cat > "$out/nginx.conf" <<NGINX
worker_processes 2;
pid $out/nginx.pid;
error_log $out/nginx.err warn;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  types { application/json json; }
  server {
    listen 127.0.0.1:18090;
    root $out/www;
  }
}
NGINX
nginx -c "$out/nginx.conf"

run_wrk() {  # url [lua]
  local script="$root/bench/wrk/report.lua"
  if [ -n "${2:-}" ]; then cat "$root/bench/wrk/$2" "$root/bench/wrk/report.lua" > "$out/script.lua"; script="$out/script.lua"; fi
  wrk -t2 -c64 -d"${secs}s" --latency -s "$script" "$1" | awk '/^RESULT/ {print}'
}
field() { echo "$1" | sed -E "s/.* $2=([0-9.]+).*/\1/"; }

warm() { wrk -t2 -c16 -d2s "$1" >/dev/null 2>&1 || true; }
warm "http://127.0.0.1:18081/api/v1/products/$hot_id"
warm "http://127.0.0.1:18081/api/v1/products?sort=rank"

echo "nginx static …" >&2;            r_nginx=$(run_wrk "http://127.0.0.1:18090/product.json")
echo "cached product …" >&2;          r_cached=$(run_wrk "http://127.0.0.1:18081/api/v1/products/$hot_id")
echo "pgbench -S …" >&2
tps=$(pgbench -h 127.0.0.1 -p "$pg_port" -U emporium -S -M prepared -c 64 -j 2 -T "$secs" pgbench 2>/dev/null | awk '/^tps/ {print int($3); exit}')
echo "uncached product …" >&2;        r_uncached=$(run_wrk "http://127.0.0.1:18082" random_product.lua)
echo "ranking cached …" >&2;          r_rank_c=$(run_wrk "http://127.0.0.1:18081/api/v1/products?sort=rank")
echo "ranking uncached …" >&2;        r_rank_u=$(run_wrk "http://127.0.0.1:18082/api/v1/products?sort=rank")
echo "search uncached …" >&2;         r_search=$(run_wrk "http://127.0.0.1:18082" search.lua)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f%%", 100*a/b; else print "n/a" }'; }
check_errors() { [ "$(field "$1" errors)" = 0 ] && [ "$(field "$1" non2xx)" = 0 ] || echo " (errors: $1)"; }
cat <<T | tee "$out/catalog.md"
| scenario | Emporium | reference | ratio / p99 | target |
|---|---|---|---|---|
| GET /products/{id}, cached | $(field "$r_cached" rps) req/s, p99 $(field "$r_cached" p99_ms) ms$(check_errors "$r_cached") | nginx static file: $(field "$r_nginx" rps) req/s | $(ratio "$(field "$r_cached" rps)" "$(field "$r_nginx" rps)") | ≥ 50% |
| GET /products/{id}, uncached (random of 100k) | $(field "$r_uncached" rps) req/s, p99 $(field "$r_uncached" p99_ms) ms$(check_errors "$r_uncached") | pgbench -S -M prepared -c 64: $tps tps | $(ratio "$(field "$r_uncached" rps)" "$tps") | ≥ 70% |
| GET /products?sort=rank, first page, cached | $(field "$r_rank_c" rps) req/s$(check_errors "$r_rank_c") | — | p99 $(field "$r_rank_c" p99_ms) ms | p99 < 10 ms |
| GET /products?sort=rank, first page, uncached | $(field "$r_rank_u" rps) req/s$(check_errors "$r_rank_u") | — | p99 $(field "$r_rank_u" p99_ms) ms | p99 < 150 ms |
| GET /products?q=… (18 queries incl. typos), uncached | $(field "$r_search" rps) req/s$(check_errors "$r_search") | — | p99 $(field "$r_search" p99_ms) ms | p99 < 30 ms |
T
