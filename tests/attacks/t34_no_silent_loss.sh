# T34 (docs/node-security.md, "No silent loss"; I7): kill -9 of the target
# node in the middle of an arrival, and of an idle node. A target asks its
# node to record the arrival (on disk) before it activates and before the
# source hears RECEIPT. So:
#  A. the node dies before it recorded it: the target fails, its ABORT
#     reaches the source, which serves on; the restarted node knows nothing
#     of the lineage (it never held it);
#  B. the node dies after it recorded it: the target activates and the
#     source retires ("moved"), but the target's TA logs "lineage lost" when
#     it finds its node gone, and the restarted node logs that the previous
#     run held the lineage and lost it in a crash — never "moved" to a node
#     that lost it without a log;
#  C. an idle node killed: its TA logs the loss, the restart logs it too;
#  D. a restart after a clean shutdown says what became of each lineage
#     (stopped, moved, ended with the shutdown), and the shutdown does not
#     call a forwarding note a lineage that ends;
#  E. a peer's OFFER never erases the record of a crashed TA.
. "$(dirname "$0")/../integration/lib.sh"
KVF=$TALOS_ROOT/$BUILD/tests/ta/kvstore-faults.ta

# stopped_child NODE-PID: the pid of a stopped (SIGSTOP) child, waiting.
stopped_child() {
  local p s
  for _ in $(seq 1 400); do
    while read -r p s; do [ "$s" = T ] && { echo "$p"; return 0; }; done < <(child_procs "$1")
    sleep 0.05
  done
  return 1
}
gone() { for _ in $(seq 1 200); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done; fail "process $1 still runs"; }
restart() { # NAME: kill -9 was done; keep its log, start it again on the same state dir
  mv "$T/$1.log" "$T/$1.before.log"
  start_node "$1" # returns at once: the dead node's socket file is still there
  for _ in $(seq 1 200); do t "$1" node >/dev/null 2>&1 && return 0; sleep 0.05; done
  fail "$1 did not come back"
}

start_node a; A_PORT=$PORT

# --- A. kill -9 of the target node before it recorded the arrival.
TALOS_FAULT=target.before_active:stop start_node b; B_PORT=$PORT
TA=$(t a run "$KVF")
t a call "$TA" fill 2000 100 1 >/dev/null
D=$(t a call "$TA" digest)
V=$(entry a "$TA" version)
(rc=0; t a migrate "$TA" --to "127.0.0.1:$B_PORT" >"$T/mA.out" 2>"$T/mA.err" || rc=$?; echo $rc >"$T/mA.rc") &
TGT=$(stopped_child "$b_PID") || fail "A: no target stopped before activation on b"
kill -9 "$b_PID"; wait "$b_PID" 2>/dev/null || true
kill -CONT "$TGT"
for _ in $(seq 1 600); do [ -s "$T/mA.rc" ] && break; sleep 0.1; done
assert_eq "$(cat "$T/mA.rc")" 1 "A: migrate to a node that died before recording the arrival ($(tail -1 "$T/mA.err"))"
assert_eq "$(entry a "$TA" state)" ACTIVE "A: the source serves on (its target's ABORT)"
assert_eq "$(t a call "$TA" digest)" "$D" "A: the source's state"
gone "$TGT"
grep -q "our node did not record the arrival" "$T/b.log" || fail "A: the target does not say why it failed"
restart b; B_PORT=$PORT
grep -q "$TA" "$T/b.log" && fail "A: the restarted b names a lineage it never held: $(grep "$TA" "$T/b.log")"
assert_eq "$(t b ps --json | json 'len(j["tas"])')" 0 "A: b holds nothing"
kill "$b_PID"; wait "$b_PID" 2>/dev/null || true

# --- B. kill -9 of the target node after it recorded the arrival.
TALOS_FAULT=target.after_recorded:stop start_node b; B_PORT=$PORT
(rc=0; t a migrate "$TA" --to "127.0.0.1:$B_PORT" >"$T/mB.out" 2>"$T/mB.err" || rc=$?; echo $rc >"$T/mB.rc") &
TGT=$(stopped_child "$b_PID") || fail "B: no target stopped after the record on b"
BPID=$b_PID
grep -q "\"$TA\":{\"detail\":\"arrived by migration\",\"name\":\"kvstore\",\"state\":\"here\"" "$T/b/lineages.json" ||
  fail "B: b's record lacks the arrival: $(cat "$T/b/lineages.json")"
kill -9 "$b_PID"; wait "$b_PID" 2>/dev/null || true
kill -CONT "$TGT"
for _ in $(seq 1 600); do [ -s "$T/mB.rc" ] && break; sleep 0.1; done
assert_eq "$(cat "$T/mB.rc")" 0 "B: the source handed over ($(tail -1 "$T/mB.err"))"
assert_eq "$(entry a "$TA" state)" MOVED "B: the source retired"
gone "$TGT"
grep -q "lineage $TA lost: its node is gone" "$T/b.log" || fail "B: the orphaned target did not log the loss"
restart b; B_PORT=$PORT
grep -q "lineage $TA (kvstore) lost: the previous talosd (pid $BPID) held it (recorded at version" "$T/b.log" ||
  fail "B: the restarted b does not log the loss: $(cat "$T/b.log")"
assert_eq "$(code_of b call "$TA" count)" NO_SUCH_TA "B: nothing serves on b"

# --- C. kill -9 of an idle node.
start_node c; C_PORT=$PORT
X=$(t c run "$KV")
t c call "$X" put k v >/dev/null
XPID=$(entry c "$X" pid) CPID=$c_PID
kill -9 "$c_PID"; wait "$c_PID" 2>/dev/null || true
gone "$XPID"
grep -q "lineage $X lost: its node is gone; this instance held version 1" "$T/c.log" ||
  fail "C: the TA of a killed node did not log the loss"
restart c
grep -q "lineage $X (kvstore) lost: the previous talosd (pid $CPID) held it (recorded at version 0)" "$T/c.log" ||
  fail "C: the restarted c does not log the loss"

# --- D. a clean shutdown, then a restart.
start_node d; D_PORT=$PORT
Y1=$(t d run "$KV") Y2=$(t d run "$KV") Y3=$(t d run "$KV")
t d stop "$Y1"
t d migrate "$Y2" --to "127.0.0.1:$A_PORT" >/dev/null
kill "$d_PID"; wait "$d_PID" 2>/dev/null || true
grep -q "lineage $Y3 ends: node shutting down" "$T/d.log" || fail "D: no end logged for $Y3"
grep -q "lineage $Y2 ends" "$T/d.log" && fail "D: the shutdown says $Y2 ends; it serves on a"
restart d
grep -q "the previous talosd held lineage $Y1 (kvstore, recorded at version 0): stopped: stopped by the operator" "$T/d.log" ||
  fail "D: $Y1 not reported stopped: $(cat "$T/d.log")"
grep -q "the previous talosd held lineage $Y2 (kvstore, recorded at version 0): moved: moved to 127.0.0.1:$A_PORT" "$T/d.log" ||
  fail "D: $Y2 not reported moved"
grep -q "the previous talosd held lineage $Y3 (kvstore, recorded at version 0): ended: the node shut down" "$T/d.log" ||
  fail "D: $Y3 not reported ended"
grep -q "lost" "$T/d.log" && fail "D: a clean shutdown reported as a loss: $(grep lost "$T/d.log")"

# --- E. A peer's OFFER does not erase the record of a crashed TA.
Z=$(t a run "$KV")
kill -9 "$(entry a "$Z" pid)"
for _ in $(seq 1 100); do [ "$(entry a "$Z" state)" = CRASHED ] && break; sleep 0.05; done
assert_eq "$(entry a "$Z" state)" CRASHED "E: the crashed TA's record"
grep -q "\"$Z\":{\"detail\":\"its TA died" "$T/a/lineages.json" || fail "E: a's record does not say $Z was lost"
python3 "$TALOS_ROOT/tests/attacks/proxy.py" --mode offer --to "127.0.0.1:$A_PORT" --lineage "$Z" \
  --image "$KV" --tmpdir "$T" --log "$T/offerZ.json" --timeout 20
sleep 0.5
assert_eq "$(entry a "$Z" state)" CRASHED "E: the record after a peer's OFFER"
grep -q "dropping its CRASHED record" "$T/a.log" && fail "E: an OFFER erased the CRASHED record"
echo "T34: every loss logged where it happened and at the restart; an unrecorded arrival aborts; OFFERs erase nothing"
