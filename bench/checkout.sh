#!/usr/bin/env bash
# Checkout throughput (issue 6), measured in one run:
#   hot SKU: every order buys 1 unit of the same product, per INVENTORY_STRATEGY
#   ceiling: pgbench doing SELECT … FOR UPDATE; UPDATE stock = stock - 1; COMMIT on one row (scratch table)
#   uncontended: orders spread over 10 000 products (dual strategy)
# Each with wrk -t2 -c64 for SECONDS; afterwards `emporium inventory audit` must be clean and no
# stock negative (zero oversell). One `emporium serve` (2 I/O threads) on the bench stack.
# Usage: bench/checkout.sh BUILD_DIR [SECONDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: checkout.sh BUILD_DIR [SECONDS]}
secs=${2:-8}
bin="$root/$build/src/app/emporium"
out="$root/.local/bench/checkout"; mkdir -p "$out"
bash "$root/scripts/services.sh" start bench
eval "$(bash "$root/scripts/services.sh" env bench)"
pg_port=$EMPORIUM_TEST_PG_PORT
db="checkout_$(date +%s)"
psql_admin() { psql -h 127.0.0.1 -p "$pg_port" -U emporium -d postgres -qAtc "$1"; }
psql_db() { psql -h 127.0.0.1 -p "$pg_port" -U emporium -d "$db" -qAtc "$1"; }
psql_admin "CREATE DATABASE $db"
export DATABASE_URL="postgresql://emporium@127.0.0.1:$pg_port/$db" REDIS_URL="redis://127.0.0.1:$EMPORIUM_TEST_REDIS_PORT/0"
export MIGRATIONS_DIR="$root/migrations" LOG_LEVEL=warn RATE_LIMIT_ENABLED=false HTTP_THREADS=2 DB_POOL_SIZE=16
export JWT_SECRET="checkout-bench-secret-checkout-bench-secret" ARGON2_MEMLIMIT_BYTES=8192 ARGON2_OPSLIMIT=1
export RATE_LIMIT_KEY_PREFIX="bench:checkout:$db:" CACHE_KEY_PREFIX="bench:checkout:$db:"
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  wait 2>/dev/null || true
  psql_admin "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
}
trap cleanup EXIT

"$bin" migrate --env-file /nonexistent >/dev/null
"$bin" seed --env-file /nonexistent --products 10000 --users 1 --orders 0 --seed 7 >/dev/null
# Plenty of stock everywhere (with ledger rows, so the audit stays meaningful).
psql_db "WITH u AS (UPDATE products SET stock = stock + 10000000, is_active = true RETURNING id)
         INSERT INTO inventory_movements (product_id, delta, reason) SELECT id, 10000000, 'restock' FROM u"
hot=$(psql_db "SELECT min(id) FROM products")
ids=$(psql_db "SELECT string_agg(id::text, ',') FROM products")

start_server() {  # strategy
  INVENTORY_STRATEGY=$1 HTTP_PORT=18095 "$bin" serve --env-file /nonexistent >"$out/serve.out" 2>"$out/serve-$1.log" &
  pid=$!
  for _ in $(seq 1 100); do grep -q "listening on" "$out/serve.out" 2>/dev/null && return; sleep 0.1; done
  echo "server did not start" >&2; exit 1
}
stop_server() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }

start_server dual
curl -sf -H 'Content-Type: application/json' -d '{"email":"bench@example.com","password":"bench password 123","name":"Bench"}' \
  http://127.0.0.1:18095/api/v1/auth/register >/dev/null
token=$(curl -sf -H 'Content-Type: application/json' -d '{"email":"bench@example.com","password":"bench password 123"}' \
  http://127.0.0.1:18095/api/v1/auth/login | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
stop_server

run_wrk() {  # products
  # report.lua first: checkout.lua wraps its done() to add the per-status counts.
  cat "$root/bench/wrk/report.lua" "$root/bench/wrk/checkout.lua" > "$out/script.lua"
  TOKEN=$token PRODUCTS=$1 wrk -t2 -c64 -d"${secs}s" --latency -s "$out/script.lua" http://127.0.0.1:18095 \
    | awk '/^(RESULT|STATUS)/ {printf "%s ", $0} END {print ""}'
}
field() { echo " $1" | sed -E "s/.* $2=([0-9.]+).*/\1/"; }
row() {  # label wrk-output
  local ok; ok=$(field "$2" ok_rps)
  echo "| $1 | $ok orders/s ($(field "$2" rps) req/s) | p99 $(field "$2" p99_ms) ms | $(awk -v a="$ok" -v b="$ceiling" 'BEGIN{printf "%.0f%%", 100*a/b}') | 201: $(field "$2" c2xx), 409: $(field "$2" c409), 422: $(field "$2" c422), 5xx: $(field "$2" c5xx), socket errors: $(field "$2" errors) |"
}

echo "pgbench hot-row ceiling …" >&2
# One row of a scratch table: products rows now carry triggers (their stock is their variants' sum).
psql_db "CREATE TABLE bench_hot_row (id integer PRIMARY KEY, stock bigint NOT NULL); INSERT INTO bench_hot_row VALUES (1, 1000000000)"
cat > "$out/hot_row.sql" <<SQL
BEGIN;
SELECT stock FROM bench_hot_row WHERE id = 1 FOR UPDATE;
UPDATE bench_hot_row SET stock = stock - 1 WHERE id = 1;
COMMIT;
SQL
ceiling=$(pgbench -h 127.0.0.1 -p "$pg_port" -U emporium -n -M prepared -c 64 -j 2 -T "$secs" -f "$out/hot_row.sql" -r "$db" 2>/dev/null \
          | awk '/^tps/ {print int($3); exit}')

rows=()
for strategy in pessimistic dual optimistic redis; do
  echo "hot SKU, $strategy …" >&2
  start_server "$strategy"
  r=$(run_wrk "$hot")
  stop_server
  rows+=("$(row "hot SKU, \`$strategy\`" "$r")")
  eval "r_$strategy=\$(field \"\$r\" ok_rps)"
done
echo "uncontended, dual …" >&2
start_server dual
r=$(run_wrk "$ids")
stop_server
uncontended=$(row "spread over 10 000 products, \`dual\`" "$r")

audit="clean"; "$bin" inventory audit --env-file /nonexistent >/dev/null || audit="MISMATCH"
negative=$(psql_db "SELECT count(*) FROM products WHERE stock < 0")
orders=$(psql_db "SELECT count(*) FROM orders")
{
  echo "| scenario | successful orders (all requests) | latency | vs hot-row ceiling ($ceiling tx/s) | answers |"
  echo "|---|---|---|---|---|"
  for row in "${rows[@]}"; do echo "$row"; done
  echo "$uncontended"
  echo
  echo "redis / pessimistic = $(awk -v a="$r_redis" -v b="$r_pessimistic" 'BEGIN{printf "%.2f", a/b}')×; orders created: $orders; ledger audit: $audit; products with negative stock: $negative"
} | tee "$out/checkout.md"
