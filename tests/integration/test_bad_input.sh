# Every bad input gets a specific error and a one-line reason; the node
# keeps running through all of it.
. "$(dirname "$0")/lib.sh"
start_node n1
TA=$(t n1 run "$KV")
P=$(t n1 run "$PROBE")

# Ecall level: unknown ecall, wrong argument count, oversized arguments.
expect_fail NO_SUCH_ECALL n1 call "$TA" frobnicate
expect_fail BAD_ARGS n1 call "$TA" put onlykey
expect_fail BAD_ARGS n1 call "$TA" get a b
expect_fail BAD_ARGS n1 call "$TA" fill 10 notanumber
big=$(head -c 5000 /dev/zero | tr '\0' k)
expect_fail BAD_ARGS n1 call "$TA" get "$big"           # over get's 4 KiB key shape
expect_fail TOO_LARGE n1 call "$P" out 5000000           # output over 4 MiB
expect_fail TA_REFUSED n1 call "$P" badstatus            # handler returned a non-error
expect_fail ARENA_FULL n1 call "$P" alloc 9000           # over the 8 GiB arena
# A failed ecall does not commit: version unchanged.
v0=$(t n1 call "$P" version)
expect_fail NO_SUCH_ECALL n1 call "$P" nope
assert_eq "$(t n1 call "$P" version)" $((v0 + 1)) "only the successful 'version' call committed"

# TA ids and nodes.
rc=0; t n1 call nothex count 2>/dev/null || rc=$?; assert_eq $rc 2 "malformed TA id is a usage error"
expect_fail NO_SUCH_TA n1 call 0123456789abcdef0123456789abcdef count
expect_fail NO_SUCH_TA n1 stop 0123456789abcdef0123456789abcdef

# Images: missing, not ELF, ELF but not a TA.
expect_fail "No such file" n1 run "$T/missing.ta"
head -c 4096 /dev/urandom >"$T/junk.ta"; chmod +x "$T/junk.ta"
expect_fail IMAGE n1 run "$T/junk.ta"
expect_fail IMAGE n1 run /bin/true
printf '\177ELF' >"$T/trunc.ta"
expect_fail IMAGE n1 run "$T/trunc.ta"

# Control protocol: garbage, non-objects, unknown ops, wrong types, huge frames.
python3 - "$T/n1/talosd.sock" "$TA" <<'PY'
import sys
sys.path.insert(0, "tests/integration")
from ctl import Ctl
sock, ta = sys.argv[1], sys.argv[2]
def expect(r, err):
    assert r is not None and r["ok"] is False and r["error"] == err and r["message"], (r, err)
c = Ctl(sock)
expect(c.raw(b"{not json"), "MALFORMED")
expect(c.raw(b"[1,2,3]"), "MALFORMED")
expect(c.raw(b'{"op": 5}'), "MALFORMED")
expect(c.raw(b'{"op": "call", "op": "ps"}'), "MALFORMED")   # duplicate keys
expect(c.req(op="explode"), "PROTOCOL")
expect(c.req(op="call", id=ta, ecall="get", args="apple"), "MALFORMED")
expect(c.req(op="call", id=ta, ecall="get", args=[1]), "MALFORMED")
expect(c.req(op="call", id=ta, ecall=7, args=[]), "MALFORMED")
expect(c.req(op="call", id=ta.upper(), ecall="count"), "INVALID_ARG")
expect(c.req(op="call", id=ta, ecall="echo", args=["x"] * 17), "BAD_ARGS")
expect(c.req(op="run", image="relative/path.ta"), "INVALID_ARG")
expect(c.req(op="run", image="/bin/true", mode="turbo"), "INVALID_ARG")
expect(c.req(op="attest", id=ta, nonce="abcd"), "INVALID_ARG")
assert c.req(op="ps")["ok"]                      # the connection still works
# An over-limit frame is refused and the connection closed.
expect(Ctl(sock).raw(b"", length=64 << 20), "TOO_LARGE")
# A client that dies mid-frame does not hurt the node.
import socket, struct
s = socket.socket(socket.AF_UNIX); s.connect(sock); s.sendall(struct.pack(">I", 100) + b"{"); s.close()
assert Ctl(sock).req(op="node")["ok"]
PY

# A TA that crashes: its lineage is lost, said so, and the node keeps serving.
expect_fail TA_CRASHED n1 call "$P" crash
expect_fail TA_CRASHED n1 call "$P" noop
assert_eq "$(t n1 ps --json | json "[x['state'] for x in j['tas'] if x['id']=='$P'][0]")" CRASHED "crashed TA in ps"
grep -q "lineage $P lost" "$T/n1.log" || fail "no 'lineage lost' log line (I7)"
t n1 stop "$P"
assert_eq "$(t n1 call "$TA" count)" 0 "other TA unaffected"
node_alive "$n1_PID"
