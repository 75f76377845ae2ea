# A TA's restore hook (D45): it runs once per arrival, on the target, before
# the first call, with the reason MIGRATED, and rebuilds process-local state;
# its run commits (version + 1). A hook that refuses fails the migration
# with RESTORE_HOOK: the target runs no instance and the source serves on,
# its version and state unchanged. A TA without a hook keeps its version.
. "$(dirname "$0")/lib.sh"
RESTORE=$TALOS_ROOT/$BUILD/tests/ta/restore.ta
[ -x "$RESTORE" ] || fail "missing $RESTORE (make builds it)"
start_node a; A_PORT=$PORT
start_node b; B_PORT=$PORT
ver() { t "$1" ps --json | json "[x['version'] for x in j['tas'] if x['id']=='$2' and x['state']=='ACTIVE'][0]"; }
active_on() { t "$1" ps --json | json "len([x for x in j['tas'] if x['id']=='$2' and x['state']=='ACTIVE'])"; }

TA=$(t a run "$RESTORE")
assert_eq "$(t a call "$TA" status)" "restores=0 reason=0 hook_version=0 calls_before=0 local=fresh" \
  "a fresh lineage runs init, not the hook"
t a call "$TA" put 42 >/dev/null
V=$(ver a "$TA")

# A -> B: the hook ran once, saw the arrival version, before any call.
t a state-cert "$TA" --output "$T/c1.json"
t a migrate "$TA" --to 127.0.0.1:$B_PORT >/dev/null
# The hook's writes are a version of their own: the chain still verifies.
t b state-cert "$TA" --output "$T/c2.json"
assert_eq "$(ver b "$TA")" $((V + 1)) "the hook's run commits once on arrival"
assert_eq "$(t b call "$TA" status)" \
  "restores=1 reason=1 hook_version=$V calls_before=0 local=fresh" "first arrival"
t b state-cert "$TA" --output "$T/c3.json"
"$TALOS" verify --allow-sim "$T/c1.json" "$T/c2.json" "$T/c3.json" >/dev/null ||
  fail "state certificates around a restore hook do not verify"
# B -> A: once more, on the new process.
V=$(ver b "$TA")
t b migrate "$TA" --to 127.0.0.1:$A_PORT >/dev/null
assert_eq "$(t a call "$TA" status)" \
  "restores=2 reason=1 hook_version=$V calls_before=0 local=fresh" "second arrival"
assert_eq "$(t a call "$TA" status)" \
  "restores=2 reason=1 hook_version=$V calls_before=0 local=fresh" "one run per arrival"

# A hook that refuses: RESTORE_HOOK, the source unchanged and serving.
t a call "$TA" arm 1 >/dev/null
D=$(t a call "$TA" digest)
V=$(ver a "$TA")
expect_fail RESTORE_HOOK a migrate "$TA" --to 127.0.0.1:$B_PORT
err=$(t a migrate "$TA" --to 127.0.0.1:$B_PORT 2>&1 >/dev/null || true)
grep -q "restore" <<<"$err" || fail "the refusal should name the restore hook: $err"
assert_eq "$(ver a "$TA")" "$V" "source version after the refused migrations"
assert_eq "$(t a call "$TA" digest)" "$D" "source state after the refused migrations"
assert_eq "$(active_on b "$TA")" 0 "the target runs no instance"
grep -q "restore hook of restore refused its new home" "$T/b.log" ||
  fail "the target's log should say the hook refused"
# Disarmed, it moves.
t a call "$TA" arm 0 >/dev/null
t a migrate "$TA" --to 127.0.0.1:$B_PORT >/dev/null
assert_eq "$(t b call "$TA" status | cut -d' ' -f1)" "restores=3" "third arrival after the refusals"

# Without a hook nothing changes: the version continues as before (probe).
P=$(t a run "$PROBE")
t a call "$P" persist >/dev/null
PV=$(ver a "$P")
t a migrate "$P" --to 127.0.0.1:$B_PORT >/dev/null
assert_eq "$(ver b "$P")" "$PV" "a TA without a hook keeps its version"
node_alive "$a_PID"; node_alive "$b_PID"
