# Secure migration v1, as the issue's user runs it: 100 000 keys move and
# keep their digest, the id stays, the source says where the TA went; ten
# round trips keep the version chain going; switchless TAs move too.
. "$(dirname "$0")/lib.sh"
start_node a; A_PORT=$PORT
start_node b; B_PORT=$PORT

TA=$(t a run "$KV")
t a call "$TA" fill 100000 100 >/dev/null
D=$(t a call "$TA" digest)
V=$(t a ps --json | json "[x['version'] for x in j['tas'] if x['id']=='$TA'][0]")
out=$(t a migrate "$TA" --to 127.0.0.1:$B_PORT 2>"$T/progress")
grep -q "^moved $TA to 127.0.0.1:$B_PORT at version $V" <<<"$out" || fail "breakdown: $out"
for p in prepare checkpoint transfer restore activate downtime total; do
  grep -q "^$p " <<<"$out" || fail "breakdown lacks $p: $out"
done
grep -q "migrate: done" "$T/progress" || fail "no progress on stderr"
assert_eq "$(t b call "$TA" digest)" "$D" "digest after migration"
expect_fail MOVED a call "$TA" count
err=$(t a call "$TA" count 2>&1 || true)
grep -q "127.0.0.1:$B_PORT" <<<"$err" || fail "MOVED must name where to: $err"
# The target continues the lineage at the same version (+1 for the digest call).
assert_eq "$(t b ps --json | json "[x['version'] for x in j['tas'] if x['id']=='$TA'][0]")" $((V + 1)) "version continues"
assert_eq "$(t a ps --json | json "[x['state'] for x in j['tas'] if x['id']=='$TA'][0]")" MOVED "source note"

# --json breakdown.
j=$(t b migrate "$TA" --to 127.0.0.1:$A_PORT --json)
for k in downtime_ms total_ms state_bytes version; do
  echo "$j" | json "j['$k']" >/dev/null || fail "json lacks $k"
done
echo "$j" | json "j['phases']['transfer_ms']" >/dev/null || fail "json lacks phases"

# Ten round trips, a write on each side each time: nothing lost, versions grow.
last=0
for i in $(seq 1 10); do
  t a call "$TA" put "a$i" "x$i" >/dev/null
  t a migrate "$TA" --to 127.0.0.1:$B_PORT --json >/dev/null
  t b call "$TA" put "b$i" "y$i" >/dev/null
  v=$(t b migrate "$TA" --to 127.0.0.1:$A_PORT --json | json "j['version']")
  [ "$v" -gt "$last" ] || fail "version went from $last to $v"
  last=$v
done
assert_eq "$(t a call "$TA" count)" 100020 "count after round trips"
assert_eq "$(t a call "$TA" get b7)" y7 "a write made on B came back"

# A switchless TA migrates and stays switchless.
S=$(t a run "$KV" --switchless)
t a call "$S" put k v >/dev/null
t a migrate "$S" --to 127.0.0.1:$B_PORT >/dev/null
assert_eq "$(t b call "$S" get k)" v "switchless get after migration"
assert_eq "$(t b ps --json | json "[x['mode'] for x in j['tas'] if x['id']=='$S'][0]")" switchless "mode kept"

# The persist section moves (probe counts in a TALOS_PERSIST global).
P=$(t a run "$PROBE")
t a call "$P" persist >/dev/null; t a call "$P" persist >/dev/null
t a migrate "$P" --to 127.0.0.1:$B_PORT >/dev/null
assert_eq "$(t b call "$P" persist)" 3 "persist counter continues"

# Refusals leave the source serving: no such node, a node that is not TALOS.
expect_fail PEER_CLOSED a migrate "$TA" --to 127.0.0.1:1
rc=0; t a migrate "$TA" --to nonsense 2>/dev/null || rc=$?; assert_eq $rc 1 "bad address"
assert_eq "$(t a call "$TA" get a3)" x3 "source serves after refusals"
node_alive "$a_PID"; node_alive "$b_PID"
