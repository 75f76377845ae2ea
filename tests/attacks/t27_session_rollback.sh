# T27: a client is offered an older instance of a lineage it has seen. A
# genuine runtime never serves an old copy (I1, I2; the migration tests
# show it), so the instance here is tests/ta/rewind, a TA that can lower
# its own version: it stands for a TEE that broke its promise (a cloned or
# rolled-back enclave). The client library must refuse it by itself:
# ROLLBACK, its own error, and the session is dead. And a node that sends
# a client to another lineage's TA (a relay rewriting the preamble):
# LINEAGE, before any call.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/attack_lib.sh"
. "$(dirname "$0")/../integration/session_lib.sh"
REWIND=$TALOS_ROOT/$BUILD/tests/ta/rewind.ta
start_node a; A_PORT=$PORT
R=$(t a run "$REWIND")
MEAS=$(measurement_of a "$R")
for i in 1 2 3 4 5; do t a call "$R" put "v$i" >/dev/null; done

mkfifo "$T/in"
sc "$A_PORT" "$R" "$MEAS" script <"$T/in" >"$T/out" 2>"$T/err" &
C=$!
exec 3>"$T/in"
wait_line 1
echo "put seen" >&3
wait_line 2
grep -q "^rc OK status OK version 6 " <(sed -n 2p "$T/out") || fail "$(cat "$T/out")"
t a call "$R" rewind 3 >/dev/null      # the instance now says version 4
echo "get" >&3
wait_line 3
sed -n 3p "$T/out" | grep -q "^rc ROLLBACK " || fail "a lower version was accepted: $(sed -n 3p "$T/out")"
echo "get" >&3                          # dead: the same error, nothing sent
wait_line 4
sed -n 4p "$T/out" | grep -q "^rc ROLLBACK " || fail "the session went on: $(sed -n 4p "$T/out")"
echo "" >&3; exec 3>&-
wait $C || true
assert_eq "$(t a call "$R" get)" "seen" "nothing ran after the refusal"

# A new session of a client that remembers nothing accepts the instance as
# it is now (the check is per session: docs/sessions.md §5).
assert_eq "$(t a call --secure --allow-sim --measurement "$MEAS" "$R" get)" "seen" "a fresh session"

# Another lineage behind the preamble: LINEAGE, before the call is sent.
R2=$(t a run "$REWIND")
relay --to "127.0.0.1:$A_PORT" --swap-lineage "$R2" --timeout 20
V=$(version_of a "$R2")
out=$(sc "$RX_PORT" "$R" "$MEAS" script <<<"put stolen" 2>&1 || true)
echo "$out" | grep -q "LINEAGE" || fail "another lineage was accepted: $out"
relay_stop # (it writes its summary into $T as it ends: not during the cleanup)
assert_eq "$(version_of a "$R2")" "$V" "the other TA ran nothing"
echo "ok"
