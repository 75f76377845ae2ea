# talos call --secure: a call and its answer travel inside a TLS session with
# the TA (docs/sessions.md); the client verifies the TA's evidence and its
# policy before it sends the call; the session follows the TA when it moves.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/session_lib.sh"
start_node a; A_PORT=$PORT
start_node b; B_PORT=$PORT
TA=$(t a run "$KV")
MEAS=$(measurement_of a "$TA")

# A call and its answer.
assert_eq "$(st a "$TA" put apple red)" "" "secure put"
assert_eq "$(st a "$TA" get apple)" "red" "secure get"
assert_eq "$(t a call "$TA" get apple)" "red" "the plain path sees the same state"
# The verified identity: --json carries it, --verbose says it on stderr.
st a --json "$TA" get apple >"$T/j"
json "j['out'], j['identity']['measurement'], j['identity']['simulated'], j['identity']['lineage']" <"$T/j" >"$T/jj"
assert_eq "$(cat "$T/jj")" "red $MEAS True $TA" "--json identity"
st a --verbose "$TA" get apple 2>"$T/v" >/dev/null
grep -q "$MEAS" "$T/v" || fail "--verbose does not show the measurement: $(cat "$T/v")"
grep -qi "sim" "$T/v" || fail "--verbose does not say the evidence is simulated: $(cat "$T/v")"
# The TA's own refusals travel back as for the plain path.
expect_fail NO_SUCH_ECALL a call --secure --allow-sim --measurement "$MEAS" "$TA" nope
expect_fail NOT_FOUND a call --secure --allow-sim --measurement "$MEAS" "$TA" get pear

# Refused before anything is sent: another measurement, sim not allowed, no policy.
V=$(version_of a "$TA")
OTHER=$(printf '%064d' 7)
expect_fail MEASUREMENT a call --secure --allow-sim --measurement "$OTHER" "$TA" put apple green
expect_fail EVIDENCE_SIM a call --secure --measurement "$MEAS" "$TA" put apple green
# The right measurement but another CFG digest (the node's image is another
# build's flow): refused too.
expect_fail CFG_DIGEST a call --secure --allow-sim --measurement "$MEAS" --cfg-digest "$OTHER" "$TA" put apple green
t a call --secure "$TA" get apple 2>"$T/e" && fail "a secure call without a policy ran"
grep -qi "policy\|measurement" "$T/e" || fail "no reason for a missing policy: $(cat "$T/e")"
assert_eq "$(version_of a "$TA")" "$V" "refused sessions changed nothing"
assert_eq "$(t a call "$TA" get apple)" "red" "refused sessions changed nothing"
CFG=$(t a attest --allow-sim --json "$TA" | json "j['claims']['cfg_digest']" 2>/dev/null ||
      t a attest --allow-sim --json "$TA" | json "j['cfg_digest']")
assert_eq "$(st a --cfg-digest "$CFG" "$TA" get apple)" "red" "the TA's own CFG digest is accepted"
# A policy file.
printf '{"measurements": ["%s"], "allow_sim": true}\n' "$MEAS" >"$T/policy.json"
assert_eq "$(t a call --secure --policy "$T/policy.json" "$TA" get apple)" "red" "--policy"
printf '{"measurements": ["%s"], "allow_sim": true}\n' "$OTHER" >"$T/other.json"
expect_fail MEASUREMENT a call --secure --policy "$T/other.json" "$TA" get apple

# TALOS_POLICY makes secure the default; --plain goes back to the node's path.
assert_eq "$(TALOS_POLICY=$T/policy.json t a call --json "$TA" get apple | json "'identity' in j")" True \
  "TALOS_POLICY: secure by default"
assert_eq "$(TALOS_POLICY=$T/policy.json t a call --plain --json "$TA" get apple | json "'identity' in j")" False \
  "--plain"
TALOS_POLICY=$T/other.json t a call "$TA" get apple 2>"$T/e" && fail "TALOS_POLICY's policy was not applied"
grep -q MEASUREMENT "$T/e" || fail "TALOS_POLICY's refusal: $(cat "$T/e")"

# The session follows the TA: A -> B, then a secure call through A.
t a migrate "$TA" --to "127.0.0.1:$B_PORT" >/dev/null
st a --connect "127.0.0.1:$A_PORT" --json "$TA" put apple yellow >"$T/j"
assert_eq "$(json "j['identity']['node']" <"$T/j")" "127.0.0.1:$B_PORT" "followed MOVED to b"
assert_eq "$(t b call "$TA" get apple)" "yellow" "the write landed on b"
# Unknown TA.
expect_fail NO_SUCH_TA b call --secure --allow-sim --measurement "$MEAS" "$(printf '%032d' 1)" get apple
echo "ok"
