# T38: a crashing TA writes its state to a core file (docs/confinement.md).
# With core dumps enabled on the machine (core_pattern a file under this
# test's folder, writable by the TA user; ulimit -c unlimited in the shell
# that starts talosd), a TA holding a canary in its state arena and in a
# TALOS_PERSIST variable crashes, once by abort() and once by a forbidden
# system call (SIGSYS also dumps core by default). No core file may appear,
# and no file under the test's folder (node state, logs, the core folder)
# may hold the canary (I4). core_pattern is put back on exit, pass or fail.
. "$(dirname "$0")/../integration/lib.sh"
EXPECT_FORBIDDEN_CALLS=1 # the second crash (lib.sh)
ESCAPE=$TALOS_ROOT/$BUILD/tests/ta/escape.ta
PATTERN=/proc/sys/kernel/core_pattern
if ! [ -w "$PATTERN" ] || ! saved=$(cat "$PATTERN") || ! printf '%s' "$saved" >"$PATTERN"; then
  echo "T38 not run: $PATTERN is not writable here (needs root)"
  exit 0
fi
# set +e: lib.sh's set -e would end the trap at (exit 1), before cleanup.
trap 'rc=$?; set +e; printf "%s\n" "$saved" >"$PATTERN"; (exit $rc); cleanup' EXIT
# The TA user must reach the core folder: $T is 0700.
chmod 0711 "$T"
CORES=$T/cores
mkdir -m 1777 "$CORES"
printf '%s\n' "$CORES/core.%e.%p" >"$PATTERN"
ulimit -c unlimited
start_node a

# The canary is KEY in upper case, written by the TA into its state only:
# KEY itself travels in the call, the canary nowhere (tests/ta/escape).
KEY=$(python3 -c "import random, string; print(''.join(random.choice(string.ascii_lowercase) for _ in range(32)))")
CANARY=$(tr a-z A-Z <<<"$KEY")
for crash in abort "exec /nonexistent/t38"; do
  TA=$(t a run "$ESCAPE")
  t a call "$TA" plant "$KEY" >/dev/null
  expect_fail TA_CRASHED a call "$TA" $crash
done
sleep 0.5 # a core, were one written, is complete before the TA is reaped; be generous
node_alive "$a_PID"

# The canary first: were a core written (the check below), the state must
# still be out of it (MADV_DONTDUMP on the arena and the persist section).
hits=$(grep -rl -a -F "$CANARY" "$T" 2>/dev/null | head -5 || true)
[ -z "$hits" ] || fail "the canary is in: $hits"
files=$(find "$CORES" -mindepth 1 | head -5)
[ -z "$files" ] || fail "core files were written: $files"
grep -q "TA escape (pid [0-9]*) killed by signal 6 (SIGABRT)" "$T/a.log" ||
  fail "the node's log does not show the abort: $(grep -h killed "$T/a.log")"
grep -q "killed: forbidden system call execve (sim confinement)" "$T/a.log" ||
  fail "the node's log does not name execve"
