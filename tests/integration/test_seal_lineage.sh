# Sealing that survives a migration (issue #18's TALOS_SEAL_LINEAGE,
# docs/sealing.md). The probe TA prints SHA-256 of a seal key (never the
# key): the lineage's key is the same on node B after a migration and on A
# again after the way back; another lineage of the same image has another
# one; the measurement policy's key is the platform's, so it differs from
# node to node (a blob sealed with it on A does not open on B: the reason
# this policy exists).
. "$(dirname "$0")/lib.sh"
start_node a; A_PORT=$PORT
start_node b; B_PORT=$PORT
P=$(t a run "$PROBE")
L_A=$(t a call "$P" seal 2)
M_A=$(t a call "$P" seal 1)
[[ "$L_A" =~ ^[0-9a-f]{64}$ ]] || fail "seal 2: $L_A"
assert_eq "$(t a call "$P" seal 2)" "$L_A" "the lineage key is stable"
t a migrate "$P" --to "127.0.0.1:$B_PORT" >/dev/null
assert_eq "$(t b call "$P" seal 2)" "$L_A" "the lineage key after A -> B"
M_B=$(t b call "$P" seal 1)
[ "$M_B" != "$M_A" ] || fail "the measurement key did not change with the platform"
t b migrate "$P" --to "127.0.0.1:$A_PORT" >/dev/null
assert_eq "$(t a call "$P" seal 2)" "$L_A" "the lineage key after B -> A"
assert_eq "$(t a call "$P" seal 1)" "$M_A" "the measurement key is A's again on A"
Q=$(t b run "$PROBE")
[ "$(t b call "$Q" seal 2)" != "$L_A" ] || fail "another lineage of the same image has the same lineage key"
assert_eq "$(t b call "$Q" seal 1)" "$M_B" "the same image on the same platform: the same measurement key"
expect_fail INVALID_ARG b call "$Q" seal 3
echo "ok"
