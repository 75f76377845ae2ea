#!/usr/bin/env bash
# Run every cmocka unit test binary of $BUILD; print "N passed, N failed".
set -u
BUILD=${BUILD:-build}
. "$(dirname "$0")/san-env.sh"
pass=0 fail=0 failed=()
for t in "$BUILD"/tests/unit/test_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  san_reset
  if out=$("$t" 2>&1) && san_clean; then
    pass=$((pass + 1)); echo "ok   unit/$name"
  else
    fail=$((fail + 1)); failed+=("$name"); echo "FAIL unit/$name"; echo "$out" | tail -30 | sed 's/^/     /'; san_show
  fi
done
echo "unit${SAN:+ (sanitizers)}: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
