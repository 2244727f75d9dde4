#!/usr/bin/env bash
# Data-layer throughput against the reference tools, measured in one run on the same servers:
#   db::Pool (pipelined) queries/s   vs  pgbench -S -M prepared   (same client count)
#   redis::Client GET/s              vs  redis-benchmark -t get    (same client count)
# Usage: bench/data_layer.sh BUILD_DIR [SECONDS] [CLIENTS]
# Prints a markdown table and writes it to .local/bench/data_layer.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: data_layer.sh BUILD_DIR [SECONDS] [CLIENTS]}
secs=${2:-10}
clients=${3:-64}
threads=2
scale=10
bash "$root/scripts/services.sh" start bench
eval "$(bash "$root/scripts/services.sh" env bench)"
pg_port=$EMPORIUM_TEST_PG_PORT
redis_port=$EMPORIUM_TEST_REDIS_PORT
out_dir="$root/.local/bench"; mkdir -p "$out_dir"

if ! psql -h 127.0.0.1 -p "$pg_port" -U emporium -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname='pgbench'" | grep -q 1; then
  psql -h 127.0.0.1 -p "$pg_port" -U emporium -d postgres -qc "CREATE DATABASE pgbench"
  pgbench -h 127.0.0.1 -p "$pg_port" -U emporium -i -s "$scale" -q pgbench >/dev/null 2>&1
fi
url="postgresql://emporium@127.0.0.1:$pg_port/pgbench"

echo "pgbench -S -M prepared -c $clients -j $threads -T $secs …" >&2
pgb=$(pgbench -h 127.0.0.1 -p "$pg_port" -U emporium -S -M prepared -c "$clients" -j "$threads" -T "$secs" pgbench 2>/dev/null \
      | awk '/^tps/ {print int($3); exit}')
echo "emporium db::Pool, $clients clients …" >&2
ours_pg=$("$root/$build/bench/emporium_bench_pg" "$url" "$clients" "$threads" "$secs" 4 "$scale" | sed -E 's/.*qps=([0-9]+).*/\1/')

echo "redis-benchmark -t get -c $clients …" >&2
rb=$(redis-benchmark -h 127.0.0.1 -p "$redis_port" -t get -c "$clients" -n $((secs * 60000)) -r 100000 --threads 1 -q 2>/dev/null \
     | tr '\r' '\n' | awk -F'[: ]+' '/^GET/ {print int($2)}' | tail -1)
rbp=$(redis-benchmark -h 127.0.0.1 -p "$redis_port" -t get -c "$clients" -n $((secs * 200000)) -r 100000 -P 16 --threads 1 -q 2>/dev/null \
      | tr '\r' '\n' | awk -F'[: ]+' '/^GET/ {print int($2)}' | tail -1)
echo "emporium redis::Client, $clients clients …" >&2
ours_redis=$("$root/$build/bench/emporium_bench_redis" "redis://127.0.0.1:$redis_port/0" "$clients" "$threads" "$secs" 100000 | sed -E 's/ops=([0-9]+).*/\1/')

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f%%", 100*a/b; else print "n/a" }'; }
table=$(cat <<T
| scenario | Emporium | reference | reference figure | ratio | target |
|---|---|---|---|---|---|
| PostgreSQL point SELECT, $clients clients | $ours_pg q/s | \`pgbench -S -M prepared -c $clients -j $threads\` | $pgb q/s | $(ratio "$ours_pg" "$pgb") | ≥ 80% |
| Redis GET, $clients clients | $ours_redis ops/s | \`redis-benchmark -t get -c $clients\` | $rb ops/s | $(ratio "$ours_redis" "$rb") | ≥ 80% |
| Redis GET, $clients clients (reference pipelined) | $ours_redis ops/s | \`redis-benchmark -t get -c $clients -P 16\` | $rbp ops/s | $(ratio "$ours_redis" "$rbp") | (information) |
T
)
echo "$table" | tee "$out_dir/data_layer.md"
