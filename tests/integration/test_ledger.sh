# The ledger keeps its invariant: money only moves.
. "$(dirname "$0")/lib.sh"
start_node n1
L=$(t n1 run "$LEDGER")
for a in alice bob carol dave; do t n1 call "$L" open $a 1000 >/dev/null; done
expect_fail EXISTS n1 call "$L" open alice 5
assert_eq "$(t n1 call "$L" total)" 4000 "total after open"
python3 - "$T/n1/talosd.sock" "$L" <<'PY'
import random, sys
sys.path.insert(0, "tests/integration")
from ctl import Ctl
c = Ctl(sys.argv[1]); L = sys.argv[2]; rnd = random.Random(7)
accts = ["alice", "bob", "carol", "dave"]; bal = dict.fromkeys(accts, 1000); refused = 0
for _ in range(3000):
    a, b = rnd.sample(accts, 2); amt = rnd.randint(0, 600)
    r = c.req(op="call", id=L, ecall="transfer", args=[a, b, str(amt)])
    if bal[a] >= amt:
        assert r["ok"], r; bal[a] -= amt; bal[b] += amt
    else:
        assert r["error"] == "TA_REFUSED" and "insufficient" in r["message"], r; refused += 1
    if _ % 500 == 0:
        assert c.req(op="call", id=L, ecall="total", args=[])["out"] == "4000"
for a in accts:
    assert c.req(op="call", id=L, ecall="balance", args=[a])["out"] == str(bal[a])
assert refused > 0
PY
assert_eq "$(t n1 call "$L" total)" 4000 "total after 3000 transfers"
expect_fail NOT_FOUND n1 call "$L" transfer alice zed 1
expect_fail BAD_ARGS n1 call "$L" transfer alice bob -5
expect_fail BAD_ARGS n1 call "$L" transfer alice bob 99999999999999999
t n1 call "$L" stats | grep -q "^accounts 4 transfers " || fail "stats"
