# T35 (docs/node-security.md): the peer port is bounded. An attacker with no
# node certificate (uid 65534, from 127.0.0.2) opens 400 connections to B:
# half stay idle, half trickle a byte every 2 s. B keeps at most 16 from one
# address (64 in all) and cuts each at its handshake deadline (10 s); it
# stays responsive (ps), its threads stay bounded, and a genuine migration
# from A (127.0.0.1) goes through meanwhile. Then a certified node (an
# attacker that owns a node) announces images of 500 MiB and sends junk:
# B streams them to disk (its memory does not grow with them) and deletes
# them. Then six virgin targets are each told their state is 1 TiB: what
# they pre-fault together stays within B's budget (512 MiB).
. "$(dirname "$0")/../integration/lib.sh"
start_node a; A_PORT=$PORT
start_node b; B_PORT=$PORT
APY=/usr/bin/python3 # the system's: the attacker cannot run root's pyenv
A=$T/attacker
mkdir -m 0777 "$A"
chmod 0711 "$T"
threads() { sed -n 's/^Threads:[[:space:]]*//p' "/proc/$1/status"; }
rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status"; }
T0=$(threads "$b_PID")

# --- 1. 400 idle and trickling connections, no certificate.
cat >"$A/flood.py" <<'PY'
import socket, sys, time
port, n, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
socks, opened = [], 0
for i in range(n):
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    try:
        s.connect(("127.0.0.1", port))
        opened += 1
    except OSError:
        s.close()
        continue
    socks.append(s)
end = time.time() + secs
while time.time() < end:
    for i, s in enumerate(socks):
        if i % 2:  # trickle: one byte of a TLS ClientHello at a time
            try:
                s.send(b"\x16")
            except OSError:
                pass
    time.sleep(2)
print(opened)
PY
setpriv --reuid=65534 --regid=65534 --clear-groups "$APY" "$A/flood.py" "$B_PORT" 400 25 >"$A/flood.out" 2>&1 &
FLOOD=$!
sleep 3
start=$(date +%s%N)
t b ps >/dev/null
ps_ms=$((($(date +%s%N) - start) / 1000000))
[ "$ps_ms" -lt 2000 ] || fail "ps on b took $ps_ms ms under the flood"
TH=$(threads "$b_PID")
[ "$TH" -le $((T0 + 64 + 8)) ] || fail "b runs $TH threads under the flood (was $T0): connections are not capped"
TA=$(t a run "$KV")
t a call "$TA" put apple red >/dev/null
start=$(date +%s%N)
t a migrate "$TA" --to "127.0.0.1:$B_PORT" >/dev/null || fail "a genuine migration under the flood"
mig_ms=$((($(date +%s%N) - start) / 1000000))
assert_eq "$(t b call "$TA" get apple)" red "the lineage serves on b"
grep -q "peer 127.0.0.2: connection refused: at most 64 peer connections (16 per address)" "$T/b.log" ||
  fail "b does not say it refused connections over the cap"
sleep 9 # past the 10 s handshake deadline of the first ones
grep -q "peer 127.0.0.2: handshake deadline passed: connection cut" "$T/b.log" ||
  fail "b does not cut connections at the handshake deadline"
TH2=$(threads "$b_PID")
[ "$TH2" -le $((T0 + 24)) ] || fail "b still runs $TH2 threads after the deadline (was $T0)"
wait "$FLOOD" || true
node_alive "$b_PID"
echo "flood: ps ${ps_ms} ms, $TH threads at most (was $T0), a migration in ${mig_ms} ms"

# --- 2. Junk images announced at 500 MiB by a certified node.
# Six at once: at most four are received at a time (each may hold up to
# 512 MiB of disk until it is checked); the others are told BUSY.
python3 - "$B_PORT" "$T" <<'PY' &
import hashlib, os, socket, struct, sys, threading, types
sys.path.insert(0, "tests/attacks")
import proxy
port, tmp = int(sys.argv[1]), sys.argv[2]
def junk_image():
    try:
        tls = proxy.node_tls(types.SimpleNamespace(node_ca=None, tmpdir=tmp)).wrap_socket(
            socket.create_connection(("127.0.0.1", port)))
        offer = b"TALOSP2\0" + os.urandom(16) + os.urandom(32) + struct.pack(">QBI", 500 << 20, 0, 0)
        tls.sendall(struct.pack(">I", len(offer)) + offer)
        proxy.recv_peer_msg(tls)  # "send the image"
        junk = os.urandom(1 << 20)
        for _ in range(100):  # 100 MiB of it, then hang up
            tls.sendall(junk)
        tls.close()
    except (OSError, EOFError):
        pass  # refused (BUSY) while sending
ts = [threading.Thread(target=junk_image) for _ in range(6)]
for t in ts:
    t.start()
for t in ts:
    t.join()
PY
JUNK=$!
peak=0
while kill -0 "$JUNK" 2>/dev/null; do
  r=$(rss_kb "$b_PID"); [ "$r" -gt "$peak" ] && peak=$r
  sleep 0.1
done
[ "$peak" -lt $((150 * 1024)) ] || fail "b's memory grew to $((peak / 1024)) MiB with junk images"
for _ in $(seq 1 50); do [ "$(find "$T/b/images" -name '.incoming-*' | wc -l)" = 0 ] && break; sleep 0.1; done
assert_eq "$(find "$T/b/images" -name '.incoming-*' | wc -l)" 0 "partial images left on b's disk"
grep -q "image transfer failed" "$T/b.log" || fail "b does not log the broken image transfers"
grep -q "images are being received already" "$T/b.log" || fail "b received more than 4 images at once"
echo "junk images: b's RSS at most $((peak / 1024)) MiB, nothing left on disk"

# --- 2b. 70 control connections held open (the socket is talosd's user's,
# but a runaway client must not make it spawn threads without a bound).
python3 - "$T/b/talosd.sock" <<'PY'
import socket, sys, time
socks = []
for _ in range(70):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    socks.append(s)
time.sleep(1)
PY
grep -q "control: more than 64 clients at once: connection closed" "$T/b.log" || fail "b does not cap control connections"
t b ps >/dev/null || fail "ps on b after the control flood"

# --- 3. Six virgin targets told their state is 1 TiB. What one idle
# virgin target holds (b's warm-pool target, refilled after the migration
# above) is the baseline of a TA process (larger under ASan).
base=0
for _ in $(seq 1 100); do
  read -r p _ < <(child_procs "$b_PID") || true
  [ -n "${p:-}" ] && base=$(rss_kb "$p") && break
  sleep 0.1
done
[ "$base" -gt 0 ] || fail "b has no warm-pool target to take the baseline from"
K=$(t a run "$KV")
HINTS=()
for k in 1 2 3 4 5 6; do
  python3 "$TALOS_ROOT/tests/attacks/proxy.py" --mode fake-source --to "127.0.0.1:$B_PORT" \
    --lineage "$(python3 -c 'import os; print(os.urandom(16).hex())')" --image "$KV" \
    --hint $((1 << 40)) --stall 8 --tmpdir "$T" --log "$T/hint$k.json" --timeout 20 &
  HINTS+=($!)
done
sleep 5
total=0
while read -r p _; do total=$((total + $(rss_kb "$p"))); done < <(child_procs "$b_PID")
n=$(child_procs "$b_PID" | wc -l)
echo "six targets told 1 TiB: $n TA processes on b, $((total / 1024)) MiB resident in all ($((base / 1024)) MiB each idle)"
[ "$total" -lt $(((512 + 16 * n) * 1024 + base * n)) ] ||
  fail "b's targets hold $((total / 1024)) MiB: more than the 512 MiB budget (+ $((base / 1024)) + 16 MiB per process)"
for p in "${HINTS[@]}"; do wait "$p" || true; done
node_alive "$b_PID"
t a migrate "$K" --to "127.0.0.1:$B_PORT" >/dev/null || fail "a migration after the hints"
echo "T35: connections capped and cut, junk images streamed and deleted, pre-fault within budget"
