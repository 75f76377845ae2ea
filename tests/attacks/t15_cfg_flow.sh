# T15 (also T13): migrated state tampered in a way that breaks the CFG,
# caught by the execution-flow checks on migration (docs/cfg.md, issue #4
# part 3; t15_state_tamper.sh is the tamper that keeps the CFG). A
# source built with test hooks (kvstore-faults.ta, $TALOS_FLOW_TAMPER)
# sends a forged thread context: one resuming in the middle of a function,
# one with a return address no call site produces. The target checks the
# context against its CFG before PREPARED and refuses with CFG; the source
# serves on with its state intact (I4, I8) and no target serves (I1). A
# target whose host hands it a wrong CFG file refuses too (CFG_DIGEST, CFG).
. "$(dirname "$0")/../integration/lib.sh"
FAULTS=$TALOS_ROOT/$BUILD/tests/ta/kvstore-faults.ta
start_node b; B_PORT=$PORT

for how in mid_function bad_return; do
  export TALOS_FLOW_TAMPER=$how
  start_node "src_$how"
  unset TALOS_FLOW_TAMPER
  TA=$(t "src_$how" run "$FAULTS")
  t "src_$how" call "$TA" fill 200 64 7 >/dev/null
  D=$(t "src_$how" call "$TA" digest)
  expect_fail CFG "src_$how" migrate "$TA" --to 127.0.0.1:$B_PORT
  # The refusal is the flow check's, not the CFG digest policy's.
  err=$(t "src_$how" migrate "$TA" --to 127.0.0.1:$B_PORT 2>&1 >/dev/null || true)
  case "$err" in *CFG_DIGEST*) fail "$how: refused by the digest policy, not the flow check: $err" ;; esac
  assert_eq "$(t "src_$how" call "$TA" digest)" "$D" "$how: source state unchanged"
  t "src_$how" call "$TA" put after "$how" >/dev/null
  assert_eq "$(t "src_$how" call "$TA" get after)" "$how" "$how: source serves after the refusal"
  assert_eq "$(t b ps --json | json 'len([x for x in j["tas"] if x["state"]=="ACTIVE"])')" 0 \
    "$how: no target serves"
  grep -q "TALOS_FLOW_TAMPER=$how" "$T/src_$how.log" || fail "$how: the tamper hook did not run"
done
grep -q "no migration point" "$T/b.log" || fail "target must log the mid-function refusal"
grep -q "follows no call site" "$T/b.log" || fail "target must log the bad return address"

# A target whose host hands it another image's CFG file (valid, but not
# the one its platform signed): CFG_DIGEST. A damaged CFG file: the parser
# refuses it and the target has no CFG to check against: CFG. Both hosts
# are sim-only test knobs of the platform (TALOS_SIM_CFG_FILE).
"$TALOS" cfg "$LEDGER" --output "$T/ledger.cfg" >/dev/null
"$TALOS" cfg "$KV" --output "$T/damaged.cfg" >/dev/null
python3 - "$T/damaged.cfg" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(100); b = f.read(1); f.seek(100); f.write(bytes([b[0] ^ 0x20]))
PY
start_node src_plain
TA=$(t src_plain run "$KV")
t src_plain call "$TA" fill 200 64 9 >/dev/null
D=$(t src_plain call "$TA" digest)
for bad in ledger damaged; do
  export TALOS_SIM_CFG_FILE=$T/$bad.cfg
  start_node "cfg_$bad"; P=$PORT
  unset TALOS_SIM_CFG_FILE
  grep -q "TALOS_SIM_CFG_FILE" "$T/cfg_$bad.log" || fail "the CFG file knob must be logged"
  if [ "$bad" = ledger ]; then want=CFG_DIGEST why="does not hash to this TA's signed cfg_digest"
  else want=CFG why="no CFG to check thread contexts against"; fi
  expect_fail "($want)" src_plain migrate "$TA" --to 127.0.0.1:$P
  grep -q "$why" "$T/cfg_$bad.log" || fail "$bad: target must log: $why"
  assert_eq "$(t src_plain call "$TA" digest)" "$D" "$bad: source state unchanged"
  assert_eq "$(t "cfg_$bad" ps --json | json 'len([x for x in j["tas"] if x["state"]=="ACTIVE"])')" 0 \
    "$bad: no target serves"
done

# The same test image without tampering migrates: the check accepts the
# genuine context (the serve loop's call boundary).
start_node honest
TA=$(t honest run "$FAULTS")
t honest call "$TA" fill 200 64 7 >/dev/null
D=$(t honest call "$TA" digest)
t honest migrate "$TA" --to 127.0.0.1:$B_PORT >/dev/null
assert_eq "$(t b call "$TA" digest)" "$D" "digest after the honest migration"
