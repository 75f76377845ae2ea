# talos(1): --help everywhere, usage errors exit 2, --json is JSON.
. "$(dirname "$0")/lib.sh"
"$TALOS" --help | grep -q attest || fail "talos --help"
for c in run call ps attest stop node; do
  "$TALOS" "$c" --help >/dev/null || fail "talos $c --help"
done
rc=0; "$TALOS" 2>/dev/null || rc=$?; assert_eq $rc 2 "no command"
rc=0; "$TALOS" --node "$T/x" frob 2>/dev/null || rc=$?; assert_eq $rc 2 "unknown command"
rc=0; "$TALOS" --node "$T/x" call 2>/dev/null || rc=$?; assert_eq $rc 2 "call without TA"
rc=0; env -u TALOS_NODE "$TALOS" ps 2>/dev/null || rc=$?; assert_eq $rc 2 "no node"
rc=0; err=$("$TALOS" --node "$T/nonode" ps 2>&1) || rc=$?; assert_eq $rc 1 "unreachable node"
echo "$err" | grep -q "talosd running" || fail "unreachable-node message: $err"
start_node n1
TA=$(t n1 run "$KV")
TALOS_NODE=$T/n1 "$TALOS" ps --json | python3 -m json.tool >/dev/null || fail "ps --json"
t n1 call "$TA" put a b --json 2>/dev/null | python3 -m json.tool >/dev/null || \
  t n1 --json call "$TA" put a b | python3 -m json.tool >/dev/null || fail "call --json"
t n1 --json node | python3 -m json.tool >/dev/null || fail "node --json"
