# 10 000 puts then 10 000 gets through a node, on one control connection,
# in passive and in switchless mode; then spot checks through the CLI.
. "$(dirname "$0")/lib.sh"
start_node n1
for mode in passive switchless; do
  flag=; [ $mode = switchless ] && flag=--switchless
  TA=$(t n1 run "$KV" $flag)
  python3 - "$T/n1/talosd.sock" "$TA" <<'PY'
import sys
sys.path.insert(0, "tests/integration")
from ctl import Ctl
c = Ctl(sys.argv[1]); ta = sys.argv[2]
for i in range(10000):
    r = c.req(op="call", id=ta, ecall="put", args=[f"key{i}", f"value-{i * 7919}"])
    assert r["ok"], r
for i in range(10000):
    r = c.req(op="call", id=ta, ecall="get", args=[f"key{i}"])
    assert r["ok"] and r["out"] == f"value-{i * 7919}", (i, r)
r = c.req(op="call", id=ta, ecall="count", args=[])
assert r["out"] == "10000" and r["version"] == 20001, r  # every successful ecall commits
PY
  assert_eq "$(t n1 call "$TA" get key4321)" "value-$((4321 * 7919))" "$mode spot check"
  assert_eq "$(t n1 ps --json | json "[x['mode'] for x in j['tas'] if x['id']=='$TA'][0]")" $mode "mode"
done
node_alive "$n1_PID"
