# The state heap and data section of ordinary C code (issue #16, D47):
# tests/ta_state/heapstress uses malloc, realloc and free as any C program
# does, its bookkeeping in plain static data, and checks every live block's
# pattern.
#  1. 20 migrations, stop-and-copy and pre-copy in turn, each after a few
#     hundred random steps: the blocks' checksum is the same after each move
#     as right before it, and every block holds its pattern;
#  2. a heap the host corrupts (sim gives no isolation: root can write the
#     TA's memory) is refused by the arena's own check when the TA next
#     frees: the TA ends with the arena's error, it does not go on with a
#     corrupted heap, and its node says the lineage is lost.
. "$(dirname "$0")/lib.sh"
HS=$TALOS_ROOT/$BUILD/tests/ta/heapstress.ta
start_node a; A_PORT=$PORT
start_node b; B_PORT=$PORT

TA=$(t a run "$HS")
here=a; there=b; there_port=$B_PORT
for i in $(seq 1 20); do
  t $here call "$TA" churn 300 "$i" >/dev/null
  before=$(t $here call "$TA" check)
  case "$before" in "ok "*) ;; *) fail "round $i: check before the move: $before" ;; esac
  mode=--stop-and-copy; [ $((i % 2)) = 0 ] && mode=--precopy
  t $here migrate "$TA" --to 127.0.0.1:$there_port $mode >/dev/null
  assert_eq "$(t $there call "$TA" check)" "$before" "round $i ($mode): the blocks after the move"
  if [ $here = a ]; then here=b; there=a; there_port=$A_PORT; else here=a; there=b; there_port=$B_PORT; fi
done
live=$(t $here call "$TA" check | cut -d' ' -f2)
[ "$live" -gt 50 ] || fail "only $live live blocks: the churn did not exercise the heap"

# --- 2. The host overwrites a live block's head tag (16 bytes before it).
read -r addr _ <<<"$(t $here call "$TA" where)"
pid=$(t $here ps --json | json "[x['pid'] for x in j['tas'] if x['id']=='$TA'][0]")
python3 - "$pid" "$addr" <<'PY'
import sys
pid, addr = int(sys.argv[1]), int(sys.argv[2], 16)
with open("/proc/%d/mem" % pid, "r+b", buffering=0) as m:
    m.seek(addr - 16)
    m.write(b"\x41" * 8)
PY
expect_fail TA_CRASHED $here call "$TA" free_all
grep -q "talos arena: talos_free of a pointer that is not a live block" "$T/$here.log" ||
  fail "the arena's error is not in the node's log: $(tail -5 "$T/$here.log")"
node_alive "$a_PID"; node_alive "$b_PID"
