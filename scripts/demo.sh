#!/usr/bin/env bash
# make demo: start a node on this machine, run the kvstore TA in it, call
# it, and attest it: the evidence is verified here, by the client, against
# the local sim CA. Exits non-zero if any step does not hold.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BIN=$PWD/$BUILD/bin
D=$(mktemp -d /tmp/talos-demo.XXXXXX)
export TALOS_SIM_CA=$D/sim-ca
PORT=${DEMO_PORT:-7101}
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
cleanup() { [ -n "${NODE:-}" ] && kill "$NODE" 2>/dev/null && wait "$NODE" 2>/dev/null; rm -rf "$D"; }
trap cleanup EXIT

cat <<'TXT'
TALOS demo — backend: sim.
The sim backend runs every protocol with real cryptography and real checks,
but gives NO hardware isolation: this machine's OS can read the TA's memory.
TXT

say "start a node"
"$BIN/talosd" --state-dir "$D/n1" --listen "127.0.0.1:$PORT" >"$D/n1.log" 2>&1 &
NODE=$!
for _ in $(seq 1 200); do [ -S "$D/n1/talosd.sock" ] && break; sleep 0.02; done
run "$BIN/talos" --node "$D/n1" node

say "run the kvstore TA (its id is its lineage id)"
printf '$ talos --node %s run %s\n' "$D/n1" "$BUILD/examples/kvstore.ta"
TA=$("$BIN/talos" --node "$D/n1" run "$PWD/$BUILD/examples/kvstore.ta")
echo "$TA"

say "call it"
run "$BIN/talos" --node "$D/n1" call "$TA" put apple red
GOT=$("$BIN/talos" --node "$D/n1" call "$TA" get apple)
printf '$ talos call %s get apple\n%s\n' "$TA" "$GOT"
[ "$GOT" = red ] || { echo "demo: expected 'red', got '$GOT'" >&2; exit 1; }
printf '$ talos call %s get pear\n' "$TA"
if "$BIN/talos" --node "$D/n1" call "$TA" get pear; then
  echo "demo: get pear should have failed" >&2; exit 1
fi
run "$BIN/talos" --node "$D/n1" call "$TA" fill 10000 100
run "$BIN/talos" --node "$D/n1" call "$TA" count
run "$BIN/talos" --node "$D/n1" call "$TA" digest
run "$BIN/talos" --node "$D/n1" ps

say "attest it: fresh nonce, evidence verified by this client"
run "$BIN/talos" --node "$D/n1" attest "$TA" --allow-sim
printf '\n$ talos attest %s          # without --allow-sim: refused, as production verifiers must\n' "$TA"
if "$BIN/talos" --node "$D/n1" attest "$TA" >/dev/null; then
  echo "demo: simulated evidence must be refused without --allow-sim" >&2; exit 1
fi

say "demo passed"
