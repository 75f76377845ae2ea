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
# call --secure: a policy is required, its options need --secure, and
# --connect stands in for the node.
echo x >"$T/a.pem"
ID=00112233445566778899aabbccddeeff M=$(printf '1%.0s' $(seq 64))
rc=0; err=$(env -u TALOS_NODE "$TALOS" call --secure --connect 127.0.0.1:1 "$ID" get 2>&1) || rc=$?
assert_eq $rc 2 "secure call without a policy"
case "$err" in *"needs --policy FILE or --measurement HEX"*) ;; *) fail "no-policy message: $err" ;; esac
rc=0; "$TALOS" --node "$T/x" call --measurement "$M" "$ID" get 2>/dev/null || rc=$?
assert_eq $rc 2 "--measurement without --secure"
rc=0; "$TALOS" --node "$T/x" call --secure --measurement 12 "$ID" get 2>/dev/null || rc=$?
assert_eq $rc 2 "a short --measurement"
rc=0; env -u TALOS_NODE "$TALOS" call --secure --measurement "$M" "$ID" get 2>/dev/null || rc=$?
assert_eq $rc 2 "secure call with neither --connect nor a node"
rc=0; err=$(env -u TALOS_NODE "$TALOS" call --secure --connect 127.0.0.1:1 --measurement "$M" \
  --anchors "$T/a.pem" "$ID" get 2>&1) || rc=$?
assert_eq $rc 1 "secure call to a closed port"
case "$err" in *"talos: call get: "*"(IO)"*) ;; *) fail "closed-port message: $err" ;; esac
rc=0; err=$("$TALOS" --node "$T/nonode" ps 2>&1) || rc=$?; assert_eq $rc 1 "unreachable node"
echo "$err" | grep -q "talosd running" || fail "unreachable-node message: $err"
start_node n1
TA=$(t n1 run "$KV")
TALOS_NODE=$T/n1 "$TALOS" ps --json | python3 -m json.tool >/dev/null || fail "ps --json"
t n1 call "$TA" put a b --json 2>/dev/null | python3 -m json.tool >/dev/null || \
  t n1 --json call "$TA" put a b | python3 -m json.tool >/dev/null || fail "call --json"
t n1 --json node | python3 -m json.tool >/dev/null || fail "node --json"
