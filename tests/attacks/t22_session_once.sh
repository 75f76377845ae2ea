# T22 (and I12): a client request replayed across a migration. A ledger
# transfer is sent in a secure session; the TA applies it, but a relay
# keeps its answer back; the TA migrates A -> B; the relay cuts the
# connection; the client reconnects by itself (A answers MOVED, it follows
# to B), verifies B's instance and retries with the same sequence number:
# the answer comes from B's record of the call (replayed), and the transfer
# is applied once — the balances and the total prove it. Then the relay
# replays the recorded client bytes of the first connection to B and to A:
# refused (no TLS session can be rebuilt from them; A only says MOVED), and
# nothing changes.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/attack_lib.sh"
. "$(dirname "$0")/../integration/session_lib.sh"
start_node a; A_PORT=$PORT
start_node b; B_PORT=$PORT
L=$(t a run "$LEDGER")
MEAS=$(measurement_of a "$L")
t a call "$L" open alice 100 >/dev/null
t a call "$L" open bob 0 >/dev/null

relay --to "127.0.0.1:$A_PORT" --mode hold --hold "$T/hold" --cut "$T/cut" --record "$T/rec" --timeout 90
mkfifo "$T/in"
sc "$RX_PORT" "$L" "$MEAS" script <"$T/in" >"$T/out" 2>"$T/err" &
C=$!
exec 3>"$T/in"
wait_line 1
grep -q "^open version" "$T/out" || fail "session did not open: $(cat "$T/out" "$T/err")"
touch "$T/hold"                       # from now on the TA's answers are kept back
echo "transfer alice bob 10" >&3
for _ in $(seq 1 200); do [ "$(t a call "$L" balance bob)" = 10 ] && break; sleep 0.05; done
assert_eq "$(t a call "$L" balance bob)" 10 "the transfer ran on a"
[ "$(wc -l <"$T/out")" -eq 1 ] || fail "the client got an answer the relay held: $(cat "$T/out")"
t a migrate "$L" --to "127.0.0.1:$B_PORT" >/dev/null
touch "$T/cut"                        # the client's connection breaks
wait_line 2
sed -n 2p "$T/out" | grep -q "^rc OK status OK .* replayed 1 moves 1 " ||
  fail "the retried transfer was not answered from the record: $(sed -n 2p "$T/out")"
V1=$(version_of b "$L")
assert_eq "$(sed -n 2p "$T/out" | awk '{print $6}')" "$V1" "the replayed answer names b's version: nothing ran again"
assert_eq "$(t b call "$L" balance alice)/$(t b call "$L" balance bob)/$(t b call "$L" total)" \
  "90/10/100" "the transfer applied exactly once"
# The session goes on on b.
echo "balance bob" >&3
wait_line 3
sed -n 3p "$T/out" | grep -q "^rc OK status OK .* replayed 0 moves 1 out 10$" || fail "$(sed -n 3p "$T/out")"
echo "" >&3; exec 3>&-
wait $C || fail "client failed: $(cat "$T/err")"
relay_stop
V2=$(version_of b "$L")

# Replays of the first connection's recorded bytes (preamble, the client's
# TLS handshake, HELLO and the transfer).
[ -s "$T/rec" ] || fail "the relay recorded nothing"
R=$(/usr/bin/python3 "$RELAY" --replay "$T/rec" --to "127.0.0.1:$B_PORT")
echo "replay to b: $R"
assert_eq "$(echo "$R" | json "j['answer_status']")" 0 "b relays the replay to the TA (it names the lineage)"
[ "$(echo "$R" | json "j['tls_bytes_back']")" -lt 4096 ] ||
  fail "the TA answered a replayed session with more than a handshake: $R"
R=$(/usr/bin/python3 "$RELAY" --replay "$T/rec" --to "127.0.0.1:$A_PORT")
assert_eq "$(echo "$R" | json "j['answer_status']")" -29 "a answers MOVED"
assert_eq "$(version_of b "$L")" "$V2" "replays committed nothing"
assert_eq "$(t b call "$L" balance alice)/$(t b call "$L" balance bob)/$(t b call "$L" total)" \
  "90/10/100" "replays applied nothing"
echo "ok"
