# Runtime paths: ocalls (both modes), seal keys, persist section, limits.
. "$(dirname "$0")/lib.sh"
start_node n1
start_node n2
for flag in "" --switchless; do
  P=$(t n1 run "$PROBE" $flag)
  assert_eq "$(t n1 call "$P" ocall echo hello)" 68656c6c6f "echo ocall ($flag)"
  [ "$(t n1 call "$P" ocall time | wc -c)" -eq 17 ] || fail "time ocall returns 8 bytes"
  expect_fail NOT_IMPLEMENTED n1 call "$P" ocall nosuchocall
  assert_eq "$(t n1 call "$P" persist)" 1 "persist 1"
  assert_eq "$(t n1 call "$P" persist)" 2 "persist 2"
  assert_eq "$(t n1 call "$P" echo a b c)" "a b c" "echo"
  t n1 stop "$P"
done
# Seal keys: equal for the same measurement on one platform; different on
# another platform; different for another measurement (unit-tested too).
P1=$(t n1 run "$PROBE"); P2=$(t n1 run "$PROBE"); P3=$(t n2 run "$PROBE")
s1=$(t n1 call "$P1" seal); s2=$(t n1 call "$P2" seal); s3=$(t n2 call "$P3" seal)
assert_eq "$s1" "$s2" "seal key, same measurement, same platform"
[ "$s1" != "$s3" ] || fail "seal key equal across platforms"
expect_fail INVALID_ARG n1 call "$P1" seal 9
