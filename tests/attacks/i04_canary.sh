# I4: no byte of TA state leaves a TA in plaintext. A canary is planted in
# a TA's state (put secret CANARY-<32 random hex>, plus a seeded fill), the
# TA migrates A -> B through a capturing proxy and back B -> A through
# another; after each move the canary — as raw bytes, in hex (either case)
# and in base64 (any alignment, standard or URL alphabet) — must appear in
# neither direction of the captured streams nor in any file the test
# produced: both nodes' logs, every file under both state dirs (images,
# sockets aside), the sim CA dir. And the canary is intact where the TA
# serves. Then the same with the canary kept only by ordinary C code: in a
# malloc'ed block and in a library's static buffer (issue #16).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/attack_lib.sh"

start_node a; A_PORT=$PORT
start_node b; B_PORT=$PORT
NODES="a b"
CANARY=CANARY-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
[[ "$CANARY" =~ ^CANARY-[0-9a-f]{32}$ ]] || fail "canary: $CANARY"
TA=$(t a run "$KV")
t a call "$TA" put secret "$CANARY" >/dev/null
t a call "$TA" fill 2000 64 11 >/dev/null
D=$(t a call "$TA" digest)

# scan CAPTURE...: no form of the canary in the streams nor in any file under $T.
scan() {
  python3 - "$CANARY" "$T" "$@" <<'PY'
import base64, os, sys
sys.path.insert(0, "tests/attacks")
import proxy
canary, root, caps = sys.argv[1].encode(), sys.argv[2], sys.argv[3:]
forms = {"raw": canary, "hex": canary.hex().encode(), "HEX": canary.hex().upper().encode()}
for k in range(3):  # base64 at each alignment: the characters only the canary determines
    for name, enc in (("b64", base64.b64encode), ("b64url", base64.urlsafe_b64encode)):
        e = enc(b"\0" * k + canary)
        start, end = -(-8 * k // 6), 8 * (k + len(canary)) // 6
        forms["%s+%d" % (name, k)] = e[start:end]
bad = []
def check(what, data):
    for name, f in forms.items():
        if f in data:
            bad.append("%s in %s" % (name, what))
for cap in caps:
    segs, s2t, t2s = proxy.read_capture(cap)
    # Something real was captured: the image, the TLS handshake, the state.
    assert len(s2t) > 150000 and len(t2s) > 1000, (cap, len(s2t), len(t2s))
    check(cap + " (source -> target)", s2t)
    check(cap + " (target -> source)", t2s)
files = 0
for d, _, names in os.walk(root):
    for n in names:
        p = os.path.join(d, n)
        if os.path.isfile(p) and not os.path.islink(p):
            files += 1
            with open(p, "rb") as f:
                check(p, f.read())
assert files >= 5, files
for sub in ("a", "b", "sim-ca", "a.log", "b.log"):
    assert os.path.exists(os.path.join(root, sub)), sub
if bad:
    sys.exit("I4: the canary leaked: " + "; ".join(bad))
PY
}

# The scanner itself: it must find the canary in each form it looks for
# (base64 at an odd alignment, upper-case hex, raw in a log line).
for plant in "base64.b64encode(b'xy' + c)" "c.hex().upper().encode()" "b'log: ' + c + b' end'"; do
  python3 -c "import base64, sys; c=sys.argv[1].encode(); open(sys.argv[2], 'wb').write($plant)" "$CANARY" "$T/plant"
  scan 2>/dev/null && fail "the scanner missed a planted canary ($plant)"
done
rm -f "$T/plant"

# A -> B through a capturing proxy.
proxy --to "127.0.0.1:$B_PORT" --mode pass --capture "$T/ab.cap"
t a migrate "$TA" --to "127.0.0.1:$PX_PORT" >/dev/null
proxy_wait
serves_once "$TA" b
scan "$T/ab.cap" || fail "I4 after A -> B"
assert_eq "$(t b call "$TA" get secret)" "$CANARY" "the canary on b"
assert_eq "$(t b call "$TA" digest)" "$D" "digest on b"

# B -> A, the same.
proxy --to "127.0.0.1:$A_PORT" --mode pass --capture "$T/ba.cap"
t b migrate "$TA" --to "127.0.0.1:$PX_PORT" >/dev/null
proxy_wait
serves_once "$TA" a
scan "$T/ab.cap" "$T/ba.cap" || fail "I4 after B -> A"
assert_eq "$(t a call "$TA" get secret)" "$CANARY" "the canary back on a"
assert_eq "$(t a call "$TA" digest)" "$D" "digest back on a"
# The same for ordinary C code (issue #16, D47): the canary only in a
# malloc'ed block (strdup) and in the static buffer of a library
# (tests/lib_state/canary.c) of a TA built with ta_link_state, which
# migrate as state.
H=$(t a run "$TALOS_ROOT/$BUILD/tests/ta/heapstress.ta")
t a call "$H" churn 200 5 >/dev/null
t a call "$H" canary "$CANARY" >/dev/null
proxy --to "127.0.0.1:$B_PORT" --mode pass --capture "$T/hab.cap"
t a migrate "$H" --to "127.0.0.1:$PX_PORT" >/dev/null
proxy_wait
serves_once "$H" b
scan "$T/ab.cap" "$T/ba.cap" "$T/hab.cap" || fail "I4 after the heap TA's A -> B"
assert_eq "$(t b call "$H" canary)" "$CANARY $CANARY" "the canary in the heap block and the library's static buffer on b"
node_alive "$a_PID"; node_alive "$b_PID"
