# 50 secure clients write while their TA migrates A -> B -> A (issue #17):
# no acknowledged write lost, none applied twice, and the versions each
# client sees never go down. Each client moves money from a common account
# to its own, one unit per call, in its own session: at the end each
# client's balance must be exactly the number of transfers it saw
# acknowledged (a lost write makes it lower, a write applied twice higher)
# and the ledger's total must be unchanged.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/session_lib.sh"
start_node a; A_PORT=$PORT
start_node b; B_PORT=$PORT
N=50
L=$(t a run "$LEDGER")
MEAS=$(measurement_of a "$L")
t a call "$L" open bank 1000000 >/dev/null
for i in $(seq 0 $((N - 1))); do t a call "$L" open "c$i" 0 >/dev/null; done

# The clients write until told to stop, so that both moves happen under
# them whatever the machine's speed.
SCLIENT_STOP=$T/stop sc "$A_PORT" "$L" "$MEAS" writers "$N" 0 transfer bank "c{i}" 1 \
  >"$T/acks" 2>"$T/sclient.err" &
W=$!
# Let every client open its session and write, then move the TA twice
# under them (pre-copy: the clients keep writing during the rounds).
for _ in $(seq 1 100); do [ "$(version_of a "$L")" -gt $((N + 2 + N)) ] && break; sleep 0.05; done
t a migrate "$L" --to "127.0.0.1:$B_PORT" --precopy >/dev/null
t b migrate "$L" --to "127.0.0.1:$A_PORT" --precopy >/dev/null
sleep 0.3
touch "$T/stop"
wait $W || fail "a secure client failed: $(cat "$T/sclient.err")"
assert_eq "$(wc -l <"$T/acks")" "$N" "one line per client"

python3 - "$T/acks" "$T/a/talosd.sock" "$L" "$N" <<'PY'
import sys
sys.path.insert(0, "tests/integration")
from ctl import Ctl
acks, sock, L, N = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
c = Ctl(sock)
moved = 0
total_acked = 0
for line in open(acks):
    w = line.split()
    i, acked, moves = int(w[1]), int(w[3]), int(w[5])
    assert acked > 0, line
    r = c.req(op="call", id=L, ecall="balance", args=["c%d" % i])
    assert r["ok"], r
    assert int(r["out"]) == acked, ("client %d: balance %s, acknowledged %d" % (i, r["out"], acked))
    moved += moves > 0
    total_acked += acked
assert c.req(op="call", id=L, ecall="total", args=[])["out"] == "1000000"
r = c.req(op="call", id=L, ecall="balance", args=["bank"])
assert int(r["out"]) == 1000000 - total_acked, r
# The test is only worth something if sessions were open across the moves.
assert moved >= N // 2, "only %d of %d clients followed a move" % (moved, N)
print("clients that followed a move:", moved)
PY
assert_eq "$(t b ps --json | json "[x['state'] for x in j['tas'] if x['id']=='$L']")" "['MOVED']" \
  "b only keeps a forwarding note"
echo "ok"
