# A TA image built against the porting template's enclave side
# (tee/skeleton/enclave/, `make TEE=skeleton`): its runtime cannot start,
# and says why. `talos run` fails with NOT_IMPLEMENTED — not IMAGE, as a
# TA that vanished without a word would be — the node names the backend's
# init in its log, leaves no process behind and serves on.
. "$(dirname "$0")/lib.sh"
SKEL=$TALOS_ROOT/$BUILD/tests/ta/kvstore-skeleton.ta
start_node a
expect_fail NOT_IMPLEMENTED a run "$SKEL"
err=$(t a run "$SKEL" 2>&1 >/dev/null || true)
case "$err" in *"not implemented by this backend"*) ;; *) fail "reason missing: $err" ;; esac
grep -q "the TA could not start: the skeleton backend's init: not implemented" "$T/a.log" ||
  fail "the node must log why the TA did not start"
assert_eq "$(t a ps --json | json 'len(j["tas"])')" 0 "no TA registered"
assert_eq "$(child_procs "$a_PID" | wc -w)" 0 "no TA process left"
TA=$(t a run "$KV")
t a call "$TA" put k v >/dev/null
assert_eq "$(t a call "$TA" get k)" v "the node serves a sim TA afterwards"
echo "ok: a skeleton TA stops at launch with NOT_IMPLEMENTED"
