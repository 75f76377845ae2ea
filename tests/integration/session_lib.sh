# Helpers of the client-session tests (docs/sessions.md), sourced after lib.sh.
SCLIENT=$TALOS_ROOT/$BUILD/tests/tools/sclient
RELAY=$TALOS_ROOT/tests/attacks/client_relay.py
RX_PORT=$((${TEST_PORT_BASE:-21000} + 150))
# measurement_of NODE ID -> the TA's measurement (hex), as the node reports
# it: the tests pass it to the client as its policy (a user would take it
# from the image they built, `talos cfg`/`talos sign` print it too).
measurement_of() { t "$1" ps --json | json "next(x['measurement'] for x in j['tas'] if x['id']=='$2')"; }
# sc NODE_PORT ID MEAS ARGS... -> sclient with the sim allowed
# (a program on the client library names its trust anchors: the sim CA's)
sc() { local p=$1 id=$2 m=$3; shift 3; "$SCLIENT" --allow-sim --anchors "$TALOS_SIM_CA/ca.pem" --measurement "$m" --node "127.0.0.1:$p" --ta "$id" "$@"; }
# st NODE ARGS... -> talos call --secure against NODE (policy from $MEAS)
st() { local n=$1; shift; t "$n" call --secure --allow-sim --measurement "$MEAS" "$@"; }
# relay ARGS... -> a client relay on the next relay port ($RX_PORT), its
# JSON summary in $RX_LOG when it ends (bounded by --timeout).
relay() {
  RX_PORT=$((RX_PORT + 1)); RX_LOG=$T/relay-$RX_PORT.json
  local pid
  pid=$(/usr/bin/python3 "$RELAY" --daemon --listen "$RX_PORT" --log "$RX_LOG" "$@") ||
    fail "relay $* did not start"
  NODE_PIDS+=("$pid")
  RX_PID=$pid
}
relay_stop() { kill "$RX_PID" 2>/dev/null || true; for _ in $(seq 1 100); do [ -f "$RX_LOG" ] && return 0; sleep 0.05; done; }
# version_of NODE ID -> the TA's version on NODE (-1 when it does not serve there)
declare -F version_of >/dev/null ||
  version_of() { t "$1" ps --json | json "next((x['version'] for x in j['tas'] if x['id']=='$2' and x['state']!='MOVED'), -1)"; }
# wait_line N: until the scripted client (sclient script, stdout in $T/out,
# stderr in $T/err) has printed N lines.
wait_line() {
  for _ in $(seq 1 400); do [ "$(wc -l <"$T/out")" -ge "$1" ] && return 0; sleep 0.05; done
  fail "client: no line $1: $(cat "$T/out" "$T/err")"
}
