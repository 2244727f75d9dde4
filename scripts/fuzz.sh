#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (CMake preset `fuzz`: clang-14, address + undefined
# sanitizers) and runs each one for FUZZ_SECONDS, two at a time, starting from its seed corpus
# (copied to build/fuzz/run/<target>/corpus, so the repository is never modified).
# Fails, naming the target, on any crash, sanitizer report, invariant violation, leak, input that
# runs longer than FUZZ_TIMEOUT seconds (a hang) or memory above FUZZ_RSS_MB.
#
#   scripts/fuzz.sh [target ...]        default: every target (http json query jwt resp)
#   FUZZ_SECONDS=30 FUZZ_JOBS=2 FUZZ_TIMEOUT=10 FUZZ_RSS_MB=2048 scripts/fuzz.sh
#   FUZZ_NO_BUILD=1 scripts/fuzz.sh     run what is built
#
# A failing input is saved as build/fuzz/run/<target>/artifacts/crash-… (or timeout-…, oom-…);
# reproduce it with `build/fuzz/tests/fuzz/fuzz_<target> <file>`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

FUZZ_SECONDS=${FUZZ_SECONDS:-30}
FUZZ_JOBS=${FUZZ_JOBS:-2}
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-10}
FUZZ_RSS_MB=${FUZZ_RSS_MB:-2048}
all_targets=(http json query jwt resp)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true
export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
if [ -z "${FUZZ_NO_BUILD:-}" ]; then
  started=$(date +%s)
  cmake --preset fuzz >/dev/null
  cmake --build --preset fuzz -j "${FUZZ_BUILD_JOBS:-$(nproc)}"
  echo "fuzz: build took $(( $(date +%s) - started )) s"
fi

bin=build/fuzz/tests/fuzz
run=build/fuzz/run
# Every sanitizer report is fatal; leaks count too.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:abort_on_error=1}
# Debian installs the symbolizer as llvm-symbolizer-14 (package llvm-14).
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ] && [ -x /usr/lib/llvm-14/bin/llvm-symbolizer ]; then
  export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer
fi

max_len() {
  case "$1" in
    http) echo 24576 ;;  # above the 16 KiB header limit, so the limit itself is reached
    *) echo 8192 ;;
  esac
}

run_one() {
  local t=$1 dir=$run/$1
  rm -rf "$dir"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp tests/fuzz/corpus/"$t"/* "$dir/corpus/"
  local args=(-max_total_time="$FUZZ_SECONDS" -timeout="$FUZZ_TIMEOUT" -rss_limit_mb="$FUZZ_RSS_MB"
              -max_len="$(max_len "$t")" -artifact_prefix="$dir/artifacts/" -print_final_stats=1)
  [ -f tests/fuzz/dict/"$t".dict ] && args+=(-dict=tests/fuzz/dict/"$t".dict)
  local rc=0
  # The outer timeout only guards against a driver that stops reporting; libFuzzer's own
  # -timeout catches slow inputs.
  timeout --kill-after=10 $(( FUZZ_SECONDS + 120 )) "$bin/fuzz_$t" "${args[@]}" "$dir/corpus" >"$dir/log" 2>&1 || rc=$?
  echo "$rc" >"$dir/rc"
}

for t in "${targets[@]}"; do
  if [ ! -x "$bin/fuzz_$t" ]; then echo "fuzz: no target $t (built: $(ls $bin 2>/dev/null | grep '^fuzz_' | tr '\n' ' '))" >&2; exit 2; fi
done

started=$(date +%s)
echo "fuzz: ${targets[*]} for ${FUZZ_SECONDS} s each, ${FUZZ_JOBS} at a time"
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$FUZZ_JOBS" ]; then wait -n || true; running=$((running - 1)); fi
  run_one "$t" &
  running=$((running + 1))
done
wait || true

failed=()
for t in "${targets[@]}"; do
  dir=$run/$t
  rc=$(cat "$dir/rc" 2>/dev/null || echo 1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$dir/log" | tail -1 || true)
  if [ "$rc" = 0 ]; then
    printf 'fuzz: %-6s ok    %10s runs  %7s exec/s  %s  corpus %s files\n' "$t" "${execs:-?}" "${rate:-?}" "$cov" \
      "$(ls "$dir/corpus" | wc -l)"
  else
    failed+=("$t")
    printf 'fuzz: %-6s FAILED (exit %s); log %s\n' "$t" "$rc" "$dir/log"
    grep -E 'ERROR: |runtime error|invariant violated|Test unit written|SUMMARY' "$dir/log" | head -20 | sed 's/^/    /'
    ls "$dir/artifacts" | sed "s|^|    reproduce: $bin/fuzz_$t $dir/artifacts/|"
  fi
done
echo "fuzz: finished in $(( $(date +%s) - started )) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
