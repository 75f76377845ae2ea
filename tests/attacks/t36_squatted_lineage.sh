# T36 (docs/node-security.md): a squatted lineage. A certified node (an
# attacker that owns a node) OFFERs lineage X to node B, opens its data
# connection, says HELLO for X and then trickles a byte every 2 s, three
# times over. A genuine migration of X from A to B still succeeds at once:
# an arrival holds nothing up until its target activates (only one whose
# source is attested can), no lock is waited for, and B's `ps` does not
# wait for the squatters' imports either. The squatters' targets are cut
# when their source is not attested within 30 s.
. "$(dirname "$0")/../integration/lib.sh"
start_node a; A_PORT=$PORT
start_node b; B_PORT=$PORT
X=$(t a run "$KV")
t a call "$X" put apple red >/dev/null
SQ=()
for k in 1 2 3; do
  python3 "$TALOS_ROOT/tests/attacks/proxy.py" --mode fake-source --to "127.0.0.1:$B_PORT" \
    --lineage "$X" --image "$KV" --stall 45 --tmpdir "$T" --log "$T/squat$k.json" --timeout 60 &
  SQ+=($!)
done
for _ in $(seq 1 200); do
  [ "$(t b ps --json | json "len([x for x in j['tas'] if x['lineage'] == '$X'])")" -ge 3 ] && break
  sleep 0.05
done
start=$(date +%s%N)
assert_eq "$(t b ps --json | json "len([x for x in j['tas'] if x['lineage'] == '$X'])")" 3 "the squatters' arrivals are listed"
ps_ms=$((($(date +%s%N) - start) / 1000000))
[ "$ps_ms" -lt 2000 ] || fail "ps on b waited $ps_ms ms for the squatters' imports"
start=$(date +%s%N)
t a migrate "$X" --to "127.0.0.1:$B_PORT" >/dev/null || fail "the genuine migration of a squatted lineage"
mig_ms=$((($(date +%s%N) - start) / 1000000))
[ "$mig_ms" -lt 10000 ] || fail "the genuine migration took $mig_ms ms behind the squatters"
assert_eq "$(t b call "$X" get apple)" red "X serves on b"
assert_eq "$(t b ps --json | json "len([x for x in j['tas'] if x['lineage'] == '$X' and x['state'] == 'ACTIVE'])")" 1 "one ACTIVE instance of X (I1)"
echo "squatted: the genuine migration took $mig_ms ms"
# The squatters' targets: cut when their source was not attested in 30 s.
for _ in $(seq 1 450); do
  grep -c "the source was not attested within 30 s" "$T/b.log" | grep -qx 3 && break
  sleep 0.1
done
assert_eq "$(grep -c "the source was not attested within 30 s" "$T/b.log")" 3 "squatters' targets cut"
for p in "${SQ[@]}"; do wait "$p" || true; done
# The bound behind it: at most 4 arrivals of one lineage at once.
Y=$(python3 -c 'import os; print(os.urandom(16).hex())')
SQ=()
for k in 1 2 3 4; do
  python3 "$TALOS_ROOT/tests/attacks/proxy.py" --mode fake-source --to "127.0.0.1:$B_PORT" \
    --lineage "$Y" --image "$KV" --stall 6 --tmpdir "$T" --log "$T/y$k.json" --timeout 20 &
  SQ+=($!)
done
for _ in $(seq 1 200); do
  [ "$(t b ps --json | json "len([x for x in j['tas'] if x['lineage'] == '$Y'])")" = 4 ] && break
  sleep 0.05
done
python3 "$TALOS_ROOT/tests/attacks/proxy.py" --mode offer --to "127.0.0.1:$B_PORT" --lineage "$Y" \
  --image "$KV" --tmpdir "$T" --log "$T/y5.json" --timeout 20
json 'j["answers"][-1][0]' <"$T/y5.json" | grep -qx -- "-11" || fail "a 5th arrival of one lineage: $(cat "$T/y5.json"), wanted BUSY (-11)"
grep -q "refused lineage $Y: 4 arrivals of it under way" "$T/b.log" || fail "b does not say why it refused the 5th arrival"
for p in "${SQ[@]}"; do wait "$p" || true; done
for _ in $(seq 1 100); do
  [ "$(t b ps --json | json "len([x for x in j['tas'] if x['lineage'] == '$X'])")" = 1 ] && break
  sleep 0.1
done
assert_eq "$(t b ps --json | json "[x['state'] for x in j['tas'] if x['lineage'] == '$X']")" "['ACTIVE']" "only X's instance is left on b"
assert_eq "$(t b call "$X" get apple)" red "X still serves on b"
echo "T36: a squatted lineage migrates at once; the squatters are cut after 30 s"
