#!/usr/bin/env bash
# The scale curve (issue 21): 1, 2 and 3 `emporium serve` processes behind one nginx, on two
# stacks, for two loads, each point measured in the same run:
#   single:  the bench profile of scripts/services.sh (one PostgreSQL, one Redis)
#   cluster: the cluster profile (PostgreSQL primary + 2 streaming replicas, a 3-master Redis
#            Cluster with 3 replicas, 3 Redlock masters)
#   reads:    the catalog read mix, cache off (so the database tier, and the replicas, do the work):
#             product details at random, ranked listings per category, searches;
#   checkout: POST /orders spread over 10 000 products (INVENTORY_STRATEGY=dual: Redlock + FOR UPDATE).
# Every point also reports where the CPU went (cores used per component while wrk ran, from
# /proc; the load generator's own share included), which names its bottleneck; `nginx static` is the proxy's own ceiling on this machine
# (a file served by the same nginx). Each API process has HTTP_THREADS=1 and DB_POOL_SIZE=8.
# Loopback only; wrk -t2 -c64 for SECONDS per point (about 3 minutes in all with 5 s).
# Usage: bench/scale.sh BUILD_DIR [SECONDS=5]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: scale.sh BUILD_DIR [SECONDS]}
secs=${2:-5}
bin="$root/$build/src/app/emporium"
out="$root/.local/bench/scale"; mkdir -p "$out/www"
hz=$(getconf CLK_TCK)
db="scale_$(date +%s)"
api_ports=(18101 18102 18103)
proxy_port=18100

pids=()
nginx_pid=""
stacks_started=()
stop_servers() {
  for p in ${pids[@]+"${pids[@]}"}; do kill "$p" 2>/dev/null || true; done
  for p in ${pids[@]+"${pids[@]}"}; do wait "$p" 2>/dev/null || true; done
  pids=()
  if [ -n "$nginx_pid" ]; then kill "$nginx_pid" 2>/dev/null || true; nginx_pid=""; fi
}
cleanup() {
  stop_servers
  for url in ${drop_urls[@]+"${drop_urls[@]}"}; do
    psql "$url" -qAtc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
  for s in ${stacks_started[@]+"${stacks_started[@]}"}; do bash "$root/scripts/services.sh" stop "$s" >/dev/null 2>&1 || true; done
}
drop_urls=()
trap cleanup EXIT

# CPU ticks used so far by each component (by process name), as "api pg redis nginx wrk".
cpu_ticks() {
  awk '{
    name = $2; gsub(/[()]/, "", name);
    t = $14 + $15;
    if (name == "emporium") a += t; else if (name ~ /^postgres/) p += t;
    else if (name == "redis-server") r += t; else if (name == "nginx") n += t; else if (name == "wrk") w += t;
  } END { printf "%d %d %d %d %d\n", a, p, r, n, w }' /proc/[0-9]*/stat 2>/dev/null
}

# The stack's variables: DATABASE_URL (a database of this run), REDIS_URL, and for the cluster
# REDIS_LOCK_URLS and DATABASE_REPLICA_URLS.
stack_env=()
use_stack() {  # single|cluster
  local profile admin
  profile=$([ "$1" = single ] && echo bench || echo cluster)
  bash "$root/scripts/services.sh" status "$profile" >/dev/null 2>&1 || stacks_started+=("$profile")
  bash "$root/scripts/services.sh" start "$profile" >&2
  if [ "$1" = single ]; then
    eval "$(bash "$root/scripts/services.sh" env bench)"
    admin=$EMPORIUM_TEST_DATABASE_URL
    stack_env=(REDIS_URL="redis://127.0.0.1:$EMPORIUM_TEST_REDIS_PORT/0")
  else
    eval "$(bash "$root/scripts/services.sh" env cluster | grep '^export EMPORIUM_CLUSTER_')"
    admin=$EMPORIUM_CLUSTER_DATABASE_URL
    local replicas="" r
    IFS=, read -ra r <<<"$EMPORIUM_CLUSTER_REPLICA_URLS"
    for u in "${r[@]}"; do replicas+="${replicas:+,}${u%/*}/$db"; done
    stack_env=(REDIS_URL="$EMPORIUM_CLUSTER_REDIS_URL" REDIS_LOCK_URLS="$EMPORIUM_CLUSTER_REDIS_LOCK_URLS"
               DATABASE_REPLICA_URLS="$replicas")
  fi
  db_url="${admin%/*}/$db"
  drop_urls+=("$admin")
  psql "$admin" -qAtc "CREATE DATABASE $db" >/dev/null
  env DATABASE_URL="$db_url" MIGRATIONS_DIR="$root/migrations" LOG_LEVEL=warn "$bin" migrate >/dev/null
  env DATABASE_URL="$db_url" LOG_LEVEL=warn DB_QUERY_TIMEOUT_MS=600000 "$bin" seed --products 10000 --users 50 \
    --orders 5000 --seed 42 >/dev/null
  psql "$db_url" -qAtc "WITH u AS (UPDATE products SET stock = stock + 10000000, is_active = true RETURNING id)
    INSERT INTO inventory_movements (product_id, delta, reason) SELECT id, 10000000, 'restock' FROM u" >/dev/null
  psql "$db_url" -qAtc "VACUUM ANALYZE" >/dev/null
  stack_env+=(DATABASE_URL="$db_url")
}

start_servers() {  # N strategy
  local n=$1 i
  for ((i = 0; i < n; i++)); do
    env "${stack_env[@]}" HTTP_PORT="${api_ports[$i]}" HTTP_THREADS=1 DB_POOL_SIZE=8 LOG_LEVEL=warn \
        RATE_LIMIT_ENABLED=false CACHE_ENABLED=false INVENTORY_STRATEGY="$2" \
        RATE_LIMIT_KEY_PREFIX="bench:scale:$db:" CACHE_KEY_PREFIX="bench:scale:$db:" \
        JWT_SECRET=scale-bench-secret-scale-bench-secret-0123 ARGON2_MEMLIMIT_BYTES=8192 ARGON2_OPSLIMIT=1 \
        "$bin" serve --env-file /nonexistent >"$out/api$i.out" 2>"$out/api$i.log" &
    pids+=($!)
  done
  for ((i = 0; i < n; i++)); do
    local ok=false
    for _ in $(seq 1 300); do
      [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${api_ports[$i]}/readyz")" = 200 ] && { ok=true; break; }
      sleep 0.1
    done
    $ok || { echo "API process $i did not become ready" >&2; cat "$out/api$i.log" >&2; exit 1; }
  done
  local servers=""
  for ((i = 0; i < n; i++)); do servers+="    server 127.0.0.1:${api_ports[$i]};"$'\n'; done
  cat > "$out/nginx.conf" <<NGINX
worker_processes 1;
pid $out/nginx.pid;
error_log $out/nginx.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  types { application/json json; }
  upstream api {
    least_conn;
$servers    keepalive 64;
    keepalive_requests 100000;
  }
  server {
    listen 127.0.0.1:$proxy_port;
    location /static/ { root $out/www; }
    location / {
      proxy_pass http://api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
    }
  }
}
NGINX
  nginx -c "$out/nginx.conf"
  for _ in $(seq 1 50); do [ -s "$out/nginx.pid" ] && break; sleep 0.1; done
  nginx_pid=$(cat "$out/nginx.pid")
}

field() { echo " $1" | sed -E "s/.* $2=([0-9.]+).*/\1/"; }

# Runs wrk through nginx with SCRIPT (and its environment), prints "rps p99 ok_rps cpu…".
measure() {  # script [VAR=value…]
  local script=$1; shift
  local before after r
  before=$(cpu_ticks)
  # wrk has exited by the second snapshot: its ticks are those this subshell's children used
  # (cutime + cstime of /proc/self/stat once wrk is reaped).
  r=$({
    env "$@" wrk -t2 -c64 -d"${secs}s" --latency -s "$script" "http://127.0.0.1:$proxy_port" \
      | awk '/^(RESULT|STATUS)/ {printf "%s ", $0}'
    awk '{printf "WRK ticks=%d", $16 + $17}' "/proc/$BASHPID/stat"
  })
  after=$(cpu_ticks)
  local cpu
  cpu=$(paste <(echo "$before" | tr ' ' '\n') <(echo "$after" | tr ' ' '\n') \
        | awk -v hz="$hz" -v s="$secs" -v w="$(field "$r" ticks)" \
            '{printf "%.2f ", (NR == 5 ? w : $2 - $1) / hz / s}')
  echo "$r CPU $cpu"
}

# The component using the most CPU, and whether the machine's cores were all busy.
bottleneck() {  # "api pg redis nginx wrk" cores
  echo "$1" | awk -v cores="$(nproc)" '{
    split("API processes,PostgreSQL,Redis,nginx,wrk (the load generator)", names, ",");
    best = 1; total = 0;
    for (i = 1; i <= 5; i++) { total += $i; if ($i > $best) best = i }
    share = total > 0 ? 100 * $best / total : 0;
    printf "%s (%.0f%% of the CPU used)%s", names[best], share, (total >= 0.9 * cores ? "; all cores busy" : "");
  }'
}

# The share of replica-eligible statements that the replicas ran, over the first N API processes
# (their /metrics: emporium_db_replica_reads_total against …_routed_to_primary_total).
replica_share=()
replica_share() {  # N
  local i text replica=0 primary=0
  for ((i = 0; i < $1; i++)); do
    text=$(curl -sf "http://127.0.0.1:${api_ports[$i]}/metrics")
    replica=$(awk -v t="$replica" '/^emporium_db_replica_reads_total/ {t += $NF} END {print t}' <<<"$text")
    primary=$(awk -v t="$primary" '/^emporium_db_replica_routed_to_primary_total/ {t += $NF} END {print t}' <<<"$text")
  done
  awk -v r="$replica" -v p="$primary" 'BEGIN { if (r + p > 0) printf "%.0f%%", 100 * r / (r + p); else print "-" }'
}

rows=()
point() {  # stack processes load result
  local r=$4 cpu rps p99
  cpu=$(echo "$r" | sed -E 's/.*CPU //')
  if [ "$3" = checkout ]; then rps=$(field "$r" ok_rps); else rps=$(field "$r" rps); fi
  p99=$(field "$r" p99_ms)
  local errors
  if [ "$3" = checkout ]; then errors=$(( $(field "$r" errors) + $(field "$r" c5xx) )); else errors=$(( $(field "$r" errors) + $(field "$r" non2xx) )); fi
  read -r c_api c_pg c_redis c_nginx c_wrk <<<"$cpu"
  rows+=("| $1 | $2 | $3 | $rps | $p99 | $errors | $c_api | $c_pg | $c_redis | $c_nginx | $c_wrk | $(bottleneck "$cpu") |")
  [ "$2" = - ] || eval "rps_${1}_${3}_$2=$rps"
}

cat "$root/bench/wrk/urls.lua" "$root/bench/wrk/report.lua" > "$out/reads.lua"
cat "$root/bench/wrk/report.lua" "$root/bench/wrk/checkout.lua" > "$out/checkout.lua"
cat > "$out/static.lua" <<'LUA'
request = function() return wrk.format("GET", "/static/product.json") end
LUA
cat "$out/static.lua" "$root/bench/wrk/report.lua" > "$out/static_report.lua"

for stack in single cluster; do
  echo "== $stack stack" >&2
  use_stack "$stack"
  # The read mix: details at random, ranked listings of each category, searches for common words.
  {
    psql "$db_url" -qAtc "SELECT '/api/v1/products/' || id FROM products WHERE is_active ORDER BY random() LIMIT 400"
    psql "$db_url" -qAtc "SELECT '/api/v1/products?sort=rank&category=' || slug FROM categories"
    psql "$db_url" -qAtc "SELECT '/api/v1/products?sort=relevance&q=' || word FROM ts_stat('SELECT to_tsvector(''simple'', name) FROM products WHERE id % 20 = 0')
                          WHERE length(word) > 3 AND word !~ '[0-9]' ORDER BY ndoc DESC LIMIT 40"
  } > "$out/reads.urls"
  ids=$(psql "$db_url" -qAtc "SELECT string_agg(id::text, ',') FROM products")
  start_servers 1 dual
  curl -sf -H 'Content-Type: application/json' \
    -d '{"email":"scale@example.com","password":"scale password 123","name":"Scale"}' \
    "http://127.0.0.1:$proxy_port/api/v1/auth/register" >/dev/null
  token=$(curl -sf -H 'Content-Type: application/json' -d '{"email":"scale@example.com","password":"scale password 123"}' \
    "http://127.0.0.1:$proxy_port/api/v1/auth/login" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
  mkdir -p "$out/www/static"
  curl -sf "http://127.0.0.1:$proxy_port/api/v1/products?sort=rank" > "$out/www/static/product.json"
  stop_servers
  for n in 1 2 3; do
    echo "   $n API process(es)" >&2
    start_servers "$n" dual
    wrk -t2 -c16 -d1s -s "$out/reads.lua" "http://127.0.0.1:$proxy_port" >/dev/null 2>&1 || true  # warm-up
    point "$stack" "$n" reads "$(measure "$out/reads.lua" URLS_FILE="$out/reads.urls")"
    [ "$stack" = cluster ] && replica_share+=("$n: $(replica_share "$n")")
    point "$stack" "$n" checkout "$(measure "$out/checkout.lua" TOKEN="$token" PRODUCTS="$ids")"
    if [ "$n" = 1 ] && [ "$stack" = single ]; then
      point "$stack" "-" "nginx static" "$(measure "$out/static_report.lua")"
    fi
    stop_servers
  done
  audit="clean"
  env "${stack_env[@]}" "$bin" inventory audit --env-file /nonexistent >/dev/null 2>&1 || audit="MISMATCH"
  negative=$(psql "$db_url" -qAtc "SELECT count(*) FROM products WHERE stock < 0")
  eval "audit_$stack=\$audit negative_$stack=\$negative"
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a / b; else print "-" }'; }
{
  echo "| stack | API processes | load | requests/s (checkout: orders/s) | p99 ms | errors + 5xx | CPU api | CPU pg | CPU redis | CPU nginx | CPU wrk | bottleneck |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  for row in "${rows[@]}"; do echo "$row"; done
  echo
  echo "CPU columns: cores used while wrk ran ($(nproc) on this machine). Scaling, 3 processes against 1:"\
       "reads single $(ratio "$rps_single_reads_3" "$rps_single_reads_1")×, cluster $(ratio "$rps_cluster_reads_3" "$rps_cluster_reads_1")×;"\
       "checkout single $(ratio "$rps_single_checkout_3" "$rps_single_checkout_1")×, cluster $(ratio "$rps_cluster_checkout_3" "$rps_cluster_checkout_1")×."\
       "Cluster against single at 3 processes: reads $(ratio "$rps_cluster_reads_3" "$rps_single_reads_3")×, checkout $(ratio "$rps_cluster_checkout_3" "$rps_single_checkout_3")×."
  echo "Share of the replica-eligible reads that ran on the replicas (cluster, by API processes): ${replica_share[*]}."
  echo "Ledger audit after the checkouts: single $audit_single, cluster $audit_cluster; products with negative stock: $negative_single, $negative_cluster."
} | tee "$out/scale.md"
