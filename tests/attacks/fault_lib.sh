# Sourced after ../integration/lib.sh by the attacks that stop a TA at a
# named step (ta/fault.h, $TALOS_FAULT=name[:stall|:stop], in the test
# image KVF): t16-t20.
# Every CLI call is bounded: a hang fails the test (exit 124) instead of stalling it.
t() { local n=$1; shift; timeout 60 "$TALOS" --node "$T/$n" "$@"; }
unset TALOS_FAULT
KVF=$TALOS_ROOT/$BUILD/tests/ta/kvstore-faults.ta
# Background processes a test starts (BG+=($!)): killed and reaped at exit,
# before lib.sh's cleanup.
BG=()
trap 'rc=$?; set +e; for p in "${BG[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; (exit $rc); cleanup' EXIT

# wait_log FILE REGEX [TRIES]: until a line of FILE matches (TRIES x 50 ms,
# 10 s by default), or fail.
wait_log() { for _ in $(seq 1 ${3:-200}); do grep -qsE "$2" "$1" && return 0; sleep 0.05; done; fail "no /$2/ in $1"; }

# stalled_target NODE_PID: the pid of the node's first child once it waits
# at a :stall fault point (in pause()); empty after 10 s.
stalled_target() {
  local tp
  for _ in $(seq 1 400); do
    tp=$(child_procs "$1" | awk 'NR == 1 {print $1}')
    [ -n "$tp" ] && grep -q pause "/proc/$tp/wchan" 2>/dev/null && { echo "$tp"; return 0; }
    sleep 0.025
  done
}
