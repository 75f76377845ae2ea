# talosd itself: usage, one node per state dir, port conflicts, backends,
# graceful shutdown that says which lineages ended.
. "$(dirname "$0")/lib.sh"
rc=0; "$TALOSD" >/dev/null 2>&1 || rc=$?; assert_eq $rc 2 "talosd without --state-dir"
"$TALOSD" --help | grep -q "NO hardware isolation" || fail "talosd --help must say sim has no isolation"
rc=0; "$TALOSD" --state-dir "$T/x" --bogus 2>/dev/null || rc=$?; assert_eq $rc 2 "unknown option"
rc=0; err=$("$TALOSD" --state-dir "$T/sk" --backend skeleton --listen 127.0.0.1:$((PORT + 7)) 2>&1) || rc=$?
assert_eq $rc 1 "skeleton backend exit"; echo "$err" | grep -q "not implemented" || fail "skeleton message: $err"
rc=0; err=$("$TALOSD" --state-dir "$T/nb" --backend nosuch --listen 127.0.0.1:$((PORT + 8)) 2>&1) || rc=$?
assert_eq $rc 1 "unknown backend exit"
start_node n1
rc=0; err=$("$TALOSD" --state-dir "$T/n1" --listen 127.0.0.1:$((PORT + 9)) 2>&1) || rc=$?
assert_eq $rc 1 "second talosd on one state dir"; echo "$err" | grep -q "another talosd" || fail "$err"
rc=0; err=$("$TALOSD" --state-dir "$T/n9" --listen "127.0.0.1:$PORT" 2>&1) || rc=$?
assert_eq $rc 1 "port in use"; echo "$err" | grep -q "address in use" || fail "$err"
t n1 node | grep -q "SIMULATED" || fail "talos node must say SIMULATED"
assert_eq "$(t n1 node --json | json 'j["simulated"]')" True "node --json simulated"
TA=$(t n1 run "$KV")
kill -TERM "$n1_PID"; wait "$n1_PID" || fail "talosd exit status on SIGTERM"
grep -q "lineage $TA ends: node shutting down" "$T/n1.log" || fail "shutdown must log lineage end"
[ ! -S "$T/n1/talosd.sock" ] || fail "socket left behind"
rc=0; t n1 ps 2>/dev/null || rc=$?; assert_eq $rc 1 "CLI against a stopped node"
# A restarted node does not resurrect the lineage (volatile-only).
start_node n1
assert_eq "$(t n1 ps --json | json 'len(j["tas"])')" 0 "no TA after restart"
