#!/usr/bin/env bash
# Run every tests/integration/test_*.sh against real talosd processes on
# loopback; print "N passed, N failed". Each test gets its own temp dir,
# sim CA and ports; `TESTS=pattern` selects a subset.
set -u
BUILD=${BUILD:-build}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/san-env.sh"
export BUILD TALOS_ROOT=$(cd "$here/.." && pwd)
pass=0 fail=0 port=$((20000 + ($$ % 200) * 50))
for t in "$here"/integration/test_*.sh; do
  name=$(basename "$t" .sh)
  case "$name" in *${TESTS:-}*) ;; *) continue ;; esac
  san_reset
  start=$(date +%s%N)
  log=$(mktemp /tmp/talos-it.XXXXXX)
  if TEST_PORT_BASE=$port timeout 600 bash "$t" >"$log" 2>&1 && san_clean; then
    pass=$((pass + 1)); printf 'ok   %-40s %6d ms\n' "integration/$name" $((($(date +%s%N) - start) / 1000000))
  else
    fail=$((fail + 1)); echo "FAIL integration/$name"
    # The failing assertion first: node logs printed after it can be long.
    grep -m5 -e '^FAIL:' -e 'Traceback' -e 'Error' "$log" | sed 's/^/   > /'
    tail -40 "$log" | sed 's/^/     /'; san_show
  fi
  rm -f "$log"
  port=$((port + 10))
done
echo "integration${SAN:+ (sanitizers)}: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
