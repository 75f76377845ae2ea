# A TA image built without migration support (bench-only, -DTALOS_NO_MIGRATION,
# build/bench/ta; bench/overhead.c compares it with the product image): a
# migration is refused with NOT_IMPLEMENTED and the TA keeps serving where it
# is, its state intact.
. "$(dirname "$0")/lib.sh"
NOMIG=$TALOS_ROOT/$BUILD/bench/ta/kvstore-nomig.ta
[ -x "$NOMIG" ] || fail "missing $NOMIG (make builds it)"
start_node a
start_node b; B_PORT=$PORT

TA=$(t a run "$NOMIG")
t a call "$TA" put k v >/dev/null
D=$(t a call "$TA" digest)
expect_fail NOT_IMPLEMENTED a migrate "$TA" --to 127.0.0.1:$B_PORT
assert_eq "$(t a call "$TA" get k)" v "state after the refused migration"
assert_eq "$(t a call "$TA" digest)" "$D" "digest after the refused migration"
node_alive "$a_PID"; node_alive "$b_PID"
