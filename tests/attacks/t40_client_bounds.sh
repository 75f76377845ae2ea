# T40 (docs/node-security.md): clients that hold, flood or stall the
# relay (node/talosd/clients.c). A node runs with --client-per-ta 3
# --client-max 5 --client-idle 2:
#  - 3 silent sessions to one TA: a 4th client of that TA is refused BUSY,
#    a client of another TA is served; 2 more silent ones to the other TA
#    fill the node: the next client is refused BUSY;
#  - a silent client is disconnected after the idle bound;
#  - a client that sends a call and never reads (its receive window full
#    with 8 MB of answers) stalls neither another client's calls nor a
#    migration of the same TA.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/attack_lib.sh"
. "$(dirname "$0")/../integration/session_lib.sh"
start_node a --client-per-ta 3 --client-max 5 --client-idle 2; A_PORT=$PORT
start_node b; B_PORT=$PORT
TA=$(t a run "$KV"); MEAS=$(measurement_of a "$TA")
TB=$(t a run "$KV")

# hold N ID: N connections that send a client preamble and then nothing;
# prints the pids of the holders.
hold() {
  /usr/bin/python3 - "$A_PORT" "$2" "$1" <<'PY' &
import socket, sys, time, struct
port, ta, n = int(sys.argv[1]), bytes.fromhex(sys.argv[2]), int(sys.argv[3])
socks = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"talosc1\0" + ta)
    socks.append(s)
for s in socks:
    n, = struct.unpack(">I", s.recv(4))
    st, = struct.unpack(">i", s.recv(n)[:4])
    print("answer", st, flush=True)
time.sleep(30)
PY
}
code() { t a call --secure --allow-sim --measurement "$MEAS" --connect "127.0.0.1:$A_PORT" "$@" 2>&1 >/dev/null | grep -o '([A-Z_]*)$' | tr -d '()' || true; }

hold 3 "$TA" >"$T/h1"; H1=$!
for _ in $(seq 1 100); do [ "$(grep -c 'answer 0' "$T/h1")" = 3 ] && break; sleep 0.05; done
assert_eq "$(grep -c 'answer 0' "$T/h1")" 3 "three sessions admitted"
assert_eq "$(code "$TA" get k)" BUSY "a 4th session to the same TA"
assert_eq "$(t a call --secure --allow-sim --measurement "$MEAS" --connect "127.0.0.1:$A_PORT" "$TB" put x y; echo ok)" ok \
  "a client of another TA is served"
hold 2 "$TB" >"$T/h2"; H2=$!
for _ in $(seq 1 100); do [ "$(grep -c 'answer 0' "$T/h2")" = 2 ] && break; sleep 0.05; done
assert_eq "$(code "$TB" get x)" BUSY "a 6th session on the node"
# Silent sessions are closed after --client-idle: then there is room again.
sleep 2.5
assert_eq "$(t a call --secure --allow-sim --measurement "$MEAS" --connect "127.0.0.1:$A_PORT" "$TA" put k v; echo ok)" ok \
  "idle sessions were closed"
kill "$H1" "$H2" 2>/dev/null || true

# A client that never reads its answer.
python3 - "$T/a/talosd.sock" "$TA" <<'PY'
import sys
sys.path.insert(0, "tests/integration")
from ctl import Ctl
c = Ctl(sys.argv[1])
for k in range(1, 9):
    r = c.req(op="call", id=sys.argv[2], ecall="put", args=["big%d" % k, "z" * 1000000])
    assert r["ok"], r
PY
/usr/bin/python3 - "$A_PORT" "$TA" "$SCLIENT" "$MEAS" "$TALOS_SIM_CA/ca.pem" <<'PY' &
# Open a real session with sclient's help is not needed: a stalled client
# only has to make the TA produce bytes it does not take. It speaks TLS
# through Python's ssl module (no verification: it is the attacker's own
# client), sends HELLO and three get calls of 1 MB each, then sleeps.
import socket, ssl, struct, sys, time, os
port, ta = int(sys.argv[1]), bytes.fromhex(sys.argv[2])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: a small window
s.connect(("127.0.0.1", port))
s.sendall(b"talosc1\0" + ta)
n, = struct.unpack(">I", s.recv(4)); s.recv(n)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
t = ctx.wrap_socket(s)
rec = lambda typ, body: struct.pack(">IB", len(body), typ) + body
t.sendall(rec(1, b"\x01" + os.urandom(16)))
def call(seq, name, *args):
    b = struct.pack(">QB", seq, 0) + struct.pack(">I", len(name)) + name + struct.pack(">I", len(args))
    for a in args:
        b += struct.pack(">I", len(a)) + a
    return rec(3, b)
# One call at a time is the protocol, but nothing stops a client from
# pipelining: eight 1 MB answers the node cannot deliver.
t.sendall(b"".join(call(i, b"get", b"big%d" % i) for i in range(1, 9)))
time.sleep(20)
PY
STALL=$!
sleep 1
start=$(date +%s%N)
for i in 1 2 3 4 5; do t a call --secure --allow-sim --measurement "$MEAS" "$TA" put "s$i" v >/dev/null; done
ms=$((($(date +%s%N) - start) / 1000000))
[ "$ms" -lt 5000 ] || fail "five calls took $ms ms beside a stalled client"
t a migrate "$TA" --to "127.0.0.1:$B_PORT" >/dev/null || fail "the migration did not get past a stalled client"
assert_eq "$(t b call "$TA" get s5)" v "moved with its state"
kill "$STALL" 2>/dev/null || true
node_alive "$a_PID"
echo "ok"
