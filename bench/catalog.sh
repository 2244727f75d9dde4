#!/usr/bin/env bash
# Catalog read benchmarks (issue 17), each reference measured in the same run:
#   GET /products/{id} cached       vs nginx serving the same JSON body as a static file
#   GET /products/{id} uncached     vs pgbench -S -M prepared -c 64 (random rows)
#   sort=rank first page, with a category, page 20 through cursors (cache off)
#   search (typos included): relevance, sort=rank, with facets (cache off)
#   sort=rank first page, cached
# Usage: bench/catalog.sh BUILD_DIR [SECONDS=10] [PRODUCTS=100000]
# Needs the bench PostgreSQL/Redis (scripts/services.sh start bench); seeds database
# catalog_<PRODUCTS> once (users and orders in proportion). Load: wrk -t2 -c64 on loopback, bounded
# by SECONDS per scenario. Prints a Markdown table (also .local/bench/catalog/catalog_<N>.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: catalog.sh BUILD_DIR [SECONDS] [PRODUCTS]}
secs=${2:-10}
products=${3:-100000}
bin="$root/$build/src/app/emporium"
# PostgreSQL connections per server: on two cores shared by wrk, PostgreSQL and the server, 8
# backends keep the tail shorter than 16 or more (more backends, more switching, no more work).
pool_size=${BENCH_DB_POOL_SIZE:-8}
out="$root/.local/bench/catalog"; mkdir -p "$out/www"
bash "$root/scripts/services.sh" start bench
eval "$(bash "$root/scripts/services.sh" env bench)"
pg_port=$EMPORIUM_TEST_PG_PORT
redis_url="redis://127.0.0.1:$EMPORIUM_TEST_REDIS_PORT/0"
db="catalog_$products"
db_url="postgresql://emporium@127.0.0.1:$pg_port/$db"
psql_admin() { psql -h 127.0.0.1 -p "$pg_port" -U emporium -d postgres -Atc "$1"; }
psql_db() { psql -h 127.0.0.1 -p "$pg_port" -U emporium -d "$db" -Atc "$1"; }

if ! psql_admin "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1; then
  psql_admin "CREATE DATABASE $db" >/dev/null
  DATABASE_URL=$db_url MIGRATIONS_DIR="$root/migrations" LOG_LEVEL=warn "$bin" migrate >/dev/null
  started=$SECONDS
  DATABASE_URL=$db_url LOG_LEVEL=warn DB_QUERY_TIMEOUT_MS=3600000 "$bin" seed --products "$products" \
    --users $((products / 50)) --orders $((products / 2)) --seed 42 >&2
  echo "seeded $products products in $((SECONDS - started)) s" >&2
  psql_db "VACUUM ANALYZE" >/dev/null
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
      RATE_LIMIT_ENABLED=false CACHE_ENABLED="$3" CACHE_KEY_PREFIX="bench:$1:" DB_POOL_SIZE="$pool_size" \
      JWT_SECRET=bench-secret-bench-secret-bench-secret-0123 \
      "$bin" serve >"$out/$1.out" 2>"$out/$1.log" &
  pids+=($!)
  for _ in $(seq 1 600); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$2/readyz")" = 200 ] && return
    sleep 0.1
  done
  echo "server $1 did not become ready" >&2; cat "$out/$1.log" >&2; exit 1
}
start_server cached 18081 true
start_server uncached 18082 false
cached=http://127.0.0.1:18081
uncached=http://127.0.0.1:18082
api=/api/v1/products

# nginx serving the exact body of one product as a static file.
hot_id=$(psql_db "SELECT id FROM products WHERE is_active ORDER BY purchase_count DESC LIMIT 1")
curl -sf "$cached$api/$hot_id" > "$out/www/product.json"
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

# The URL lists the scenarios rotate through (bench/wrk/urls.lua picks one at random per request).
slugs=$(psql_db "SELECT slug FROM categories ORDER BY id")
: > "$out/category.urls"
for s in $slugs; do echo "$api?sort=rank&category=$s" >> "$out/category.urls"; done
# Page 20 of listings (no filter, and a few categories), reached through 19 cursors each.
: > "$out/page20.urls"
for base in "$api?sort=rank" $(for s in $(echo "$slugs" | head -n 12); do echo "$api?sort=rank&category=$s"; done); do
  url="$base"; ok=true
  for _ in $(seq 1 19); do
    next=$(curl -sf "$uncached$url" | jq -r '.next_cursor // empty') || { ok=false; break; }
    [ -n "$next" ] || { ok=false; break; }
    url="$base&cursor=$next"
  done
  $ok && echo "$url" >> "$out/page20.urls"
done
# Search: common and rare words of the seeded vocabulary, several words, typos.
words=$(psql_db "SELECT word FROM ts_stat('SELECT to_tsvector(''simple'', name) FROM products WHERE id % 50 = 0')
                 WHERE length(word) > 3 AND word !~ '[0-9]' ORDER BY ndoc DESC LIMIT 400" | awk 'NR <= 6 || NR % 40 == 0')
queries=()
for w in $words; do queries+=("$w"); done
set -- $words
queries+=("$1%20$2" "$3%20$5" "$1%20-$2")
for w in $(echo "$words" | head -n 6); do  # typos: a letter dropped, two swapped
  queries+=("${w:0:2}${w:3}" "${w:0:1}${w:2:1}${w:1:1}${w:3}")
done
: > "$out/search_relevance.urls"; : > "$out/search_rank.urls"; : > "$out/search_facets.urls"
for q in "${queries[@]}"; do
  echo "$api?q=$q&sort=relevance" >> "$out/search_relevance.urls"
  echo "$api?q=$q&sort=rank" >> "$out/search_rank.urls"
  echo "$api?q=$q&sort=relevance&facets=category,price" >> "$out/search_facets.urls"
done
max_id=$(psql_db "SELECT max(id) FROM products")

run_wrk() {  # base-url [urls-file]
  local script="$root/bench/wrk/report.lua"
  if [ -n "${2:-}" ]; then cat "$root/bench/wrk/urls.lua" "$root/bench/wrk/report.lua" > "$out/script.lua"; script="$out/script.lua"; fi
  URLS_FILE="${2:-}" MAX_ID="$max_id" wrk -t2 -c64 -d"${secs}s" --latency -s "$script" "$1" | awk '/^RESULT/ {print}'
}
run_random() {
  cat "$root/bench/wrk/random_product.lua" "$root/bench/wrk/report.lua" > "$out/script.lua"
  MAX_ID="$max_id" wrk -t2 -c64 -d"${secs}s" --latency -s "$out/script.lua" "$1" | awk '/^RESULT/ {print}'
}
field() { echo "$1" | sed -E "s/.* $2=([0-9.]+).*/\1/"; }
warm() { wrk -t2 -c16 -d2s "$1" >/dev/null 2>&1 || true; }
warm "$cached$api/$hot_id"
warm "$cached$api?sort=rank"

echo "nginx static …" >&2;       r_nginx=$(run_wrk "http://127.0.0.1:18090/product.json")
echo "cached product …" >&2;     r_cached=$(run_wrk "$cached$api/$hot_id")
echo "pgbench -S …" >&2
tps=$(pgbench -h 127.0.0.1 -p "$pg_port" -U emporium -S -M prepared -c 64 -j 2 -T "$secs" pgbench 2>/dev/null | awk '/^tps/ {print int($3); exit}')
echo "uncached product …" >&2;   r_uncached=$(run_random "$uncached")
echo "rank page cached …" >&2;   r_rank_c=$(run_wrk "$cached$api?sort=rank")
echo "rank page …" >&2;          r_rank=$(run_wrk "$uncached$api?sort=rank")
echo "rank by category …" >&2;   r_cat=$(run_wrk "$uncached" "$out/category.urls")
echo "rank page 20 …" >&2;       r_p20=$(run_wrk "$uncached" "$out/page20.urls")
echo "search relevance …" >&2;   r_rel=$(run_wrk "$uncached" "$out/search_relevance.urls")
echo "search rank …" >&2;        r_srank=$(run_wrk "$uncached" "$out/search_rank.urls")
echo "search facets …" >&2;      r_facets=$(run_wrk "$uncached" "$out/search_facets.urls")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f%%", 100*a/b; else print "n/a" }'; }
errors() { [ "$(field "$1" errors)" = 0 ] && [ "$(field "$1" non2xx)" = 0 ] && echo "none" || echo "**errors $(field "$1" errors), non-2xx $(field "$1" non2xx)**"; }
row() {  # title result target
  echo "| $1 | $(field "$2" rps) | $(field "$2" p50_ms) | $(field "$2" p99_ms) | $(errors "$2") | $3 |"
}
n_fmt=$(printf "%'d" "$products" 2>/dev/null || echo "$products")
cat <<T | tee "$out/catalog_$products.md"
Catalog at $n_fmt products (\`bench/catalog.sh $build $secs $products\`; wrk -t2 -c64, ${secs} s per scenario):

| scenario | req/s | p50 ms | p99 ms | errors | target |
|---|---|---|---|---|---|
$(row "nginx: the product JSON as a static file (reference)" "$r_nginx" "—")
$(row "GET /products/{id}, cached ($(ratio "$(field "$r_cached" rps)" "$(field "$r_nginx" rps)") of nginx)" "$r_cached" "≥ 80% of nginx")
| pgbench -S -M prepared -c 64 (reference) | $tps | | | | — |
$(row "GET /products/{id}, uncached, random ($(ratio "$(field "$r_uncached" rps)" "$tps") of pgbench)" "$r_uncached" "≥ 70% of pgbench")
$(row "sort=rank first page, cached" "$r_rank_c" "p99 < 5 ms")
$(row "sort=rank first page" "$r_rank" "p99 < 25 ms, ≥ 1 500 req/s")
$(row "sort=rank with a category ($(wc -l < "$out/category.urls") categories)" "$r_cat" "p99 < 25 ms")
$(row "sort=rank page 20 through cursors ($(wc -l < "$out/page20.urls") listings)" "$r_p20" "p99 < 25 ms")
$(row "search, relevance (${#queries[@]} queries incl. typos)" "$r_rel" "p99 < 30 ms")
$(row "search, sort=rank" "$r_srank" "p99 < 50 ms")
$(row "search, relevance + facets=category,price" "$r_facets" "p99 < 60 ms")
T
