# Shared helpers of the integration tests: real talosd processes on
# 127.0.0.1, a private sim CA per test, assertions that name what failed.
set -euo pipefail
: "${BUILD:=build}" "${TALOS_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
cd "$TALOS_ROOT"
BIN=$TALOS_ROOT/$BUILD/bin
TALOSD=$BIN/talosd
# A node daemon as a hostile host runs it (test build, Makefile): it runs
# whatever its image store holds under an image's name (wrong targets).
HOSTILE_TALOSD=$TALOS_ROOT/$BUILD/tests/talosd-hostile
TALOS=$BIN/talos
KV=$TALOS_ROOT/$BUILD/examples/kvstore.ta
LEDGER=$TALOS_ROOT/$BUILD/examples/ledger.ta
PROBE=$TALOS_ROOT/$BUILD/tests/ta/probe.ta
T=$(mktemp -d /tmp/talos-test.XXXXXX)
export TALOS_SIM_CA=$T/sim-ca TALOS_NODE_CA=$T/node-ca
PORT=${TEST_PORT_BASE:-21000}
NODE_PIDS=()

cleanup() {
  local rc=$?
  for p in "${NODE_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${NODE_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  # A sim TA killed by its system call filter fails the test unless the test
  # expects it (EXPECT_FORBIDDEN_CALLS=1): the allowlist is found by running
  # these tests (docs/confinement.md), and a call the runtime starts to make
  # must show up here, not as a stray TA_CRASHED.
  if [ $rc -eq 0 ] && [ -z "${EXPECT_FORBIDDEN_CALLS:-}" ] &&
     grep -q "(sim confinement)" "$T"/*.log 2>/dev/null; then
    echo "FAIL: a TA was killed by its system call filter:" >&2
    grep -h "(sim confinement)" "$T"/*.log >&2
    rc=1
  fi
  # The runtime changes its lifecycle state only through core/lifecycle.c's
  # table and logs any move the table refuses: in a test, a bug.
  if [ $rc -eq 0 ] && grep -q "lifecycle: .* refused in state" "$T"/*.log 2>/dev/null; then
    echo "FAIL: a TA asked for a lifecycle move its table refuses:" >&2
    grep -h "lifecycle: .* refused in state" "$T"/*.log >&2
    rc=1
  fi
  if [ $rc -ne 0 ]; then
    for l in "$T"/*.log; do [ -f "$l" ] && { echo "--- $l"; tail -20 "$l"; }; done
  fi
  rm -rf "$T"
  exit $rc
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# start_node NAME -> starts talosd with state dir $T/NAME on the next port.
start_node() {
  local name=$1; shift
  PORT=$((PORT + 1))
  "$TALOSD" --state-dir "$T/$name" --listen "127.0.0.1:$PORT" "$@" >"$T/$name.log" 2>&1 &
  NODE_PIDS+=($!)
  eval "${name}_PID=$!"
  for _ in $(seq 1 200); do
    [ -S "$T/$name/talosd.sock" ] && return 0
    kill -0 "$!" 2>/dev/null || fail "talosd $name exited at start: $(cat "$T/$name.log")"
    sleep 0.02
  done
  fail "talosd $name did not create its socket"
}

# t NAME ARGS... -> the talos CLI against node NAME
t() { local n=$1; shift; "$TALOS" --node "$T/$n" "$@"; }

# expect_fail CODE NAME ARGS... -> the CLI must exit 1 and name CODE on stderr
expect_fail() {
  local code=$1; shift
  local err rc=0
  err=$(t "$@" 2>&1 >/dev/null) || rc=$?
  [ $rc -eq 1 ] || fail "'talos $*' exited $rc, wanted 1 ($code); stderr: $err"
  case "$err" in *"$code"*) ;; *) fail "'talos $*' stderr lacks $code: $err" ;; esac
}

assert_eq() { [ "$1" = "$2" ] || fail "${3:-values differ}: got '$1', wanted '$2'"; }

# json FILTER: read JSON on stdin, print a Python expression over it (j).
json() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }

node_alive() { kill -0 "$1" 2>/dev/null || fail "talosd (pid $1) died"; }

# child_procs PID: "CHILD STATE" per line, children in pid order, zombies
# (state Z) included. Read from /proc, not ps: a fresh Debian has no procps,
# and a missing ps read as "no children" would make the checks vacuous.
child_procs() {
  local f s st pp
  for f in /proc/[0-9]*/stat; do
    { read -r s <"$f"; } 2>/dev/null || continue
    s=${s##*) } # after "(comm)", which may hold spaces: STATE PPID ...
    read -r st pp _ <<<"$s"
    if [ "$pp" = "$1" ]; then echo "${f//[^0-9]/} $st"; fi
  done | sort -n
}

# code_of NODE ARGS...: "OK" when `talos` succeeds, else the error code it
# names on stderr (or EXITn for another exit status). Uses the test's `t`.
code_of() {
  local err rc=0
  err=$(t "$@" 2>&1 >/dev/null) || rc=$?
  if [ $rc -eq 0 ]; then echo OK; return; fi
  [ $rc -eq 1 ] || { echo "EXIT$rc"; return; }
  sed -n 's/.*(\([A-Z_]*\))$/\1/p' <<<"$err" | tail -1
}

# entry NODE LINEAGE FIELD: that field of the lineage's row in `talos ps`
# on NODE, or "none".
entry() { t "$1" ps --json | json "next((str(x['$3']) for x in j['tas'] if x['lineage']=='$2'), 'none')"; }
