#!/usr/bin/env bash
# Run every tests/integration/test_*.sh and every attack test,
# tests/attacks/[ti]NN_*.sh, against real talosd processes on loopback; print
# "N passed, N failed". Each test gets its own temp dir, sim CA and ports.
# A test's name is its folder and file ("integration/test_migrate",
# "attacks/t01_replay_stream"); `TESTS=pattern` runs those whose name
# contains pattern (TESTS=migrate, TESTS=t16, TESTS=attacks/).
#
# Attack tests are named by the id of what they do: tNN_<what>.sh for the
# attack TNN of the catalog (SECURITY.md T01-T30, docs/node-security.md
# T31-T39; a test of several ids is named by its main one and lists the
# others in its first comment), iNN_<what>.sh for a test of invariant INN
# that stages no attack of the catalog (tests/attacks/README).
set -u
BUILD=${BUILD:-build}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/san-env.sh"
export BUILD TALOS_ROOT=$(cd "$here/.." && pwd)
pass=0 fail=0 port=$((20000 + ($$ % 200) * 50))
for t in "$here"/integration/test_*.sh "$here"/attacks/[ti][0-9][0-9]_*.sh; do
  name=$(basename "$(dirname "$t")")/$(basename "$t" .sh)
  case "$name" in *${TESTS:-}*) ;; *) continue ;; esac
  san_reset
  start=$(date +%s%N)
  log=$(mktemp /tmp/talos-it.XXXXXX)
  if TEST_PORT_BASE=$port timeout 600 bash "$t" >"$log" 2>&1 && san_clean; then
    pass=$((pass + 1)); printf 'ok   %-40s %6d ms\n' "$name" $((($(date +%s%N) - start) / 1000000))
  else
    fail=$((fail + 1)); echo "FAIL $name"
    # The failing assertion first: node logs printed after it can be long.
    grep -m5 -e '^FAIL:' -e 'Traceback' -e 'Error' "$log" | sed 's/^/   > /'
    tail -40 "$log" | sed 's/^/     /'; san_show
  fi
  rm -f "$log"
  port=$((port + 10))
done
echo "integration${SAN:+ (sanitizers)}: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
