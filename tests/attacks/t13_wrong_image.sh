# T13: the target node runs another image than the one the source offered,
# under the genuine image's name: one instruction patched, another build
# (the probe TA), an older build (kvstore with fault points). The source TA
# measures the target itself: MEASUREMENT, and it serves on, unchanged.
. "$(dirname "$0")/../integration/lib.sh"
start_node a
TALOSD=$HOSTILE_TALOSD start_node b; B_PORT=$PORT # b plants wrong images under the genuine name
TA=$(t a run "$KV")
t a call "$TA" fill 500 64 3 >/dev/null
D=$(t a call "$TA" digest)
img=$(t a ps --json | json "[x['image'] for x in j['tas'] if x['id']=='$TA'][0]")
name=$(basename "$img")
mkdir -p "$T/b/images"

# One instruction patched: the first byte of kv_digest becomes int3 (0xcc).
# The target starts, attests honestly, and its measurement differs.
python3 - "$KV" "$T/patched.ta" <<'PY'
import subprocess, sys, shutil
src, dst = sys.argv[1], sys.argv[2]
addr = int(subprocess.check_output(["nm", src], text=True).split("kv_digest")[0].split("\n")[-1].split()[0], 16)
off = None
for line in subprocess.check_output(["readelf", "-lW", src], text=True).splitlines():
    f = line.split()
    if f and f[0] == "LOAD":
        o, v, fs = int(f[1], 16), int(f[2], 16), int(f[4], 16)
        if v <= addr < v + fs:
            off = o + addr - v
shutil.copy(src, dst)
with open(dst, "r+b") as fh:
    fh.seek(off); b = fh.read(1); fh.seek(off); fh.write(b"\xcc" if b != b"\xcc" else b"\x90")
PY

for variant in "$T/patched.ta" "$PROBE" "$TALOS_ROOT/$BUILD/tests/ta/kvstore-faults.ta"; do
  install -m 755 "$variant" "$T/b/images/$name"
  expect_fail MEASUREMENT a migrate "$TA" --to 127.0.0.1:$B_PORT
  assert_eq "$(t a call "$TA" digest)" "$D" "source state unchanged ($(basename "$variant"))"
  assert_eq "$(t b ps --json | json 'len([x for x in j["tas"] if x["state"]=="ACTIVE"])')" 0 "no target serves"
done
grep -q "target for $TA FAILED" "$T/b.log" || fail "target node must log the failure"

# With the genuine image back, the same migration works.
install -m 755 "$KV" "$T/b/images/$name"
t a migrate "$TA" --to 127.0.0.1:$B_PORT >/dev/null
assert_eq "$(t b call "$TA" digest)" "$D" "digest after the genuine migration"
