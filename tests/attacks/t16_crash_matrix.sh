# T16: the crash matrix. For every fault point of docs/migration.md, on the
# source, on the target, and on both, a kvstore-faults TA with a known state
# is migrated A -> B while the named process dies by SIGKILL at that step.
# Then the invariants are checked on both nodes:
#   I1 at most one ACTIVE instance of the lineage (ps --json on A and B);
#   I2 the serving version is not lower than before the migration;
#   I5 a HANDED_OFF source does not serve (MOVED);
#   I6 a FAILED target never serves: B has no entry for it and its process
#      ended (B keeps at most one virgin target of its warm pool);
#   I7 if nothing serves, the logs say why: a HANDED_OFF (in doubt) source in
#      ps, or a "lineage <id> lost" line naming the lineage;
# and when the source serves, its digest is unchanged. Then the migration is
# retried with fault points off (a fresh target node: a node restart would
# end the lineages it holds) and must complete whenever the source serves.
#
# Each case runs in a subshell: a failed case prints FAIL with its reason and
# the matrix goes on; the test fails at the end if any case failed.
. "$(dirname "$0")/../integration/lib.sh"
# Every CLI call is bounded: a hang fails the test (exit 124) instead of stalling it.
t() { local n=$1; shift; timeout 60 "$TALOS" --node "$T/$n" "$@"; }
unset TALOS_FAULT
KVF=$TALOS_ROOT/$BUILD/tests/ta/kvstore-faults.ta
BASE=$PORT

# Expected outcomes, worked out from ta/mig_source.c, ta/mig_target.c and
# node/talosd/{migrate,peer}.c:
#  lost    the source process died (any source.* point). Before HANDOFF the
#          target never gets a HANDOFF; if it was PREPARED it waits for a
#          resent one (--handoff-wait 2), which a dead source's node never
#          sends, then fails and is destroyed; so nothing serves and A logs
#          "lineage <id> lost". migrate: TA_CRASHED.
#  moved   source.after_handoff: the HANDOFF record is in the kernel before
#          SIGKILL, the target reads it, activates and B serves the same
#          version; A's record is CRASHED (calls: TA_CRASHED).
#          target.failed_before_abort alone: that step is reached only by a
#          target that failed; a healthy migration never reaches it -> moved.
#  serves  the target died before sending PREPARED (target.after_2_chunks,
#          target.before_prepared): nothing was promised, S resumes on its
#          own and serves, digest unchanged. The target vanished, so the
#          error the operator sees must be PEER_CLOSED ("the peer closed the
#          connection"), not MAC (ta/chan.c: "a peer that vanishes ... ").
#          target.failed_before_abort after a REAL refusal: B's store holds
#          the fault image under the genuine image's name, so T refuses S's
#          measurement and dies before its ABORT. Both TAs send their
#          evidence at once and verify the other's after (docs/migration.md
#          section 2), so S has T's evidence in hand and refuses it itself:
#          MEASUREMENT, and S serves on whatever T does next.
#  indoubt the target died after PREPARED (target.after_prepared,
#          target.before_active, target.after_active): S received PREPARED,
#          went HANDED_OFF and sent HANDOFF; no RECEIPT comes. S must not
#          serve (MOVED), ps shows HANDED_OFF, migrate says STATE (its node
#          resends the HANDOFF; B, whose target died, knows no such session,
#          so the resend gives up after three answers); a retry
#          is refused (STATE) and resume without a token is MALFORMED.
#  both sides: whenever the source dies, the lineage is lost unless the
#          target activated; with the target dying too, it never activates.
CASES=(
  "source:source.before_channel:lost:TA_CRASHED"
  "source:source.before_frozen:lost:TA_CRASHED"
  "source:source.after_2_chunks:lost:TA_CRASHED"
  "source:source.before_handoff:lost:TA_CRASHED"
  "source:source.after_handoff:moved:TA_CRASHED"
  "target:target.after_2_chunks:serves:PEER_CLOSED"
  "target:target.before_prepared:serves:PEER_CLOSED"
  "target:target.after_prepared:indoubt:STATE"
  "target:target.before_active:indoubt:STATE"
  "target:target.after_active:indoubt:STATE"
  "target:target.failed_before_abort:moved:OK"
  "refusal:target.failed_before_abort:serves:MEASUREMENT"
  "both:source.before_frozen+target.failed_before_abort:lost:TA_CRASHED"
  "both:source.after_2_chunks+target.after_2_chunks:lost:TA_CRASHED"
  "both:source.before_handoff+target.after_prepared:lost:TA_CRASHED"
  "both:source.after_handoff+target.before_active:lost:TA_CRASHED"
  "both:source.after_handoff+target.after_active:lost:TA_CRASHED"
)

# target_lost_check: what B holds after its target died. A target that
# died after it activated (target.after_active) had its arrival recorded by
# B first (docs/node-security.md, "No silent loss"): B keeps the record of a
# crashed instance and logs the lineage lost (I7), instead of having no
# trace of it. One that died before activating never held the lineage.
target_lost_check() {
  if [[ "$fault" == *target.after_active* ]]; then
    assert_eq "$sb" CRASHED "B's record of the lineage it lost (I7)"
    assert_eq "$(code_of $b call "$TA" count)" TA_CRASHED "the dead target does not serve"
    grep -q "lineage $TA lost" "$T/$b.log" || fail "I7: no 'lineage $TA lost' line on B"
  else
    assert_eq "$sb" none "B holds no record of the lineage (I6)"
    assert_eq "$(code_of $b call "$TA" count)" NO_SUCH_TA "the target never activated"
  fi
}

# start_node_env NAME FAULT: start_node with TALOS_FAULT=FAULT in talosd's
# environment, which its TA processes inherit ("" = no fault).
# Every node runs with --handoff-wait 2: a target whose channel broke after
# PREPARED (its source died before or while handing off) waits that long for
# a resent HANDOFF (docs/migration.md "Resend") before it FAILS, instead of
# failing at once; 2 s keeps B's verdict inside wait_log's 20 s.
start_node_env() {
  if [ -n "$2" ]; then TALOS_FAULT=$2 start_node "$1" --handoff-wait 2; else start_node "$1" --handoff-wait 2; fi
}
stop_node() {
  local p; p=$(eval echo "\${${1}_PID:-}")
  [ -n "$p" ] || return 0
  kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true
}
# entry NODE ID FIELD: the field of lineage ID's record on NODE, or "none".
n_active() { local n=0 x; for x in "${@:2}"; do [ "$(entry "$x" "$1" state)" = ACTIVE ] && n=$((n + 1)); done; echo $n; }
# code_of CMD...: run a talos command; print OK or the error name it ended with.
wait_log() { # FILE REGEX: up to 20 s
  for _ in $(seq 1 400); do grep -qsE "$2" "$1" && return 0; sleep 0.05; done
  fail "no line /$2/ in $(basename "$1")"
}
# TA processes of a node (children of its talosd): those its registry shows,
# plus at most one virgin target of the warm pool (node/talosd/pool.c,
# refilled after each arrival). The FAILED target's process has ended and
# was reaped (talos_ta_destroy runs before the refill, so a lingering one
# would make two unregistered processes). Zombies count as not ended.
check_procs() {
  local pid want extra
  pid=$(eval echo "\$${1}_PID")
  for _ in $(seq 1 200); do
    want=$(t "$1" ps --json | json "' '.join(str(x['pid']) for x in j['tas'] if x['pid'])")
    extra=$(child_procs "$pid" | cut -d' ' -f1 | grep -vxF -f <(tr ' ' '\n' <<<"$want" | grep .) || true)
    [ "$(grep -c . <<<"$extra")" -le 1 ] && return 0
    sleep 0.05
  done
  fail "$1 runs unregistered TA processes [$(echo $extra)] (registry: [$want])"
}

run_case() {
  local side=$1 fault=$2 expect=$3 code=$4 i=$5
  local af="" bf="" a=a$i b=b$i r=r$i img="$KVF" TA D V got
  case $side in
    source) af=$fault ;;
    target | refusal) bf=$fault ;;
    both) af=${fault%%+*} bf=${fault#*+} ;;
  esac
  PORT=$BASE # every case reuses the same few ports; the previous ones are stopped
  start_node_env $a "$af"; local AP=$PORT
  # A refusal needs a wrong image on B: B is a hostile host (lib.sh).
  if [ "$side" = refusal ]; then TALOSD=$HOSTILE_TALOSD start_node_env $b "$bf"; else start_node_env $b "$bf"; fi
  local BP=$PORT
  [ "$side" = refusal ] && img=$KV
  TA=$(t $a run "$img")
  if [ "$side" = refusal ]; then
    # A real refusal: B's store holds the fault image under the genuine name.
    mkdir -p "$T/$b/images"
    install -m 755 "$KVF" "$T/$b/images/$(basename "$(entry $a "$TA" image)")"
  fi
  t $a call "$TA" fill 3000 200 "$i" >/dev/null # ~800 KiB: more than 2 chunks of 64 pages
  t $a call "$TA" put apple "red$i" >/dev/null
  t $a call "$TA" put pear green >/dev/null
  D=$(t $a call "$TA" digest)
  V=$(entry $a "$TA" version)

  got=$(code_of $a migrate "$TA" --to "127.0.0.1:$BP")
  # B's verdict on its target comes a moment after A's answer.
  wait_log "$T/$b.log" "lineage $TA arrived|target for $TA FAILED"
  local sa sb
  sa=$(entry $a "$TA" state) sb=$(entry $b "$TA" state)
  # I1, on both nodes, whatever happened.
  [ "$(n_active "$TA" $a $b)" -le 1 ] || fail "I1: two ACTIVE instances ($sa on A, $sb on B)"
  # A target killed at target.failed_before_abort never sealed its ABORT.
  if [ "$bf" = target.failed_before_abort ] && grep -q "target for $TA FAILED" "$T/$b.log"; then
    ! grep -q "ABORT token for $TA" "$T/$b.log" || fail "the target died before its ABORT, yet B logged one"
  fi
  local note=""
  case $expect in
    serves)
      assert_eq "$sa" ACTIVE "source state"
      assert_eq "$sb" none "B holds no record of the lineage (I6)"
      assert_eq "$(t $a call "$TA" digest)" "$D" "source digest unchanged"
      [ "$(entry $a "$TA" version)" -ge "$V" ] || fail "I2: version went below $V"
      assert_eq "$(code_of $b call "$TA" count)" NO_SUCH_TA "a FAILED target never serves (I6)"
      check_procs $b
      # Retry with fault points off on a fresh target node: it completes.
      stop_node $b
      PORT=$((BASE + 1)); start_node $r; BP=$PORT
      assert_eq "$(code_of $a migrate "$TA" --to "127.0.0.1:$BP")" OK "retry with faults off"
      assert_eq "$(t $r call "$TA" digest)" "$D" "digest after the retry"
      [ "$(entry $r "$TA" version)" -ge "$V" ] || fail "I2 after retry"
      assert_eq "$(entry $a "$TA" state)" MOVED "A after the retry"
      assert_eq "$(code_of $a call "$TA" count)" MOVED "A forwards after the retry"
      assert_eq "$(n_active "$TA" $a $r)" 1 "I1 after retry"
      note="source serves, digest kept; retry moved it"
      ;;
    moved)
      assert_eq "$sb" ACTIVE "target serves"
      assert_eq "$(t $b call "$TA" digest)" "$D" "digest on the target"
      [ "$(entry $b "$TA" version)" -ge "$V" ] || fail "I2: version went below $V"
      case $sa in MOVED | CRASHED) ;; *) fail "source is $sa after handing off" ;; esac
      local ca; ca=$(code_of $a call "$TA" count)
      case $ca in MOVED | TA_CRASHED) ;; *) fail "I5: a call to the old source gave $ca" ;; esac
      # The retry here is the way back: B -> A. What A holds is no instance
      # (a MOVED note, or the record of a dead process), and peer.c refuses
      # only "a lineage that runs here", so the lineage may come back.
      assert_eq "$(code_of $b migrate "$TA" --to "127.0.0.1:$AP")" OK "move back B -> A (A holds a $sa record)"
      assert_eq "$(t $a call "$TA" digest)" "$D" "digest after moving back"
      assert_eq "$(n_active "$TA" $a $b)" 1 "I1 after moving back"
      note="target serves, digest kept; A was $sa; moved back"
      ;;
    indoubt)
      assert_eq "$sa" HANDED_OFF "source in doubt (I7: the resumable holder shows in ps)"
      target_lost_check
      assert_eq "$(code_of $a call "$TA" count)" MOVED "I5: a HANDED_OFF source does not serve"
      check_procs $b
      grep -q "in doubt, not serving" "$T/$a.log" || fail "A does not log the in-doubt source"
      # Retry: a HANDED_OFF source cannot migrate again, nor resume without an ABORT.
      stop_node $b
      PORT=$((BASE + 1)); start_node $r; BP=$PORT
      assert_eq "$(code_of $a migrate "$TA" --to "127.0.0.1:$BP")" STATE "retry of an in-doubt source"
      assert_eq "$(code_of $a resume "$TA")" MALFORMED "resume without a token"
      assert_eq "$(entry $a "$TA" state)" HANDED_OFF "still in doubt"
      assert_eq "$(n_active "$TA" $a $r)" 0 "nothing serves"
      note="source HANDED_OFF, not serving; retry STATE"
      ;;
    lost)
      assert_eq "$sa" CRASHED "source process"
      target_lost_check
      assert_eq "$(code_of $a call "$TA" count)" TA_CRASHED "the dead source"
      grep -q "lineage $TA lost" "$T/$a.log" || fail "I7: no 'lineage $TA lost' line on A"
      check_procs $b
      stop_node $b
      PORT=$((BASE + 1)); start_node $r; BP=$PORT
      assert_eq "$(code_of $a migrate "$TA" --to "127.0.0.1:$BP")" TA_CRASHED "retry of a lost lineage"
      assert_eq "$(n_active "$TA" $a $r)" 0 "nothing serves"
      note="lineage lost and logged; retry TA_CRASHED"
      ;;
  esac
  # Last, after every invariant held: what the operator is told. The error
  # must name what happened, and a "lineage … lost" line must name a real
  # lineage (I7: the logs explain; they must not invent a loss).
  assert_eq "$got" "$code" "migrate's error (all invariants held)"
  ! grep -q "lineage 00000000000000000000000000000000 lost" "$T/$b.log" ||
    fail "(all invariants held) B logs 'lineage 00000000000000000000000000000000 lost' for its dead target, whose lineage is $TA"
  printf 'ok   %-62s %s\n' "$side:$fault:$expect" "$note"
}

failed=0 i=0 failed_cases=""
for c in "${CASES[@]}"; do
  IFS=: read -r side fault expect code <<<"$c"
  i=$((i + 1))
  set +e
  (
    set -e
    trap 'for n in a$i b$i r$i; do stop_node $n 2>/dev/null; done' EXIT
    fail() { echo "FAIL: [$side:$fault:$expect] $*" >&2; exit 1; }
    run_case "$side" "$fault" "$expect" "$code" "$i"
  )
  rc=$?
  set -e
  [ $rc -eq 0 ] || { failed=$((failed + 1)); failed_cases+=" $side:$fault"; }
done
[ $failed -eq 0 ] || fail "$failed of ${#CASES[@]} crash-matrix cases failed:$failed_cases"
echo "crash matrix: ${#CASES[@]} cases ok"
