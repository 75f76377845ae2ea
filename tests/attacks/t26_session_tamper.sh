# T26 (and I12, I4): a node reads or changes a client's call or answer on a
# secure session.
#  1. Reads: everything talosd reads and writes is traced (strace, every
#     thread, with the bytes): a canary sent as a call argument and returned
#     as a result appears there on the plain path (the probe works) and
#     never with --secure — nor in the node's logs or any file under the
#     test's dir.
#  2. Changes: a relay flips one bit of the client's bytes in the TLS
#     handshake (the client refuses: CRYPTO) and inside the call record (the
#     TA refuses it and ends the session; the client reports MAC and nothing
#     ran); flips the TA's bytes in its handshake flight (CRYPTO, before the
#     call is sent); truncates the call (the client reconnects and retries:
#     the call runs exactly once).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/attack_lib.sh"
. "$(dirname "$0")/../integration/session_lib.sh"
start_node a; A_PORT=$PORT
TA=$(t a run "$KV")
MEAS=$(measurement_of a "$TA")

# --- 1. reads -----------------------------------------------------------------
trace() { # trace OUT: strace every thread of talosd a, in the background
  local args=() tid
  for tid in /proc/"$a_PID"/task/*; do args+=(-p "${tid##*/}"); done
  strace -f -qq -s 1000000 -e trace=read,write,readv,writev,recvfrom,sendto,recvmsg,sendmsg \
    -o "$1" "${args[@]}" 2>/dev/null &
  STRACE=$!
  for _ in $(seq 1 100); do [ -s "$1" ] && break; t a ps >/dev/null; sleep 0.05; done
}
untrace() { kill -INT "$STRACE" 2>/dev/null; wait "$STRACE" 2>/dev/null || true; }
PLAIN=PLAIN-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
SECRET=CANARY-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
mkdir -p "$T/traces"
trace "$T/traces/plain"
t a call "$TA" put p "$PLAIN" >/dev/null
assert_eq "$(t a call "$TA" get p)" "$PLAIN" "plain get"
untrace
grep -q "$PLAIN" "$T/traces/plain" || fail "the probe does not see a plain call's argument"
trace "$T/traces/secure"
st a "$TA" put s "$SECRET" >/dev/null
assert_eq "$(st a "$TA" get s)" "$SECRET" "secure get"
untrace
grep -c 'talosc1' "$T/traces/secure" >/dev/null || fail "the trace missed the secure sessions"
grep -q "CANARY-" "$T/traces/secure" && fail "I12: the canary crossed talosd in plaintext"
grep -rlq "$SECRET" "$T" --exclude-dir=traces 2>/dev/null && fail "I4: the canary is in a file: $(grep -rl "$SECRET" "$T" --exclude-dir=traces)"
hex=$(printf '%s' "$SECRET" | od -An -tx1 | tr -d ' \n')
grep -qi "$hex" "$T/traces/secure" "$T"/*.log && fail "the canary crossed talosd in hex"

# --- 2. changes ---------------------------------------------------------------
V=$(version_of a "$TA")
BIG=$(head -c 3000 /dev/zero | tr '\0' 'x')
tamper() { # tamper EXPECTED-ERROR RELAY-ARGS...: one call through a tampering relay
  local want=$1; shift
  relay --to "127.0.0.1:$A_PORT" --timeout 20 "$@"
  local out
  out=$(t a call --secure --allow-sim --measurement "$MEAS" --connect "127.0.0.1:$RX_PORT" \
        "$TA" put t "$BIG" 2>&1) && fail "a tampered session answered OK ($*): $out"
  echo "$out" | grep -q "$want" || fail "tampering ($*): wanted $want, got: $out"
  relay_stop
  assert_eq "$(json "j['tampered']" <"$RX_LOG")" True "the relay tampered ($*)"
  assert_eq "$(version_of a "$TA")" "$V" "nothing ran ($*)"
}
tamper CRYPTO --mode flip --dir c2n --offset 40       # in the ClientHello
tamper MAC --mode flip --dir c2n --offset 1500        # inside the CALL record
tamper CRYPTO --mode flip --dir n2c --offset 40       # in the ServerHello
tamper CRYPTO --mode flip --dir n2c --offset 800      # in the TA's certificate (evidence)
assert_eq "$(t a call "$TA" get s)" "$SECRET" "state intact"
t a call "$TA" get t 2>/dev/null && fail "a tampered put was applied"

# Truncated inside the call: the client reconnects (clean) and retries once.
V=$(version_of a "$TA") # (the plain get above committed: every ecall does)
relay --to "127.0.0.1:$A_PORT" --timeout 20 --mode truncate --dir c2n --offset 1500
out=$(t a call --secure --allow-sim --measurement "$MEAS" --connect "127.0.0.1:$RX_PORT" --json \
      "$TA" put t "$BIG") || fail "truncation was not survived: $out"
relay_stop
assert_eq "$(json "j['tampered'], j['connections'] >= 2" <"$RX_LOG")" "True True" "truncated, then reconnected"
assert_eq "$(version_of a "$TA")" "$((V + 1))" "the call ran exactly once"
assert_eq "$(t a call "$TA" get t)" "$BIG" "its value"
echo "ok"
