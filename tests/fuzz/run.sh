#!/usr/bin/env bash
# Run the libFuzzer harnesses built in $FZ (default build-fuzz).
#
#   run.sh smoke SECONDS TARGET...   each at most SECONDS and 50000 runs, from
#                                    its seeds and regression inputs, in a
#                                    throw-away corpus (make check)
#   run.sh long SECONDS TARGET...    each SECONDS, growing $FZ/corpus/TARGET
#
# Seeds: tests/fuzz/corpus/TARGET (read only). Regression inputs:
# tests/fuzz/regress/TARGET (replayed first, every run). Crashes, leaks,
# timeouts: $FZ/crashes/TARGET/; logs: $FZ/logs/TARGET.log.
# $FUZZ_JOBS harnesses run at once (default 2). Exit 1 when any harness
# found something.
set -u
mode=${1:?usage: run.sh smoke|long SECONDS TARGET...}
secs=${2:?usage: run.sh smoke|long SECONDS TARGET...}
shift 2
FZ=${FZ:-build-fuzz}
JOBS=${FUZZ_JOBS:-2}
here=$(cd "$(dirname "$0")" && pwd)
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

run_one() {
  local t=$1 bin="$FZ/fuzz_$1" dirs=() work opts=()
  mkdir -p "$FZ/crashes/$t" "$FZ/logs"
  if [ "$mode" = smoke ]; then
    work=$(mktemp -d "${TMPDIR:-/tmp}/talos-fuzz-$t.XXXXXX")
    opts=(-runs=50000 -max_total_time="$secs")
  else
    work="$FZ/corpus/$t"
    mkdir -p "$work"
    opts=(-max_total_time="$secs" -print_final_stats=1)
  fi
  dirs=("$work")
  [ -d "$here/corpus/$t" ] && dirs+=("$here/corpus/$t")
  [ -d "$here/regress/$t" ] && dirs+=("$here/regress/$t")
  [ -f "$here/dict/$t.dict" ] && opts+=(-dict="$here/dict/$t.dict")
  local start=$SECONDS
  "$bin" "${opts[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
    -artifact_prefix="$FZ/crashes/$t/" "${dirs[@]}" >"$FZ/logs/$t.log" 2>&1
  local rc=$?
  [ "$mode" = smoke ] && rm -rf "$work"
  local execs cov
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$FZ/logs/$t.log" | grep -o '[0-9]*$')
  [ -n "$execs" ] || execs=$(grep -Eo '^#[0-9]+' "$FZ/logs/$t.log" | tail -1 | tr -d '#')
  cov=$(grep -Eo 'cov: [0-9]+' "$FZ/logs/$t.log" | tail -1 | grep -Eo '[0-9]+')
  if [ $rc -eq 0 ]; then
    printf 'ok   fuzz/%-13s %4ds %9s runs  cov %s\n' "$t" $((SECONDS - start)) "${execs:-?}" "${cov:-?}"
  else
    printf 'FAIL fuzz/%-13s (exit %d) log: %s\n' "$t" $rc "$FZ/logs/$t.log"
    grep -E 'ERROR|invariant broken|runtime error|SUMMARY|Test unit written|^    #[0-9]' \
      "$FZ/logs/$t.log" | head -30 | sed 's/^/     /'
  fi
  return $rc
}

fail=0
mkdir -p "$FZ/logs"
for t in "$@"; do
  rm -f "$FZ/logs/$t.rc"
  [ -x "$FZ/fuzz_$t" ] || { echo "FAIL fuzz/$t: $FZ/fuzz_$t not built"; fail=1; continue; }
  ( run_one "$t"; echo $? >"$FZ/logs/$t.rc" ) &
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
done
wait
for t in "$@"; do
  [ "$(cat "$FZ/logs/$t.rc" 2>/dev/null)" = 0 ] || fail=1
done
echo "fuzz ($mode, ${secs}s each): $([ $fail -eq 0 ] && echo clean || echo "FOUND PROBLEMS: see $FZ/crashes")"
exit $fail
