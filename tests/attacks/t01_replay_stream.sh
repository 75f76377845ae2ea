# T01: replay a recorded migration stream into a fresh target. A proxy
# records the source -> target bytes of a genuine migration A -> B (node
# preamble with the image, then the TAs' TLS stream carrying HELLO,
# EVIDENCE, the state and HANDOFF). The adversary replays them to node C's
# peer port as if it were the source: C answers the OFFER, takes the image
# and starts a virgin target, which must not end up serving the lineage —
# its TLS handshake is fresh (its own key share), so the recorded client
# flight cannot be decrypted. The real lineage serves on, once (I1), at its
# version (I2), with its digest.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/attack_lib.sh"

start_nodes a b c
kv_filled a
t a call "$TA" put secret s3cr3t >/dev/null

proxy --to "127.0.0.1:$B_PORT" --mode record --record "$T/stream.cap"
t a migrate "$TA" --to "127.0.0.1:$PX_PORT" >/dev/null
proxy_wait
serves_once "$TA" b
D=$(t b call "$TA" digest)
V=$(version_of b "$TA")
# The recording holds the whole data connection: its DATA hello (a ticket
# spent now), the TLS records up to close_notify. (The OFFER and the image
# went on the nodes' authenticated link, which the proxy cannot read.)
python3 - "$T/stream.cap" <<'PY' || fail "the recording is not a whole migration"
import sys
sys.path.insert(0, "tests/attacks")
import proxy
segs, s2t, t2s = proxy.read_capture(sys.argv[1])
assert s2t[:8] == b"TALOSD2\0", s2t[:12]
pre = proxy.DATA_HELLO_LEN
recs = proxy.tls_records(s2t[pre:])
assert recs[0][1] == 22 and len(recs) >= 20 and sum(n for _, _, n in recs) == len(s2t) - pre, recs
PY

# replay_to NODE: the recorded stream into NODE; C's virgin target fails
# its TLS handshake (CRYPTO: talos_chan_open's code for a handshake that
# fails) and nothing of the lineage stays there.
replay_to() {
  local n=$1 port=$2 log=$T/replay-$1-$RANDOM.json
  mark_logs
  python3 "$PROXY" --mode replay --replay "$T/stream.cap" --lineage "$TA" --image "$KV" --to "127.0.0.1:$port" --log "$log" --timeout 20 ||
    fail "replay into $n: $(cat "$log")"
  # The preamble passed: the refusal is inside the TAs, not the node's.
  assert_eq "$(json 'j.get("target_ready")' <"$log")" True "replay into $n reached a virgin target"
  assert_eq "$(json 'j["target_closed"]' <"$log")" True "the target on $n hung up"
  expect_log "$n" "peer: target for $TA FAILED: import failed: cryptographic operation failed"
  REPLAY_LOG=$log
}
replay_to c "$C_PORT"
# C took the image (the recording carries it) and started a target.
assert_eq "$(json 'j["answers"][0][1]' <"$REPLAY_LOG")" 1 "c asked for the image"
assert_eq "$(state_of c "$TA")" NONE "c runs nothing of the lineage"
assert_eq "$(t c ps --json | json 'len(j["tas"])')" 0 "c runs no TA at all"
serves_once "$TA" b
assert_eq "$(version_of b "$TA")" "$V" "version after the replay (I2)"
assert_eq "$(t b call "$TA" digest)" "$D" "digest after the replay"
V=$((V + 1))
assert_eq "$(t b call "$TA" get secret)" s3cr3t "the lineage serves its data"
V=$((V + 1))

# Again, now that C has the image (the replay skips the recorded image).
replay_to c "$C_PORT"
assert_eq "$(json 'j["answers"][0][1]' <"$REPLAY_LOG")" 0 "c had the image"
assert_eq "$(t c ps --json | json 'len(j["tas"])')" 0 "c runs no TA at all"

# The lineage goes on: a genuine migration B -> C works after the
# replays, continuing the version chain.
t b migrate "$TA" --to "127.0.0.1:$C_PORT" >/dev/null
serves_once "$TA" c
assert_eq "$(version_of c "$TA")" "$V" "version continues on c (I2)"
assert_eq "$(t c call "$TA" digest)" "$D" "digest on c"
node_alive "$a_PID"; node_alive "$b_PID"; node_alive "$c_PID"
