# The ledger under load: a client does random transfers on A's socket while
# the ledger migrates A -> B; on MOVED it switches to B (a MOVED reply means
# the transfer did not run, so it is sent again there, exactly once). After:
#   - money only moved: `total` unchanged, and every balance equals the
#     client's own book (it is the only writer);
#   - the client's count of successful transfers == the ledger's `stats`;
#   - every reply before the move came from A, every one after from B, and
#     the migration's version separates them (A's successes end at it, B's
#     start after it);
#   - the version the client saw never decreased (and grew with each
#     successful transfer);
#   - A, probed after the move, only ever answers MOVED.
. "$(dirname "$0")/lib.sh"
# Every CLI call is bounded: a hang fails the test (exit 124) instead of stalling it.
t() { local n=$1; shift; timeout 60 "$TALOS" --node "$T/$n" "$@"; }
BG=()
trap 'rc=$?; set +e; for p in "${BG[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; (exit $rc); cleanup' EXIT

start_node a; AP=$PORT
start_node b; BP=$PORT
L=$(t a run "$LEDGER")
ACCTS="alice bob carol dave erin frank grace heidi"
for x in $ACCTS; do t a call "$L" open "$x" 1000000 >/dev/null; done
assert_eq "$(t a call "$L" total)" 8000000 "total after open"

python3 - "$T/a/talosd.sock" "$T/b/talosd.sock" "$L" "$T/stop" "$T/progress" "$T/result.json" "$BP" $ACCTS <<'PY' &
import json, os, random, sys, time
sys.path.insert(0, "tests/integration")
from ctl import Ctl
sock_a, sock_b, L, stop, progress, result, bport = sys.argv[1:8]
accts = sys.argv[8:]
rnd = random.Random(11)
book = dict.fromkeys(accts, 1000000)
log = []                      # (node, version, ok) per reply, in order
probes = []                   # replies of A after the move
gap = []                      # B's refusals right after A's MOVED
ok = refused = moved = 0
c, node = Ctl(sock_a), "A"
ca = None
deadline = time.time() + 60
i = 0
while not os.path.exists(stop) and time.time() < deadline:
    a, b = rnd.sample(accts, 2)
    amt = rnd.randint(0, 400000)
    r = c.req(op="call", id=L, ecall="transfer", args=[a, b, str(amt)])
    if not r["ok"] and r["error"] == "MOVED":
        assert node == "A", ("MOVED from B", r)
        # The node's forwarding note (no version: the TA never saw it), or
        # the retired TA itself for a call queued at the freeze: refused
        # before it ran, either way.
        assert ("127.0.0.1:%s" % bport) in r["message"], r  # names where to
        moved += 1
        ca, c, node = c, Ctl(sock_b), "B"
        t0 = time.time()
        while True:
            r = c.req(op="call", id=L, ecall="transfer", args=[a, b, str(amt)])
            # B not serving yet (NO_SUCH_TA, or its own old MOVED note): the
            # transfer did not run; note the answer, try again shortly.
            if r["ok"] or r["error"] not in ("NO_SUCH_TA", "MOVED") or time.time() - t0 > 5:
                break
            gap.append(r["error"])
            time.sleep(0.01)
    assert "version" in r, r
    if r["ok"]:
        book[a] -= amt; book[b] += amt; ok += 1
    else:
        assert r["error"] == "TA_REFUSED" and "insufficient" in r["message"], r
        assert book[a] < amt, (book, r)
        refused += 1
    log.append((node, r["version"], r["ok"]))
    i += 1
    if node == "B" and i % 25 == 0:
        p = ca.req(op="call", id=L, ecall="balance", args=["alice"])
        probes.append(p.get("error"))
    with open(progress + ".tmp", "w") as f:
        f.write("%d %s %d\n" % (i, node, ok))
    os.replace(progress + ".tmp", progress)
json.dump({"ok": ok, "refused": refused, "moved": moved, "book": book, "log": log,
           "probes": probes, "gap": gap}, open(result, "w"))
PY
CL=$!; BG+=($CL)

progress() { cat "$T/progress" 2>/dev/null || echo "0 A 0"; }
for _ in $(seq 1 400); do [ "$(progress | cut -d' ' -f1)" -ge 300 ] && break; sleep 0.05; done
[ "$(progress | cut -d' ' -f1)" -ge 300 ] || fail "client made no progress on A: $(progress)"
MV=$(t a migrate "$L" --to 127.0.0.1:$BP --json | json 'j["version"]')
n_at_move=$(progress | cut -d' ' -f1)
for _ in $(seq 1 400); do [ "$(progress | cut -d' ' -f1)" -ge $((n_at_move + 300)) ] && break; sleep 0.05; done
touch "$T/stop"
rc=0; wait $CL || rc=$?; assert_eq $rc 0 "the load client"
R=$T/result.json
r() { python3 -c "import json; j=json.load(open('$R')); print($1)"; }

assert_eq "$(r 'j["moved"]')" 1 "the client saw exactly one MOVED"
nA=$(r 'sum(1 for n,v,o in j["log"] if n=="A")'); nB=$(r 'sum(1 for n,v,o in j["log"] if n=="B")')
[ "$nA" -ge 300 ] && [ "$nB" -ge 300 ] || fail "load on both sides: $nA replies from A, $nB from B"
assert_eq "$(r '"".join(n for n,v,o in j["log"]).lstrip("A").lstrip("B")')" "" "replies: all of A's, then all of B's"
assert_eq "$(r 'all(j["log"][k][1] <= j["log"][k+1][1] for k in range(len(j["log"])-1))')" True "versions never decrease"
assert_eq "$(r 'all(j["log"][k][1] < j["log"][k+1][1] for k in range(len(j["log"])-1) if j["log"][k+1][2])')" True "each successful transfer advances the version"
# A refused transfer commits nothing and answers the current version, so
# B's first replies may carry the migration's version; a success on B is past it.
assert_eq "$(r 'max(v for n,v,o in j["log"] if n=="A") <= '"$MV"' <= min(v for n,v,o in j["log"] if n=="B")')" True \
  "A's replies at or below the migration's version $MV, B's at or above"
assert_eq "$(r 'min(v for n,v,o in j["log"] if n=="B" and o) > '"$MV")" True "B's successes past version $MV"
assert_eq "$(r 'max(v for n,v,o in j["log"] if n=="A" and o) == '"$MV")" True "A's last success is the migrated version $MV"
[ "$(r 'len(j["probes"])')" -gt 0 ] || fail "A was never probed after the move"
assert_eq "$(r 'sorted(set(j["probes"]))')" "['MOVED']" "A after the move"
[ "$(r 'j["refused"]')" -gt 0 ] || fail "no refused transfer: the load never hit insufficient funds"

# The ledger, on B.
assert_eq "$(t b call "$L" total)" 8000000 "total after the migration under load"
assert_eq "$(t b call "$L" stats)" "accounts 8 transfers $(r 'j["ok"]')" "stats transfers == the client's successes"
for x in $ACCTS; do
  assert_eq "$(t b call "$L" balance "$x")" "$(r "j['book']['$x']")" "balance of $x"
done
expect_fail MOVED a call "$L" total
assert_eq "$(t a ps --json | json "[x['state'] for x in j['tas'] if x['id']=='$L'][0]")" MOVED "A's note"
node_alive "$a_PID"; node_alive "$b_PID"
# Last, after every correctness check held: the redirect itself. A answers
# MOVED only after the target's RECEIPT ("target serves", docs/migration.md),
# so a client that follows MOVED must find the lineage on B at once, not a
# NO_SUCH_TA or B's own stale MOVED note pointing back to A. The load client
# above retried through such answers; here they are counted, and twenty
# round trips, each followed at once by a call on the new node, make the
# window show whenever it exists.
python3 - "$T/a/talosd.sock" "$T/b/talosd.sock" "$L" "127.0.0.1:$AP" "127.0.0.1:$BP" >"$T/roundtrips" <<'PY'
import sys, time
sys.path.insert(0, "tests/integration")
from ctl import Ctl
sa, sb, L, aaddr, baddr = sys.argv[1:]
# the ledger is on B now
src, dst = (sb, sa, aaddr), (sa, sb, baddr)
gaps = []
for i in range(20):
    sock, other, to = src if i % 2 == 0 else dst
    t0 = time.time()
    while True:  # a node that has not registered an arrival yet refuses to send it on
        c = Ctl(sock)
        r = c.req(op="migrate", id=L, to=to)
        while "progress" in r:
            r = c.recv()
        if r["ok"] or time.time() - t0 > 5:
            break
        gaps.append("%d:migrate:%s" % (i, r["error"]))
        time.sleep(0.01)
    assert r["ok"], (i, r)
    r = Ctl(other).req(op="call", id=L, ecall="total", args=[])
    if not r["ok"]:
        gaps.append("%d:call:%s" % (i, r["error"]))
    else:
        assert r["out"] == "8000000", r
print(" ".join(gaps))
PY
assert_eq "$(r 'j["gap"]')" "[]" "B's answers to the load client right after A's MOVED"
assert_eq "$(cat "$T/roundtrips")" "" "calls on the new node right after a completed migration (round:error)"
echo "ledger under load: $nA replies from A, $nB from B, moved at version $MV, $(r "j[\"ok\"]") transfers ok, $(r "j[\"refused\"]") refused"
