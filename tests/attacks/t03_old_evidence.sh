# T03/T04: old evidence, and evidence relayed between two genuine TAs.
# There is no way to hand evidence to a target through the CLI, so the
# adversary does it through the protocol:
#  1. a replayed stream (T01) carries the source's old evidence, bound to
#     the old channel's TLS exporter: the target refuses at the channel
#     step, its TLS handshake, before any evidence is read;
#  2. the adversary opens its own TLS channel to a virgin target (it can:
#     certificates only carry keys) and presents genuine evidence of the
#     same image from another session (the control API's attest over a
#     fixed nonce): the target checks it and refuses REPORT_DATA; evidence
#     chained to another platform CA is refused before (EVIDENCE_CHAIN);
#  3. T04: the adversary terminates TLS towards both the source and the
#     target and relays their records: each TA's genuine, fresh evidence
#     reaches the other over a channel it was not bound to: both refuse,
#     REPORT_DATA.
# Each time no target serves, and the lineage serves on once, unchanged.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/attack_lib.sh"

start_node a; A_PORT=$PORT
start_node b; B_PORT=$PORT
start_node c; C_PORT=$PORT
start_node f --sim-ca "$T/other-ca" # another platform: its evidence chains to another CA
NODES="a b c"
TA=$(t a run "$KV")
t a call "$TA" fill 1000 100 7 >/dev/null
# check_home NODE: the lineage serves once, on NODE, unchanged (then +1 for the digest call).
check_home() {
  serves_once "$TA" "$1"
  assert_eq "$(version_of "$1" "$TA")" "$V" "version (I2)"
  assert_eq "$(t "$1" call "$TA" digest)" "$D" "digest"
  V=$((V + 1))
}

# --- 1. Replayed stream, replayed evidence: refused at the TLS handshake.
proxy --to "127.0.0.1:$B_PORT" --mode record --record "$T/stream.cap"
t a migrate "$TA" --to "127.0.0.1:$PX_PORT" >/dev/null
proxy_wait
D=$(t b call "$TA" digest)
V=$(version_of b "$TA")
# Where the source's EVIDENCE record starts in the recorded TLS bytes: the
# first record of 27 bytes (5-byte EVIDENCE header + 22), after HELLO.
EV_AT=$(python3 - "$T/stream.cap" <<'PY'
import sys
sys.path.insert(0, "tests/attacks")
import proxy
segs, s2t, t2s = proxy.read_capture(sys.argv[1])
pre = proxy.DATA_HELLO_LEN
recs = proxy.tls_records(s2t[pre:])
lens = [n for _, _, n in recs]
i = lens.index(27)
assert i > 3 and recs[i - 1][1] == 23, lens
print(recs[i][0])
PY
) || fail "no EVIDENCE record in the recording"
mark_logs
python3 "$PROXY" --mode replay --replay "$T/stream.cap" --lineage "$TA" --image "$KV" --to "127.0.0.1:$C_PORT" --log "$T/replay.json" --timeout 20 ||
  fail "replay: $(cat "$T/replay.json")"
assert_eq "$(json 'j.get("target_ready")' <"$T/replay.json")" True "c started a virgin target"
# The refusal is the handshake's: talos_chan_open fails (CRYPTO), the TA's
# log says "import failed: cryptographic operation failed" — not an
# evidence error: the target never got that far.
expect_log c "peer: target for $TA FAILED: import failed: cryptographic operation failed"
tail -n +$((MARK_c + 1)) "$T/c.log" | grep -aiE "evidence|report data|measurement" &&
  fail "c's target must refuse at the channel, before the evidence"
# The target hung up before the replay reached the evidence: the old
# evidence never even left the adversary.
sent=$(json 'j["tls_sent"]' <"$T/replay.json")
[ "$sent" -le "$EV_AT" ] || fail "the replay sent $sent TLS bytes, past the evidence at $EV_AT"
assert_eq "$(t c ps --json | json 'len(j["tas"])')" 0 "c runs no TA"
check_home b

# --- 2. Genuine evidence of another session, over the adversary's own
# channel. Evidence of the lineage's TA itself (attested over a fixed
# nonce), of another TA of the same image, and of a TA on another platform.
evidence() { # NODE TA FILE
  python3 - "$T/$1/talosd.sock" "$2" >"$3" <<'PY'
import sys
sys.path.insert(0, "tests/integration")
from ctl import Ctl
r = Ctl(sys.argv[1]).req(op="attest", id=sys.argv[2], nonce="5a" * 32)
assert r["ok"], r
print(r["evidence"])
PY
}
OTHER=$(t b run "$KV")
FOREIGN=$(t f run "$KV")
evidence b "$TA" "$T/ev-same.hex"
evidence b "$OTHER" "$T/ev-other.hex"
evidence f "$FOREIGN" "$T/ev-foreign.hex"
fake() { # EVIDENCE-FILE CODE CODE-NUMBER REASON
  local log=$T/fake-$RANDOM.json
  mark_logs
  python3 "$PROXY" --mode fake-source --to "127.0.0.1:$C_PORT" --lineage "$TA" --image "$KV" \
    --evidence "$1" --tmpdir "$T" --log "$log" --timeout 20 || fail "fake source: $(cat "$log")"
  assert_eq "$(json 'j.get("target_ready")' <"$log")" True "c started a virgin target"
  # HELLO_ACK; the target's own EVIDENCE (both sides send theirs at once,
  # docs/migration.md §2); then its verdict on ours, under the session
  # key: ABORT(code).
  assert_eq "$(json '[r.get("type") for r in j["replies"]]' <"$log")" "['HELLO_ACK', 'EVIDENCE', 'ABORT']" "the target's answers"
  assert_eq "$(json 'j["replies"][2]["code"]' <"$log")" "$3" "the ABORT's code ($2)"
  expect_log c "peer: target for $TA FAILED: $4"
  assert_eq "$(t c ps --json | json 'len(j["tas"])')" 0 "c runs no TA"
}
fake "$T/ev-same.hex" REPORT_DATA -44 "peer evidence is not bound to this channel, key, session and lineage"
fake "$T/ev-other.hex" REPORT_DATA -44 "peer evidence is not bound to this channel, key, session and lineage"
fake "$T/ev-foreign.hex" EVIDENCE_CHAIN -42 "peer evidence refused: "
check_home b

# --- 3. T04: the adversary in the middle of a live migration B -> C,
# terminating TLS on both sides and relaying HELLO, HELLO_ACK, both
# EVIDENCE records and the target's verdict. Each TA's evidence binds its
# own channel (exporter, TLS key), not the adversary's channel to the
# other: the source refuses the target's evidence (REPORT_DATA, and serves
# on), the target refuses the source's (REPORT_DATA, ABORT).
mark_logs
proxy --to "127.0.0.1:$C_PORT" --mode mitm --tmpdir "$T"
rc=0; err=$(t b migrate "$TA" --to "127.0.0.1:$PX_PORT" 2>&1 >/dev/null) || rc=$?
err=$(tail -1 <<<"$err")
assert_eq $rc 1 "exit of the spliced migration"
case "$err" in *"peer evidence is not bound to this channel"*" (REPORT_DATA)") ;;
  *) fail "spliced migration: the source must refuse the relayed evidence (REPORT_DATA), got: $err" ;; esac
proxy_wait
assert_eq "$(json '[r.get("type") for r in j["relayed"]]' <"$PX_LOG")" "['HELLO', 'HELLO_ACK', 'EVIDENCE', 'EVIDENCE', 'ABORT']" "records relayed"
assert_eq "$(json '[r["from"] for r in j["relayed"]][2:4]' <"$PX_LOG")" "['source', 'target']" "one EVIDENCE each way"
assert_eq "$(json 'j["relayed"][4]["code"]' <"$PX_LOG")" -44 "the target refused REPORT_DATA"
expect_log c "peer: target for $TA FAILED: peer evidence is not bound to this channel, key, session and lineage"
assert_eq "$(t c ps --json | json 'len(j["tas"])')" 0 "c runs no TA"
check_home b

# The lineage still moves when nobody is in the middle.
t b migrate "$TA" --to "127.0.0.1:$C_PORT" >/dev/null
check_home c
node_alive "$a_PID"; node_alive "$b_PID"; node_alive "$c_PID"; node_alive "$f_PID"
