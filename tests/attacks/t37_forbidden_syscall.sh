# T37: a TA makes a forbidden system call (docs/confinement.md). A sim TA
# process is confined the way an enclave is: seen from outside it runs as
# the TA user (nobody when the node runs as root), with no_new_privs, a
# seccomp filter, no core dumps, not dumpable, in network and mount
# namespaces of its own, with none of the node's environment but TALOS_*
# (and the sanitizer options). A TA that runs a program (execve) or opens a
# socket of its own is killed at that call: the ecall answers TA_CRASHED,
# the program never ran, and the node's log names the call.
. "$(dirname "$0")/../integration/lib.sh"
EXPECT_FORBIDDEN_CALLS=1 # the point of this test (lib.sh)
ESCAPE=$TALOS_ROOT/$BUILD/tests/ta/escape.ta
# The marker lies where the TA user could create it, were execve allowed:
# $T is the test's own 0700 folder.
M=$(mktemp -d /tmp/talos-t37.XXXXXX)
chmod 1777 "$M"
# set +e: lib.sh's set -e would end the trap at (exit 1), before cleanup.
trap 'rc=$?; set +e; rm -rf "$M"; (exit $rc); cleanup' EXIT
export T37_NOT_FOR_TAS=1 # the node's environment: must not reach a TA
start_node a

pid_of() { t a ps --json | json "[x['pid'] for x in j['tas'] if x['id']=='$1'][0]"; }
status() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

TA=$(t a run "$ESCAPE")
assert_eq "$(t a call "$TA" ping)" pong "a confined TA serves"
P=$(pid_of "$TA")
[ "$P" -gt 0 ] || fail "no pid for the TA"

# Seen from outside.
assert_eq "$(status "$P" NoNewPrivs)" 1 "no_new_privs"
assert_eq "$(status "$P" Seccomp)" 2 "seccomp filter mode"
assert_eq "$(awk '/^Max core file size/ {print $5 "/" $6}' "/proc/$P/limits")" 0/0 \
  "core size limit (soft/hard)"
tr '\0' '\n' <"/proc/$P/environ" | grep -q '^T37_NOT_FOR_TAS=' && fail "the node's environment reached the TA"
tr '\0' '\n' <"/proc/$P/environ" | grep -v -e '^TALOS_' -e '^ASAN_OPTIONS=' -e '^UBSAN_OPTIONS=' \
  -e '^LSAN_OPTIONS=' -e '^$' && fail "the TA got variables beyond TALOS_* and the sanitizer options"
if [ "$(id -u)" -eq 0 ]; then
  assert_eq "$(status "$P" Uid)" 65534 "the TA runs as nobody"
  assert_eq "$(awk '$1 == "Groups:" {print NF}' "/proc/$P/status")" 1 "no supplementary groups"
  [ "$(readlink "/proc/$P/ns/net")" != "$(readlink "/proc/$a_PID/ns/net")" ] ||
    fail "the TA shares talosd's network namespace"
  [ "$(readlink "/proc/$P/ns/mnt")" != "$(readlink "/proc/$a_PID/ns/mnt")" ] ||
    fail "the TA shares talosd's mount namespace"
fi
# Not dumpable: its /proc files belong to root, not to its own user.
[ "$(status "$P" Uid)" != 0 ] || fail "the TA runs as root: dumpable cannot be seen"
assert_eq "$(stat -c %u "/proc/$P/fd")" 0 "the TA is not dumpable (/proc/PID/fd owned by root)"

# execve: killed at the call; the shell never ran.
expect_fail TA_CRASHED a call "$TA" exec "$M/marker"
sleep 0.2
[ -e "$M/marker" ] && fail "execve ran a program from a confined TA"
grep -q "TA escape (pid $P) killed: forbidden system call execve (sim confinement)" "$T/a.log" ||
  fail "the node's log does not name execve: $(grep -h killed "$T/a.log")"
expect_fail TA_CRASHED a call "$TA" ping

# socket: a network endpoint of its own.
TA=$(t a run "$ESCAPE")
P=$(pid_of "$TA")
expect_fail TA_CRASHED a call "$TA" socket
grep -q "TA escape (pid $P) killed: forbidden system call socket (sim confinement)" "$T/a.log" ||
  fail "the node's log does not name socket: $(grep -h killed "$T/a.log")"
node_alive "$a_PID"
