# T08 (also T09, T17): wrong fields from a genuine source (issue #14,
# item 5: target checks no test reached). A source built with test hooks
# (kvstore-faults.ta, $TALOS_MIG_TAMPER, ta/fault.h) puts one wrong field
# into a record it sends inside its attested channel, so every MAC on the
# way is right:
#  begin_head       BEGIN names another previous chain head: the MANIFEST's
#                   head does not chain onto it (core/migrx.c) -> MAC;
#  chunk_seq        the last CHUNK renumbered (a gap), its pages still in
#                   ascending order -> PROTOCOL;
#  bind_lineage     the EVIDENCE record's binding MAC (D44) made over
#                   another lineage: genuine evidence, made ahead over the
#                   source's TLS key, but not for this migration ->
#                   REPORT_DATA;
#  handoff_version  a HANDOFF sealed under the session key for another
#                   version, lost in the channel (truncating proxy) and
#                   resent by the source's node to the waiting PREPARED
#                   target (ta/mig_handoff.c) -> PROTOCOL, the target stays
#                   PREPARED; its wait ends, it fails, and its ABORT lets
#                   the source serve again (TIMEOUT).
# Each time: the refusal names its exact error, the target fails and its
# node keeps no instance of the lineage, the source serves with its digest
# and version unchanged (I1, I2, I8), and the hook did run.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/attack_lib.sh"
t() { local n=$1; shift; timeout 90 "$TALOS" --node "$T/$n" "$@"; }
FAULTS=$TALOS_ROOT/$BUILD/tests/ta/kvstore-faults.ta
start_node a; A_PORT=$PORT
start_node b --handoff-wait 5; B_PORT=$PORT
NODES="a b"

# refused_by NODE TA CODE WHY: the target's node has no instance of TA left,
# and its log says why; the source (NODE) serves on, unchanged.
source_unchanged() {
  assert_eq "$(version_of "$1" "$2")" "$3" "$1: version after the refusal (I2, I8)"
  assert_eq "$(t "$1" call "$2" digest)" "$4" "$1: digest after the refusal (I8)"
  t "$1" call "$2" put after refusal >/dev/null
  assert_eq "$(t "$1" call "$2" get after)" refusal "$1: the source serves after the refusal"
  assert_eq "$(state_of b "$2")" NONE "$1: the target's node keeps no instance (I1, I6)"
}

for how in begin_head chunk_seq bind_lineage; do
  case $how in
    begin_head) code=MAC why="state root or chain head does not match the pages received" ;;
    chunk_seq) code=PROTOCOL why="chunk out of order, repeated or out of range" ;;
    bind_lineage) code=REPORT_DATA why="peer evidence is not bound to this session and lineage" ;;
  esac
  export TALOS_MIG_TAMPER=$how
  start_node "s_$how"
  unset TALOS_MIG_TAMPER
  NODES="a b s_$how"
  TA=$(t "s_$how" run "$FAULTS")
  t "s_$how" call "$TA" fill 200 64 7 >/dev/null
  D=$(t "s_$how" call "$TA" digest)
  V=$(version_of "s_$how" "$TA")
  mark_logs
  rc=0; err=$(t "s_$how" migrate "$TA" --to "127.0.0.1:$B_PORT" 2>&1 >/dev/null) || rc=$?
  assert_eq $rc 1 "$how: migrate exit ($err)"
  case "$(tail -1 <<<"$err")" in *" ($code)") ;; *) fail "$how: migrate must fail with ($code): $err" ;; esac
  expect_log b "$why"
  expect_log "s_$how" "TALOS_MIG_TAMPER=$how"
  source_unchanged "s_$how" "$TA" "$V" "$D"
done

# handoff_version: learn where HANDOFF sits in the TLS stream (a -> b -> a,
# the same image and state as below, no hook), then cut it off.
TA=$(t a run "$FAULTS")
t a call "$TA" fill 1000 100 7 >/dev/null # one CHUNK: the layout learn_record_layout knows
D=$(t a call "$TA" digest)
learn_record_layout
CUT=$((HANDOFF - 1)) # forward up to THREADS, then FIN: the HANDOFF never reaches the target
export TALOS_MIG_TAMPER=handoff_version
start_node s_handoff
unset TALOS_MIG_TAMPER
NODES="a b s_handoff"
TA=$(t s_handoff run "$FAULTS")
t s_handoff call "$TA" fill 1000 100 7 >/dev/null
D=$(t s_handoff call "$TA" digest)
V=$(version_of s_handoff "$TA")
mark_logs
# The resends pass at once: the target gets the wrong HANDOFF while it waits.
proxy --to "127.0.0.1:$B_PORT" --mode truncate --nth $CUT --then-pass 0
rc=0; err=$(t s_handoff migrate "$TA" --to "127.0.0.1:$PX_PORT" 2>&1 >/dev/null) || rc=$?
assert_eq $rc 1 "handoff_version: migrate exit ($err)"
expect_log b "is PREPARED and lost its channel"
expect_log b "refused a resent HANDOFF (PROTOCOL)"
expect_log b "gives up waiting for HANDOFF: the wait expired"
expect_log s_handoff "TALOS_MIG_TAMPER=handoff_version"
expect_log s_handoff "serves again: the target's ABORT (TIMEOUT) came back"
grep -q "the HANDOFF names another version or chain head" "$T/b.log" ||
  fail "handoff_version: the target must say why it refused the HANDOFF"
source_unchanged s_handoff "$TA" "$V" "$D"
serves_once "$TA" s_handoff
node_alive "$a_PID"; node_alive "$b_PID"
