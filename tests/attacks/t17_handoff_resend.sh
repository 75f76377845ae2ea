# T17 (also T09, T18): the HANDOFF lost in a partition; forged, replayed
# and cross-session tokens. The handover after a lost channel (issue #3
# part 2; docs/migration.md "Resend"): the source's node keeps and resends
# the HANDOFF, a PREPARED target waits for it (talosd --handoff-wait), and
# only MAC'd tokens travel between the nodes. The HANDOFF is lost on the
# wire by the tampering proxy (truncate: every TLS record up to MANIFEST
# reaches the target, then FIN), so the target is PREPARED and the source
# HANDED_OFF, in doubt.
#  (a) the resend gets through (proxy --then-pass 0): the target activates,
#      answers a RECEIPT, the source verifies it and retires. Exactly one
#      instance serves (I1), digest and version kept (I2), no operator step.
#  (b) the target's wait (5 s) ends before any resend gets through (proxy
#      --then-pass 7): FAILED + ABORT, kept by its node; the resend gets the
#      ABORT and the source serves again by itself (I4/I5/I7, TIMEOUT).
#  (c) forged and cross-session HANDOFFs sent by us to the waiting target's
#      node (peer_resend.py): refused with the exact error (MAC; an unknown
#      session or lineage: NO_SUCH_SESSION), the target stays PREPARED (I8);
#      the genuine HANDOFF carried by a third party (us) activates it — a
#      node may carry a token, never forge one — and the source's own
#      resend then gets the kept RECEIPT and retires.
#  (d) replays: an earlier session's HANDOFF gets that session's kept
#      RECEIPT and activates nothing (I6: one activation per session); a
#      lying target node answering the source's resend with an earlier
#      session's RECEIPT is refused by the source TA (MAC) and nothing
#      changes; then `talos abort` on the target (FAILED + ABORT, printed)
#      and the source's resend brings the ABORT back: the source serves.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/attack_lib.sh"
t() { local n=$1; shift; timeout 90 "$TALOS" --node "$T/$n" "$@"; }
PEER=$TALOS_ROOT/tests/attacks/peer_resend.py
PIDS=()
trap 'rc=$?; set +e; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; (exit $rc); cleanup' EXIT

field_of() { t "$1" ps --json | json "next((str(x.get('$3', '')) for x in j['tas'] if x['id']=='$2'), 'none')"; }
wait_state() { # NODE ID STATE: up to 20 s
  for _ in $(seq 1 400); do [ "$(state_of "$1" "$2")" = "$3" ] && return 0; sleep 0.05; done
  fail "$2 on $1 is $(state_of "$1" "$2"), never $3"
}
wait_log() { for _ in $(seq 1 400); do grep -qsE "$2" "$1" && return 0; sleep 0.05; done; fail "no /$2/ in $(basename "$1")"; }
# resend LINEAGE SESSION TOKEN -> "status kind" of the verdict B's peer port gives
resend() { python3 "$PEER" send "127.0.0.1:$B_PORT" "$@" | json "'%d %d' % (j['status'], j['kind'])"; }
resend_token() { python3 "$PEER" send "127.0.0.1:$B_PORT" "$@" | json "j['token']"; }
handoff_token() { sed -n "s/.*TA $1 is in doubt .*(HANDOFF token \([0-9a-f]*\))$/\1/p" "$T/a.log" | tail -1; }
flip() { local h=$1 o=$((2 * $2)); echo "${h:0:o}$(printf '%02x' $((0x${h:o:2} ^ 1)))${h:o+2}"; }
n_active() { local n=0 x; for x in $NODES; do [ "$(state_of "$x" "$1")" = ACTIVE ] && n=$((n + 1)); done; echo $n; }
# pass_on PORT DEST: a plain relay on PORT for the resends (one or more connections)
pass_on() {
  local pid
  pid=$(python3 "$PROXY" --daemon --listen "$1" --to "$2" --mode pass --timeout 20 --then-pass 0 \
          --then-pass-for 20 --log "$T/pass-$1.json") || fail "pass relay on $1 did not start"
  PIDS+=("$pid")
}

start_node a --handoff-wait 8; A_PORT=$PORT
start_node b --handoff-wait 20; B_PORT=$PORT
start_node c --handoff-wait 5; C_PORT=$PORT
NODES="a b c"
TA=$(t a run "$KV")
t a call "$TA" fill 1000 100 7 >/dev/null # one CHUNK: the layout learn_record_layout knows
t a call "$TA" put apple red >/dev/null
D=$(t a call "$TA" digest)
learn_record_layout # a -> b -> a through a recording proxy: HANDOFF is S->T record $HANDOFF
CUT=$((HANDOFF - 1)) # forward up to MANIFEST, then FIN: the HANDOFF never reaches the target

# (a) HANDOFF lost; the resend gets through at once.
mark_logs
proxy --to "127.0.0.1:$B_PORT" --mode truncate --nth $CUT --then-pass 0
PA=$PX_PORT
assert_eq "$(code_of a migrate "$TA" --to "127.0.0.1:$PA")" OK "migrate settles through the resend"
expect_log b "is PREPARED and lost its channel: waiting up to 20 s"
expect_log a "is in doubt after handing off"
expect_log b "delivering a resent HANDOFF to the target for $TA"
expect_log a "lineage $TA moved to 127.0.0.1:$PA: the resent HANDOFF was answered by a RECEIPT"
serves_once "$TA" b
assert_eq "$(t b call "$TA" digest)" "$D" "(a) digest on the target"
[ "$(version_of b "$TA")" -ge "$V" ] || fail "(a) I2: version below $V"
assert_eq "$(state_of a "$TA")" MOVED "(a) the source retired"
assert_eq "$(code_of a call "$TA" get apple)" MOVED "(a) the old source forwards"
# The target the resent HANDOFF activated rotated the lineage key too (the
# third migration: epoch 3), and its state certificate verifies.
t b state-cert "$TA" --output "$T/cert-b.json" >/dev/null
assert_eq "$(json "j['epoch']" <"$T/cert-b.json")" 3 "(a) lineage key epoch after the resend"
"$TALOS" verify --allow-sim "$T/cert-b.json" >/dev/null || fail "(a) the target's state certificate"
SESS_A=$(sed -n "s/.*resent HANDOFF for $TA session \([0-9a-f]*\) answered: OK RECEIPT$/\1/p" "$T/b.log" | head -1)
assert_eq "${#SESS_A}" 32 "(a) B names the session it answered"
HO_A=$(handoff_token "$TA")
assert_eq "${#HO_A}" 218 "(a) A logs the HANDOFF it resends (109 bytes, not a secret)"

# (b) the target's wait (5 s) expires before a resend gets through.
t b migrate "$TA" --to "127.0.0.1:$A_PORT" >/dev/null
serves_once "$TA" a
D=$(t a call "$TA" digest); V=$(version_of a "$TA")
mark_logs
proxy --to "127.0.0.1:$C_PORT" --mode truncate --nth $CUT --then-pass 7
t a migrate "$TA" --to "127.0.0.1:$PX_PORT" >/dev/null 2>"$T/mb.err" & MB=$!
PIDS+=($MB)
wait_state c "$TA" PREPARED
assert_eq "$(field_of c "$TA" handoff)" "waiting for HANDOFF" "(b) ps on the target shows the wait"
assert_eq "$(state_of a "$TA")" HANDED_OFF "(b) the source is in doubt meanwhile"
assert_eq "$(field_of a "$TA" handoff)" "in doubt, resending HANDOFF" "(b) ps on the source shows the resend"
assert_eq "$(n_active "$TA")" 0 "(b) I1: nothing serves while in doubt"
assert_eq "$(code_of a call "$TA" get apple)" MOVED "(b) I5: the HANDED_OFF source does not serve"
assert_eq "$(code_of c call "$TA" get apple)" STATE "(b) the PREPARED target does not serve"
rc=0; wait $MB || rc=$?
assert_eq $rc 1 "(b) migrate exit: $(tail -1 "$T/mb.err")"
grep -q "the target gave up (.*); the source verified its ABORT and serves again (TIMEOUT)$" "$T/mb.err" ||
  fail "(b) migrate must say the source serves again: $(tail -1 "$T/mb.err")"
expect_log c "gives up waiting for HANDOFF: the wait expired"
expect_log c "ABORT token for $TA: "
expect_log a "TA $TA serves again: the target's ABORT (TIMEOUT) came back"
serves_once "$TA" a
assert_eq "$(state_of c "$TA")" NONE "(b) I6: the FAILED target left no entry"
assert_eq "$(version_of a "$TA")" "$V" "(b) I8: version unchanged"
assert_eq "$(t a call "$TA" digest)" "$D" "(b) I4/I8: digest unchanged"
V=$((V + 1))
[ -z "$(field_of a "$TA" handoff)" ] || fail "(b) ps still shows a handover on the source"

# (c) forged and cross-session HANDOFFs to the waiting target's node.
mark_logs
proxy --to "127.0.0.1:$B_PORT" --mode truncate --nth $CUT # nothing passes after: resends refused
PC=$PX_PORT
t a migrate "$TA" --to "127.0.0.1:$PC" >/dev/null 2>"$T/mc.err" & MC=$!
PIDS+=($MC)
wait_state b "$TA" PREPARED
SESS=$(field_of b "$TA" handoff_session)
assert_eq "$(field_of a "$TA" handoff_session)" "$SESS" "(c) both nodes name the same session"
wait_log "$T/a.log" "TA $TA is in doubt .*HANDOFF token"
HO=$(handoff_token "$TA")
[ "$HO" != "$HO_A" ] || fail "(c) a new session must have a new HANDOFF"
RND=$(head -c 109 /dev/urandom | od -An -tx1 | tr -d ' \n')
assert_eq "$(resend "$TA" "$SESS" "$RND")" "-47 0" "(c) 109 random bytes: MAC"
assert_eq "$(resend "$TA" "$SESS" "$(flip "$HO" 108)")" "-47 0" "(c) the genuine HANDOFF, one MAC bit flipped"
assert_eq "$(resend "$TA" "$SESS" "$(flip "$HO" 0)")" "-47 0" "(c) the genuine HANDOFF, kind byte changed"
assert_eq "$(resend "$TA" "$SESS" "$(flip "$HO" 60)")" "-47 0" "(c) the genuine HANDOFF, version/head changed"
assert_eq "$(resend "$TA" "$SESS" "$HO_A")" "-47 0" "(c) the HANDOFF of session (a) for this session"
assert_eq "$(resend "$TA" "$SESS" "${HO:0:216}")" "-4 0" "(c) a short token: MALFORMED"
RSESS=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
assert_eq "$(resend "$TA" "$RSESS" "$HO")" "-66 0" "(c) an unknown session: NO_SUCH_SESSION"
assert_eq "$(resend "$RSESS" "$SESS" "$HO")" "-66 0" "(c) another lineage: NO_SUCH_SESSION"
assert_eq "$(state_of b "$TA")" PREPARED "(c) I8: every refusal left the target PREPARED"
assert_eq "$(n_active "$TA")" 0 "(c) I1: nothing serves"
expect_log b "refused a resent HANDOFF (MAC)"
# (d, first half) the HANDOFF of session (a), under its own session: the
# kept RECEIPT of (a) comes back; nothing activates twice.
assert_eq "$(resend "$TA" "$SESS_A" "$HO_A")" "0 9" "(d) a replayed earlier HANDOFF gets its kept RECEIPT"
assert_eq "$(state_of b "$TA")" PREPARED "(d) I6: the replay activated nothing"
# The genuine HANDOFF, carried by a third party (us): the target activates.
assert_eq "$(resend "$TA" "$SESS" "$HO")" "0 9" "(c) the genuine HANDOFF activates the target"
serves_once_b() { [ "$(state_of b "$TA")" = ACTIVE ] && [ "$(n_active "$TA")" = 1 ]; }
serves_once_b || fail "(c) I1: B serves, nothing else"
assert_eq "$(t b call "$TA" digest)" "$D" "(c) digest on the target"
assert_eq "$(state_of a "$TA")" HANDED_OFF "(c) the source is still in doubt (its resends are refused)"
# The same HANDOFF again: the kept RECEIPT, no second activation.
assert_eq "$(resend "$TA" "$SESS" "$HO")" "0 9" "(c) the HANDOFF again"
RC=$(resend_token "$TA" "$SESS" "$HO")
assert_eq "${#RC}" 218 "(c) the RECEIPT is 109 bytes"
# Let the source's own resend through: it gets the kept RECEIPT and retires.
pass_on "$PC" "127.0.0.1:$B_PORT"
wait_state a "$TA" MOVED
serves_once "$TA" b
wait $MC || true

# (d) a lying target node replays the RECEIPT of session (c) to a source in
# doubt in a new session; then the operator aborts the waiting target.
t b migrate "$TA" --to "127.0.0.1:$A_PORT" >/dev/null
serves_once "$TA" a
D=$(t a call "$TA" digest); V=$(version_of a "$TA")
mark_logs
proxy --to "127.0.0.1:$B_PORT" --mode truncate --nth $CUT
PD=$PX_PORT
t a migrate "$TA" --to "127.0.0.1:$PD" >/dev/null 2>"$T/md.err" & MD=$!
PIDS+=($MD)
wait_state b "$TA" PREPARED
proxy_wait # the cutting proxy is gone: the port is free for the liar
LIAR=$(python3 "$PEER" serve "$PD" --kind 9 --token "$RC" --for 20) || fail "liar did not start"
PIDS+=("$LIAR")
expect_log a "the source TA refused the RECEIPT the target node returned (MAC)"
kill "$LIAR" 2>/dev/null || true
assert_eq "$(state_of a "$TA")" HANDED_OFF "(d) I5/I8: a replayed RECEIPT changes nothing"
assert_eq "$(state_of b "$TA")" PREPARED "(d) the target still waits"
assert_eq "$(n_active "$TA")" 0 "(d) I1"
# talos abort on the target: FAILED + ABORT, printed.
TOK=$(t b abort "$TA")
assert_eq "${#TOK}" 218 "(d) talos abort prints the ABORT token"
# B keeps only the forwarding note of the lineage's earlier stay there.
assert_eq "$(state_of b "$TA")" MOVED "(d) I6: the aborted target left no instance"
assert_eq "$(code_of b abort "$TA")" STATE "(d) nothing to abort any more"
ABJ=$(t b --json abort "$TA" 2>/dev/null || true)
[ -z "$ABJ" ] || fail "(d) abort --json of nothing printed $ABJ"
expect_log b "ABORT token for $TA: $TOK"
# The source's resend gets the kept ABORT and serves again by itself.
pass_on "$PD" "127.0.0.1:$B_PORT"
wait_state a "$TA" ACTIVE
expect_log a "TA $TA serves again: the target's ABORT (ABORTED) came back"
serves_once "$TA" a
assert_eq "$(version_of a "$TA")" "$V" "(d) I8: version unchanged"
assert_eq "$(t a call "$TA" digest)" "$D" "(d) digest unchanged"
assert_eq "$(code_of a resume "$TA" --token "$TOK")" STATE "(d) the ABORT again: the source is ACTIVE"
wait $MD || true
node_alive "$a_PID"; node_alive "$b_PID"; node_alive "$c_PID"
