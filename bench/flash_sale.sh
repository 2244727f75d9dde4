#!/usr/bin/env bash
# Flash sale: THREE `emporium serve` processes on one fresh database and one Redis; BUYERS checkout
# requests (PARALLEL at a time, each with its own Idempotency-Key) race for STOCK units of one
# product. Prints requests/s and the outcome counts, checks that exactly STOCK orders succeeded,
# that nothing answered 5xx, and runs `emporium inventory audit`.
# Usage: bench/flash_sale.sh BUILD_DIR [STRATEGY=dual] [BUYERS=2000] [STOCK=100] [PARALLEL=64] [PROFILE=test]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: flash_sale.sh BUILD_DIR [STRATEGY] [BUYERS] [STOCK] [PARALLEL] [PROFILE]}
strategy=${2:-dual}
buyers=${3:-2000}
stock=${4:-100}
parallel=${5:-64}
profile=${6:-test}
bin="$root/$build/src/app/emporium"
# Servers already described by the environment (EMPORIUM_TEST_DATABASE_URL / _REDIS_URL) are used
# as they are; otherwise scripts/services.sh starts the PROFILE's.
if [[ -z ${EMPORIUM_TEST_DATABASE_URL:-} || -z ${EMPORIUM_TEST_REDIS_URL:-} ]]; then
  bash "$root/scripts/services.sh" start "$profile"
  eval "$(bash "$root/scripts/services.sh" env "$profile")"
fi
admin_url=$EMPORIUM_TEST_DATABASE_URL
db="flash_$(date +%s)_$$"
psql "$admin_url" -qc "CREATE DATABASE $db"
db_url="${admin_url%/*}/$db"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
  rm -rf "$work"
}
trap cleanup EXIT

export DATABASE_URL=$db_url REDIS_URL=$EMPORIUM_TEST_REDIS_URL MIGRATIONS_DIR="$root/migrations" LOG_LEVEL=warn
export JWT_SECRET="flash-sale-bench-secret-flash-sale-bench-0" RATE_LIMIT_ENABLED=false
export RATE_LIMIT_KEY_PREFIX="bench:flash:$db:" INVENTORY_STRATEGY=$strategy HTTP_PORT=0 HTTP_THREADS=2 DB_POOL_SIZE=8
export ARGON2_MEMLIMIT_BYTES=8192 ARGON2_OPSLIMIT=1
"$bin" migrate --env-file /nonexistent >/dev/null
EMPORIUM_ADMIN_PASSWORD="flash sale admin password" "$bin" create-admin --email admin@example.com --env-file /nonexistent >/dev/null

ports=()
for i in 0 1 2; do
  "$bin" serve --env-file /nonexistent >"$work/serve$i.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    port=$(sed -nE 's/.*listening on http:\/\/127.0.0.1:([0-9]+).*/\1/p' "$work/serve$i.log" | head -1)
    [[ -n $port ]] && break
    sleep 0.1
  done
  ports+=("$port")
done
base="http://127.0.0.1:${ports[0]}/api/v1"
json='Content-Type: application/json'
token() {  # email password → access token (registers the user first when asked)
  curl -sf -H "$json" -d "{\"email\":\"$1\",\"password\":\"$2\"}" "$base/auth/login" | jq -r .access_token
}
admin=$(token admin@example.com "flash sale admin password")
product=$(curl -sf -H "$json" -H "Authorization: Bearer $admin" \
  -d "{\"sku\":\"flash\",\"name\":\"Flash sale item\",\"price_cents\":999,\"stock\":$stock}" "$base/products" | jq .id)
curl -sf -H "$json" -d '{"email":"buyer@example.com","password":"correct horse battery","name":"B"}' \
  "$base/auth/register" >/dev/null
buyer=$(token buyer@example.com "correct horse battery")
body="{\"items\":[{\"product_id\":$product,\"quantity\":1}],\"shipping_address\":{\"city\":\"Oslo\"}}"

echo "flash sale: strategy=$strategy buyers=$buyers stock=$stock parallel=$parallel servers=${ports[*]}" >&2
start=$(date +%s.%N)
seq "$buyers" | xargs -P "$parallel" -I{} sh -c \
  'port=$(echo "$2" | cut -d" " -f$(( $1 % 3 + 1 ))); curl -s -o /dev/null -w "%{http_code}\n" \
     -H "Content-Type: application/json" -H "Authorization: Bearer $3" -H "Idempotency-Key: k$1" \
     -d "$4" "http://127.0.0.1:$port/api/v1/orders"' _ {} "${ports[*]}" "$buyer" "$body" >"$work/codes"
end=$(date +%s.%N)
created=$(grep -c '^201$' "$work/codes" || true)
conflict=$(grep -c '^409$' "$work/codes" || true)
errors=$(grep -c '^5' "$work/codes" || true)
rps=$(echo "$buyers / ($end - $start)" | bc -l | xargs printf '%.0f')
audit=0; "$bin" inventory audit --env-file /nonexistent >/dev/null || audit=$?
echo "| strategy | requests | req/s | 201 | 409 | 5xx | audit |"
echo "|---|---|---|---|---|---|---|"
echo "| $strategy | $buyers | $rps | $created | $conflict | $errors | $([[ $audit == 0 ]] && echo clean || echo MISMATCH) |"
[[ $created == "$stock" && $errors == 0 && $audit == 0 ]]
