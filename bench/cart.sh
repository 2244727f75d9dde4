#!/usr/bin/env bash
# Carts with stock holds (issue 19), measured in one run:
#   ceiling: pgbench doing SELECT … FOR UPDATE; UPDATE … = … - 1; COMMIT on one row of a scratch table
#   holds:   PUT /carts/{id}/lines/{hot variant} on 4 000 guest carts, each request moving its line
#            between 1 and 2 units (every request changes the hot variant's held units), per strategy
#   checkout: POST /carts/{id}/checkout of carts that already hold 1 unit of the hot variant, each cart
#            once, per strategy
# Each with wrk -t2 -c64 for SECONDS (the holds after a 2 s warm-up); afterwards `emporium inventory audit` must be clean (it checks
# held against the cart lines too) and no variant may hold more than its stock. One `emporium serve`
# (2 I/O threads) on the bench stack.
# Usage: bench/cart.sh BUILD_DIR [SECONDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: cart.sh BUILD_DIR [SECONDS]}
secs=${2:-8}
bin="$root/$build/src/app/emporium"
out="$root/.local/bench/cart"; mkdir -p "$out"
bash "$root/scripts/services.sh" start bench
eval "$(bash "$root/scripts/services.sh" env bench)"
pg_port=$EMPORIUM_TEST_PG_PORT
db="cart_$(date +%s)"
psql_admin() { psql -h 127.0.0.1 -p "$pg_port" -U emporium -d postgres -qAtc "$1"; }
psql_db() { psql -h 127.0.0.1 -p "$pg_port" -U emporium -d "$db" -qAtc "$1"; }
psql_admin "CREATE DATABASE $db"
export DATABASE_URL="postgresql://emporium@127.0.0.1:$pg_port/$db" REDIS_URL="redis://127.0.0.1:$EMPORIUM_TEST_REDIS_PORT/0"
export MIGRATIONS_DIR="$root/migrations" LOG_LEVEL=warn RATE_LIMIT_ENABLED=false HTTP_THREADS=2 DB_POOL_SIZE=16
export JWT_SECRET="cart-bench-secret-cart-bench-secret-cart" ARGON2_MEMLIMIT_BYTES=8192 ARGON2_OPSLIMIT=1
export RATE_LIMIT_KEY_PREFIX="bench:cart:$db:" CACHE_KEY_PREFIX="bench:cart:$db:"
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  wait 2>/dev/null || true
  psql_admin "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
}
trap cleanup EXIT

"$bin" migrate --env-file /nonexistent >/dev/null
"$bin" seed --env-file /nonexistent --products 10000 --users 1 --orders 0 --seed 7 >/dev/null
hot=$(psql_db "SELECT min(id) FROM products")
psql_db "UPDATE products SET stock = stock + 10000000, is_active = true WHERE id = $hot"
psql_db "INSERT INTO inventory_movements (product_id, delta, reason) VALUES ($hot, 10000000, 'restock')"
variant=$(psql_db "SELECT id FROM product_variants WHERE product_id = $hot AND is_default")
price=$(psql_db "SELECT price_cents FROM products WHERE id = $hot")
hold_carts=4000
checkout_carts=12000  # per strategy: more than a run can check out
# Guest carts made in SQL: cart i's token is bench-cart-i. The hold carts first, then one slice of
# checkout carts per strategy, each holding 1 unit of the hot variant.
psql_db "INSERT INTO carts (id, token_hash, expires_at)
         SELECT g, sha256(('bench-cart-' || g)::bytea), now() + interval '1 day'
         FROM generate_series(1, $hold_carts + 4 * $checkout_carts) g;
         SELECT setval(pg_get_serial_sequence('carts', 'id'), $hold_carts + 4 * $checkout_carts);
         INSERT INTO cart_lines (cart_id, variant_id, product_id, quantity, quoted_price_cents, held, hold_started_at,
                                 hold_expires_at)
         SELECT g, $variant, $hot, 1, $price, 1, now(), now() + interval '1 day'
         FROM generate_series($hold_carts + 1, $hold_carts + 4 * $checkout_carts) g;
         UPDATE product_variants SET held = held + 4 * $checkout_carts WHERE id = $variant;" >/dev/null

# Statistics and the visibility map of the tables just filled, so that autovacuum does not start on
# them during the first strategy's run.
for table in carts cart_lines product_variants; do psql_db "VACUUM ANALYZE $table" >/dev/null; done

start_server() {  # strategy
  INVENTORY_STRATEGY=$1 HTTP_PORT=18096 "$bin" serve --env-file /nonexistent >"$out/serve.out" 2>"$out/serve-$1.log" &
  pid=$!
  for _ in $(seq 1 100); do grep -q "listening on" "$out/serve.out" 2>/dev/null && return; sleep 0.1; done
  echo "server did not start" >&2; exit 1
}
stop_server() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }

start_server dual
curl -sf -H 'Content-Type: application/json' -d '{"email":"bench@example.com","password":"bench password 123","name":"Bench"}' \
  http://127.0.0.1:18096/api/v1/auth/register >/dev/null
token=$(curl -sf -H 'Content-Type: application/json' -d '{"email":"bench@example.com","password":"bench password 123"}' \
  http://127.0.0.1:18096/api/v1/auth/login | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
stop_server

run_wrk() {  # script cart_first carts [seconds]
  cat "$root/bench/wrk/report.lua" "$root/bench/wrk/$1" > "$out/script.lua"
  TOKEN=$token CART_FIRST=$2 CARTS=$3 VARIANT=$variant TOKEN_PREFIX=bench-cart- THREADS=2 \
    wrk -t2 -c64 -d"${4:-$secs}s" --latency -s "$out/script.lua" http://127.0.0.1:18096 \
    | awk '/^(RESULT|STATUS)/ {printf "%s ", $0} END {print ""}'
}
field() { echo " $1" | sed -E "s/.* $2=([0-9.]+).*/\1/"; }
row() {  # label unit wrk-output
  local ok; ok=$(field "$3" ok_rps)
  echo "| $1 | $ok $2/s ($(field "$3" rps) req/s) | p99 $(field "$3" p99_ms) ms | $(awk -v a="$ok" -v b="$ceiling" 'BEGIN{printf "%.0f%%", 100*a/b}') | 2xx: $(field "$3" c2xx), 409: $(field "$3" c409), 422: $(field "$3" c422), 5xx: $(field "$3" c5xx), socket errors: $(field "$3" errors) |"
}

echo "pgbench hot-row ceiling …" >&2
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
slice=0
for strategy in pessimistic dual optimistic redis; do
  echo "holds and cart checkouts, $strategy …" >&2
  start_server "$strategy"
  run_wrk cart_hold.lua 1 "$hold_carts" 2 >/dev/null  # warm-up, not measured: a fresh server's pool
  r=$(run_wrk cart_hold.lua 1 "$hold_carts")
  rows+=("$(row "holds on one hot variant, \`$strategy\`" holds "$r")")
  if [ "$strategy" = redis ]; then  # the mean size of the line-write groups (warm-up included)
    group_size=$(curl -sf http://127.0.0.1:18096/metrics | awk '
      /^emporium_group_commit_groups_total\{queue="cart_lines"\}/ {g = $2}
      /^emporium_group_commit_requests_total\{queue="cart_lines"\}/ {n = $2}
      END {if (g > 0) printf "%.1f", n / g; else print "?"}')
  fi
  eval "h_$strategy=\$(field \"\$r\" ok_rps)"
  r=$(run_wrk cart_checkout.lua $((hold_carts + 1 + slice * checkout_carts)) "$checkout_carts")
  rows+=("$(row "cart checkouts of held units, \`$strategy\`" checkouts "$r")")
  stop_server
  slice=$((slice + 1))
done

audit="clean"; "$bin" inventory audit --env-file /nonexistent >/dev/null || audit="MISMATCH"
over=$(psql_db "SELECT count(*) FROM product_variants WHERE held > stock OR stock < 0")
orders=$(psql_db "SELECT count(*) FROM orders")
{
  echo "| scenario | successful requests (all requests) | latency | vs hot-row ceiling ($ceiling tx/s) | answers |"
  echo "|---|---|---|---|---|"
  for row in "${rows[@]}"; do echo "$row"; done
  echo
  echo "holds: redis / pessimistic = $(awk -v a="$h_redis" -v b="$h_pessimistic" 'BEGIN{printf "%.2f", a/b}')× (redis line writes per group: ${group_size:-?}); orders created from carts: $orders; ledger audit (stock, totals, held): $audit; variants holding more than their stock or below zero: $over"
} | tee "$out/cart.md"
