#!/usr/bin/env bash
# `make bench`: every benchmark scenario in one run on the bench stack (scripts/services.sh
# bench profile), each Emporium figure next to its reference tool measured in the same run
# (pgbench, redis-benchmark, nginx serving a static file, the PostgreSQL hot-row ceiling, raw
# XADD, the SQL self-join). Prints one report, writes it to .local/bench/summary.md and replaces
# the "Latest make bench" section of docs/benchmarks.md. Loopback only; each scenario is bounded
# by SECONDS per load phase and a timeout (about 18 minutes in all on 2 cores, plus seeding
# the 100k and 1M catalogs the first time).
# Usage: bench/all.sh BUILD_DIR [SECONDS=5]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: all.sh BUILD_DIR [SECONDS]}
secs=${2:-5}
out="$root/.local/bench"
mkdir -p "$out"
summary="$out/summary.md"

# Leave the bench services as we found them.
was_running=false
if bash "$root/scripts/services.sh" env bench >/dev/null 2>&1; then
  eval "$(bash "$root/scripts/services.sh" env bench)"
  pg_isready -q -h 127.0.0.1 -p "$EMPORIUM_TEST_PG_PORT" 2>/dev/null && was_running=true
fi
finish() { $was_running || bash "$root/scripts/services.sh" stop bench >/dev/null 2>&1 || true; }
trap finish EXIT

failed=()
scenario() {  # title, then the command
  local title=$1; shift
  local name; name=$(echo "$title" | tr 'A-Z ' 'a-z_' | tr -cd 'a-z_')
  echo "== $title: $*" >&2
  local started=$SECONDS
  if timeout 900 "$@" > "$out/$name.out" 2> "$out/$name.err"; then
    {
      echo "### $title"
      echo
      local shown="$*"
      echo "\`${shown//$root\//}\` ($((SECONDS - started)) s)"  # paths relative to the checkout
      echo
      grep '^|' "$out/$name.out" || echo "(no table; see .local/bench/$name.out)"
      echo
    } >> "$summary.tmp"
  else
    failed+=("$title")
    { echo "### $title"; echo; echo "FAILED (exit $?); see .local/bench/$name.err"; echo; } >> "$summary.tmp"
  fi
}

: > "$summary.tmp"
{
  echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores, \`bench/all.sh $build $secs\`."
  echo
} >> "$summary.tmp"
scenario "Data layer" bash "$root/bench/data_layer.sh" "$build" "$secs"
scenario "Catalog reads at 100k products" bash "$root/bench/catalog.sh" "$build" "$secs" 100000
scenario "Catalog reads at 1M products" bash "$root/bench/catalog.sh" "$build" "$secs" 1000000
scenario "Checkout" bash "$root/bench/checkout.sh" "$build" "$secs"
scenario "Carts" bash "$root/bench/cart.sh" "$build" "$secs"
scenario "Flash sale" bash "$root/bench/flash_sale.sh" "$build" dual 2000 100 64 bench
scenario "Background jobs" bash "$root/bench/jobs.sh" "$build" 20000 "$secs"
scenario "Scale curve" bash "$root/bench/scale.sh" "$build" "$secs"
scenario "Recommendations" bash "$root/bench/recommend.sh" "$build" 1000000 "$secs"
mv "$summary.tmp" "$summary"
cat "$summary"

# docs/benchmarks.md: replace the section between the markers (or append it).
doc="$root/docs/benchmarks.md"
begin='<!-- make bench: begin -->'
end='<!-- make bench: end -->'
section=$(printf '%s\n## Latest `make bench` run\n\n%s\n%s' "$begin" "$(cat "$summary")" "$end")
if grep -qF "$begin" "$doc"; then
  awk -v b="$begin" -v e="$end" -v file="$summary" '
    $0 == b { print; print "## Latest `make bench` run"; print ""; while ((getline line < file) > 0) print line; skip = 1; next }
    $0 == e { skip = 0 }
    !skip { print }' "$doc" > "$doc.tmp" && mv "$doc.tmp" "$doc"
else
  printf '\n%s\n' "$section" >> "$doc"
fi
echo "written to $summary and docs/benchmarks.md" >&2
if ((${#failed[@]})); then
  echo "failed scenarios: ${failed[*]}" >&2
  exit 1
fi
