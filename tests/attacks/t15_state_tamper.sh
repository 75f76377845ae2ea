# T15: state tampered in a way that keeps the CFG, caught by the state root.
# Acting as the hostile host, the test writes a migrating TA's state arena
# through /proc/PID/mem (the host can: sim gives no isolation; on a real TEE
# it cannot). The TAs are kvstore-faults images stopped (SIGSTOP, fault mode
# `:stop`, ta/fault.h) at one step of the migration, written, then continued.
#
# 1. Source, once every page is hashed and before the arena's last chunk is
#    sent (source.after_prehash): the pages sent differ from the ones the
#    MANIFEST's root covers. The target must refuse with MAC ("state root or
#    chain head does not match"), go FAILED and send ABORT; the source
#    resumes, its state unchanged (I3, I8); no instance on the target (I1,
#    I6). The byte written lies above the arena's top, inside the last page
#    streamed: part of the measured state, not of the kvstore's data, so the
#    source's digest must stay what it was.
# 2. Target, after two chunks arrived and were hashed (target.after_2_chunks,
#    which waits for the target's leaf hasher):
#    a value already received is rewritten. The target hashes each page as it
#    arrives and never re-reads it, so this write lands after the check: the
#    known window docs/measurement.md describes (sim only). The case asserts
#    what holds either way (one ACTIVE instance, I1) and reports which way
#    it went, so that closing the window shows up here.
. "$(dirname "$0")/../integration/lib.sh"
t() { local n=$1; shift; timeout 60 "$TALOS" --node "$T/$n" "$@"; }
unset TALOS_FAULT
KVF=$TALOS_ROOT/$BUILD/tests/ta/kvstore-faults.ta
CANARY=$(printf 'A%.0s' $(seq 1 64))
TAMPERED=$(printf 'B%.0s' $(seq 1 64))

TALOS_FAULT=source.after_prehash:stop start_node a
start_node b; B_PORT=$PORT
TALOS_FAULT=target.after_2_chunks:stop start_node c; C_PORT=$PORT

# mem PID OP ARGS: the hostile host's view of a TA's arena (its base is read
# from the arena header; sanitizer builds use another one).
mem() {
  python3 - "$@" <<'PY'
import struct, sys
pid, op = int(sys.argv[1]), sys.argv[2]
with open(f"/proc/{pid}/mem", "r+b", buffering=0) as m:
    base = None
    for b in (0x1000000000, 0x200000000000):
        try:
            m.seek(b)
            if m.read(8) == b"TALOSARN":
                base = b
                break
        except OSError:
            pass
    if base is None:
        sys.exit("no arena header at a known base")
    m.seek(base + 32)
    top = struct.unpack("<Q", m.read(8))[0]
    if op == "poke-above-top":  # one byte just above top, in top's page
        if top % 4096 == 0:
            sys.exit(f"top {top:#x} is page-aligned: no slack byte in the last page")
        m.seek(base + top); m.write(b"\x5a")
        m.seek(base + top); assert m.read(1) == b"\x5a"
        print(hex(top))
    elif op == "replace":  # replace OLD NEW within the first LIMIT bytes
        old, new, limit = sys.argv[3].encode(), sys.argv[4].encode(), int(sys.argv[5])
        m.seek(base); data = m.read(limit)
        i = data.find(old)
        if i < 0:
            sys.exit("value not found in the pages received so far")
        m.seek(base + i); m.write(new)
        print(hex(i))
PY
}
# stopped PID: wait until the process is stopped (state T) by its fault point.
wait_stopped() {
  for _ in $(seq 1 400); do
    [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = T ] && return 0
    sleep 0.05
  done
  fail "process $1 never stopped at its fault point"
}
# stopped_child NODE: the pid of NODE's child TA process that is stopped.
stopped_child() {
  local parent c
  parent=$(eval echo "\$${1}_PID")
  for _ in $(seq 1 400); do
    c=$(child_procs "$parent" | awk '$2 == "T" {print $1; exit}')
    [ -n "$c" ] && { echo "$c"; return 0; }
    sleep 0.05
  done
  fail "no TA of node $1 stopped at its fault point"
}
n_active() { local n=0 x; for x in "${@:2}"; do [ "$(entry "$x" "$1" state)" = ACTIVE ] && n=$((n + 1)); done; echo $n; }

TA=$(t a run "$KVF")
t a call "$TA" put canary "$CANARY" >/dev/null
t a call "$TA" fill 3000 256 7 >/dev/null # > 2 chunks of 64 pages
D=$(t a call "$TA" digest)
V=$(entry a "$TA" version)
P=$(entry a "$TA" pid)

# --- 1. source tampered after hashing, before sending ------------------------
rc=0
t a migrate "$TA" --to "127.0.0.1:$B_PORT" >"$T/m1.out" 2>"$T/m1.err" &
M=$!
wait_stopped "$P"
off=$(mem "$P" poke-above-top) || fail "could not write the source's arena"
echo "source: wrote one byte at arena offset $off (above top, hashed, not yet sent)"
kill -CONT "$P"
wait "$M" || rc=$?
[ $rc -eq 1 ] || fail "migrate of a tampered stream exited $rc: $(cat "$T/m1.err")"
grep -q '(MAC)' "$T/m1.err" || fail "migrate must fail with MAC: $(cat "$T/m1.err")"
grep -q "state root or chain head does not match" "$T/b.log" ||
  fail "b's log must name the state-root refusal"
grep -q "ABORT token for $TA" "$T/b.log" || fail "b's FAILED target must have sealed an ABORT (I6)"
assert_eq "$(entry a "$TA" state)" ACTIVE "the source resumed after the verified ABORT (I8)"
assert_eq "$(entry a "$TA" version)" "$V" "the source's version is unchanged (I2, I8)"
assert_eq "$(t a call "$TA" digest)" "$D" "the source's state is unchanged (I8)"
assert_eq "$(t a call "$TA" get canary)" "$CANARY" "the source's canary is unchanged"
assert_eq "$(entry b "$TA" state)" none "no instance of the lineage on b (I1, I6)"
assert_eq "$(n_active "$TA" a b)" 1 "exactly one ACTIVE instance (I1)"

# The same source, stopped at the same step but left alone, migrates: the
# refusal came from the byte written after the hash, not from the fault
# point. (The host's byte is still in the source's memory: sim. Hashed this
# time, it is part of the state the target verifies and installs; above top,
# it is no kvstore data, and talos_arena_check does not look there.)
t a migrate "$TA" --to "127.0.0.1:$B_PORT" >"$T/m2.out" 2>"$T/m2.err" &
M=$!
wait_stopped "$P"
kill -CONT "$P"
wait "$M" || fail "untampered migration a -> b failed: $(cat "$T/m2.err")"
assert_eq "$(t b call "$TA" digest)" "$D" "digest on b after the untampered migration"
assert_eq "$(n_active "$TA" a b)" 1 "exactly one ACTIVE instance after the migration (I1)"

# --- 2. target tampered after its chunks were hashed -------------------------
rc=0
t b migrate "$TA" --to "127.0.0.1:$C_PORT" >"$T/m3.out" 2>"$T/m3.err" &
M=$!
Q=$(stopped_child c)
off=$(mem "$Q" replace "$CANARY" "$TAMPERED" $((2 * 64 * 4096))) ||
  fail "could not rewrite the canary in the target's arena"
echo "target: rewrote the canary at arena offset $off (received and hashed)"
kill -CONT "$Q"
wait "$M" || rc=$?
assert_eq "$(n_active "$TA" b c)" 1 "exactly one ACTIVE instance (I1)"
if [ $rc -eq 0 ]; then
  got=$(t c call "$TA" get canary)
  if [ "$got" = "$TAMPERED" ]; then
    echo "KNOWN WINDOW (sim only, docs/measurement.md): the target installed a page the" \
         "host rewrote after the target hashed it (target.after_2_chunks)"
  else
    assert_eq "$got" "$CANARY" "the target serves the canary it received"
  fi
else
  grep -q '(MAC)' "$T/m3.err" || fail "a refusal must be MAC: $(cat "$T/m3.err")"
  assert_eq "$(t b call "$TA" digest)" "$D" "the source resumed unchanged (I8)"
  echo "target: tampering after the check was refused (MAC)"
fi
# I4: the canary travelled only inside the channel: no log shows it.
for l in "$T"/*.log; do
  ! grep -q "$CANARY\|$TAMPERED" "$l" || fail "a canary value appears in $(basename "$l") (I4)"
done
