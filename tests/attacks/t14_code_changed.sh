# T14: code changed after the launch check, before activation. Acting as the
# hostile host, the test writes one byte of a waiting target's code through
# /proc/PID/mem (the host can: sim has no isolation). The target's memory
# introspection before activation sees it: FAILED + ABORT, and the source,
# already HANDED_OFF, resumes on that verified ABORT — state unchanged.
. "$(dirname "$0")/../integration/lib.sh"
start_node a
start_node b; B_PORT=$PORT
TA=$(t a run "$KV")
t a call "$TA" fill 300 64 5 >/dev/null
D=$(t a call "$TA" digest)

# Running the image once on b leaves a pre-started virgin target of it in b's
# warm pool (docs/decisions.md D12): that is the process to tamper with.
X=$(t b run "$KV"); t b stop "$X"
img="$T/b/images/$(basename "$(t a ps --json | json "[x['image'] for x in j['tas'] if x['id']=='$TA'][0]")")"
pool_pid() {
  local p
  for p in /proc/[0-9]*; do
    if [ "$(readlink "$p/exe" 2>/dev/null)" = "$img" ]; then echo "${p#/proc/}"; return 0; fi
  done
  return 0
}
for _ in $(seq 1 100); do P=$(pool_pid); [ -n "$P" ] && break; sleep 0.05; done
[ -n "$P" ] || fail "no pre-started target of the image on b"
sleep 0.5 # its launch-time measurement runs in the background: let it finish first

addr=$(nm "$KV" | awk '$3 == "kv_digest" {print $1}')
python3 - "$P" "$addr" <<'PY'
import sys
pid, addr = int(sys.argv[1]), int(sys.argv[2], 16)
with open(f"/proc/{pid}/mem", "r+b", buffering=0) as m:
    m.seek(addr); b = m.read(1); m.seek(addr)
    m.write(b"\xcc" if b != b"\xcc" else b"\x90")
PY

expect_fail MEASUREMENT a migrate "$TA" --to "127.0.0.1:$B_PORT"
grep -q "code changed since it was launched" "$T/b.log" || fail "b's log must name the introspection failure"
assert_eq "$(t a call "$TA" digest)" "$D" "the source resumed with its state unchanged (I4, I8)"
assert_eq "$(t a ps --json | json "[x['state'] for x in j['tas'] if x['id']=='$TA'][0]")" ACTIVE "source ACTIVE after the ABORT"
assert_eq "$(t b ps --json | json "len([x for x in j['tas'] if x['id']=='$TA'])")" 0 "no instance on b (I1, I6)"
kill -0 "$P" 2>/dev/null && fail "the tampered target must have ended (FAILED is terminal)"

# An untouched target accepts the same lineage.
t a migrate "$TA" --to "127.0.0.1:$B_PORT" >/dev/null
assert_eq "$(t b call "$TA" digest)" "$D" "digest after a clean migration"
