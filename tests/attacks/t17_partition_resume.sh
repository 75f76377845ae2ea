# T17: partition after HANDOFF; the operator forces `talos resume` on the
# source. The source TA handed off (HANDED_OFF, in doubt) and no ABORT of its
# session exists, so every attempt must be refused with the specific error
# and the source must still not serve (I5, I8: a refusal changes nothing).
#
# Three ways to lose the target after HANDOFF, each from its own node:
#   kill   TALOS_FAULT=target.before_active         T read HANDOFF and died
#   stall  TALOS_FAULT=target.before_active:stall   T read HANDOFF and hangs;
#          the operator's resume is issued while the migration is in flight
#          (it waits for the node's TA lock), then we kill the stalled
#          target ourselves (the 30 s channel timeout is too long for a test)
#   active TALOS_FAULT=target.after_active          T activated, then died
#          before its RECEIPT: the lineage really is gone, S must stay put.
# Refusals expected (ta/mig_source.c talos_rt_resume, core/mig.c
# talos_token_open, node/talosd/control.c op_resume):
#   no token                         MALFORMED  (a token is 109 bytes; 0 given)
#   109 random bytes                 MAC
#   a genuine ABORT of an earlier session of the same lineage   MAC
#   that ABORT with its kind byte changed (a token of the wrong kind)  MAC:
#       the kind is under the MAC. A genuine token of another kind under the
#       pending session's key (PREPARED, HANDOFF, RECEIPT) never leaves the
#       TAs and their TLS channel, so PROTOCOL is not reachable from here.
#   the ABORT one byte short / long  MALFORMED
#   not hex                          INVALID_ARG (the node's parser)
#   resume of an ACTIVE TA           STATE
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/fault_lib.sh"

children() { child_procs "$1" | cut -d' ' -f1; }

start_node a; AP=$PORT
TALOSD=$HOSTILE_TALOSD start_node c; CP=$PORT # c plants a wrong image (lib.sh)
TALOS_FAULT=target.before_active start_node bk; BK=$PORT
TALOS_FAULT=target.before_active:stall start_node bs; BS=$PORT
TALOS_FAULT=target.after_active start_node ba; BA=$PORT

# C's store holds another build under the genuine image's name: its target
# refuses the source's measurement and sends a genuine ABORT (C logs it).
new_ta() {
  local id; id=$(t a run "$KVF")
  t a call "$id" fill 2000 200 "$1" >/dev/null
  t a call "$id" put apple "red$1" >/dev/null
  echo "$id"
}
TK=$(new_ta 1) TS=$(new_ta 2) TA_=$(new_ta 3)
mkdir -p "$T/c/images"
install -m 755 "$KV" "$T/c/images/$(basename "$(entry a "$TK" image)")"
declare -A OLD
for id in $TK $TS $TA_; do
  assert_eq "$(code_of a migrate "$id" --to 127.0.0.1:$CP)" MEASUREMENT "wrong image on C"
  wait_log "$T/c.log" "ABORT token for $id: "
  OLD[$id]=$(sed -n "s/.*ABORT token for $id: \([0-9a-f]*\)$/\1/p" "$T/c.log" | tail -1)
  assert_eq "${#OLD[$id]}" 218 "an ABORT token is 109 bytes"
  assert_eq "$(entry a "$id" state)" ACTIVE "source serves on after C's refusal"
  # I8 and the lifecycle: an ACTIVE source has nothing to resume.
  assert_eq "$(code_of a resume "$id" --token "${OLD[$id]}")" STATE "resume of an ACTIVE TA"
done
declare -A D V
for id in $TK $TS $TA_; do D[$id]=$(t a call "$id" digest); V[$id]=$(entry a "$id" version); done

# kill: T dies right after reading HANDOFF.
assert_eq "$(code_of a migrate "$TK" --to 127.0.0.1:$BK)" STATE "migrate with the target killed after HANDOFF"

# stall: T hangs after reading HANDOFF; resume is issued during the flight.
t a migrate "$TS" --to 127.0.0.1:$BS >/dev/null 2>"$T/mig_stall.err" & MIG=$!
tp=$(stalled_target "$bs_PID")
[ -n "$tp" ] || fail "the target on bs never reached target.before_active:stall"
t a resume "$TS" >/dev/null 2>"$T/resume_inflight.err" & RES=$!
sleep 0.3
kill -0 $RES 2>/dev/null || fail "resume returned while the migration held the TA: $(cat "$T/resume_inflight.err")"
kill -KILL "$tp" # the partition becomes a dead peer: S is in doubt at once
rc=0; wait $MIG || rc=$?; assert_eq $rc 1 "stalled migration exit"
grep -q "(STATE)$" "$T/mig_stall.err" || fail "stalled migration: $(tail -1 "$T/mig_stall.err")"
rc=0; wait $RES || rc=$?; assert_eq $rc 1 "in-flight resume exit"
# It ran once the migration let go of the TA: the source was HANDED_OFF by then.
grep -q "(MALFORMED)$" "$T/resume_inflight.err" || fail "in-flight resume: $(cat "$T/resume_inflight.err")"

# active: T activated and died before its RECEIPT.
assert_eq "$(code_of a migrate "$TA_" --to 127.0.0.1:$BA)" STATE "migrate with the target killed after activation"

for id in $TK $TS $TA_; do
  assert_eq "$(entry a "$id" state)" HANDED_OFF "source in doubt"
  old=${OLD[$id]}
  wrongkind=08${old:2}                       # kind ABORT(10) -> HANDOFF(8)
  flipped=${old:0:100}$(printf '%02x' $((0x${old:100:2} ^ 1)))${old:102}
  random=$(head -c 109 /dev/urandom | od -An -tx1 | tr -d ' \n')
  assert_eq "$(code_of a resume "$id")" MALFORMED "resume without a token"
  assert_eq "$(code_of a resume "$id" --token "$random")" MAC "resume with 109 random bytes"
  assert_eq "$(code_of a resume "$id" --token "$old")" MAC "resume with an ABORT of an earlier session"
  assert_eq "$(code_of a resume "$id" --token "$wrongkind")" MAC "resume with a token of the wrong kind"
  assert_eq "$(code_of a resume "$id" --token "$flipped")" MAC "resume with one bit flipped"
  assert_eq "$(code_of a resume "$id" --token "${old:0:216}")" MALFORMED "resume with a short token"
  assert_eq "$(code_of a resume "$id" --token "${old}00")" MALFORMED "resume with a long token"
  assert_eq "$(code_of a resume "$id" --token "zz${old:2}")" INVALID_ARG "resume with a token that is not hex"
  # Another lineage's ABORT (genuine, other key): MAC.
  for other in $TK $TS $TA_; do
    [ "$other" = "$id" ] && continue
    assert_eq "$(code_of a resume "$id" --token "${OLD[$other]}")" MAC "resume with another lineage's ABORT"
  done
  # I5 and I8: still HANDED_OFF, still not serving, nothing served anywhere.
  assert_eq "$(entry a "$id" state)" HANDED_OFF "after the refused resumes"
  assert_eq "$(code_of a call "$id" get apple)" MOVED "I5: the in-doubt source does not serve"
  assert_eq "$(entry a "$id" version)" "${V[$id]}" "I8: refusals changed nothing"
  for n in bk bs ba c; do
    want=none
    # ba's target activated, then died: ba recorded the arrival before it
    # served (docs/node-security.md, "No silent loss"), so it keeps the
    # record of the instance it lost (I7), which serves nothing.
    [ "$n" = ba ] && [ "$id" = "$TA_" ] && want=CRASHED
    assert_eq "$(entry $n "$id" state)" "$want" "I1/I6: no serving instance on $n"
  done
done
grep -q "TA .* resumed on this node" "$T/a.log" && fail "a resume was logged as accepted"
grep -q "lineage $TA_ lost" "$T/ba.log" || fail "I7: ba does not log the loss of $TA_"
# The source node is still healthy and a new lineage still migrates.
N=$(t a run "$KV"); t a call "$N" put k v >/dev/null
start_node b; t a migrate "$N" --to 127.0.0.1:$PORT >/dev/null
assert_eq "$(t b call "$N" get k)" v "a fresh lineage migrates after all this"
node_alive "$a_PID"
