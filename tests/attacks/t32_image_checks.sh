# T32 (docs/node-security.md): no process is started from bytes before they
# are parsed, checked and allowed. `talos run` of a script, of a dynamic PIE
# program (/bin/ls) and of a static non-TALOS ELF that would create a marker:
# each refused with IMAGE and its reason, nothing runs, nothing is kept. A
# FIFO or a directory named as an image is refused at once (the node never
# blocks on it). With an image policy (talosd --image-policy FILE) a node
# runs only the measurements listed: `talos run` of another image is
# refused (POLICY), and so is a migration that brings one; the refused
# bytes are deleted.
. "$(dirname "$0")/../integration/lib.sh"
start_node a; A_PORT=$PORT
MARK=$T/marker
stored() { find "$T/$1/images" -type f -name '*.ta' 2>/dev/null | wc -l; }
run_refused() { # IMAGE REASON
  local before err rc=0
  before=$(stored a)
  err=$(timeout 10 "$TALOS" --node "$T/a" run "$1" 2>&1 >/dev/null) || rc=$?
  assert_eq "$rc" 1 "talos run $1 (stderr: $err)"
  case "$err" in *"$2"*"(IMAGE)"*) ;; *) fail "talos run $1: wanted '$2 (IMAGE)', got: $err" ;; esac
  sleep 0.3
  [ ! -e "$MARK" ] || fail "the marker exists: talos run $1 ran it"
  assert_eq "$(stored a)" "$before" "images stored after refusing $1"
  assert_eq "$(child_procs "$a_PID" | wc -l)" 0 "processes started for $1"
}

printf '#!/bin/sh\ntouch %s\n' "$MARK" >"$T/evil.sh"
chmod 755 "$T/evil.sh"
run_refused "$T/evil.sh" "not an ELF"
run_refused /bin/ls "PIE"
printf '#include <fcntl.h>\nint main(void) { return creat("%s", 0644) < 0; }\n' "$MARK" >"$T/evil.c"
gcc -static -O1 -o "$T/evil" "$T/evil.c" || fail "cannot build the marker ELF"
run_refused "$T/evil" "no TALOS runtime note"
mkfifo "$T/fifo"
run_refused "$T/fifo" "not a regular file"
run_refused "$T" "not a regular file"
# The CLI checks that too; the node must not rely on it: a control request
# naming the FIFO, straight to the socket, is answered at once.
timeout 10 python3 - "$T/a/talosd.sock" "$T/fifo" <<'PY' || fail "the node blocked on a FIFO named by a control request"
import json, sys
sys.path.insert(0, "tests/integration")
from ctl import Ctl
r = Ctl(sys.argv[1]).raw(json.dumps({"op": "run", "image": sys.argv[2]}).encode())
assert not r["ok"] and r["error"] == "IMAGE" and "not a regular file" in r["message"], r
PY
node_alive "$a_PID"

# --- The image policy: only the ledger's measurement.
LM=$(t a run --json "$LEDGER" | json 'j["measurement"]')
printf '{"measurements": ["%s"]}\n' "$LM" >"$T/policy.json"
start_node p --image-policy "$T/policy.json"; P_PORT=$PORT
grep -q "image policy $T/policy.json (1 measurements, 0 signers)" "$T/p.log" || fail "p does not name its policy"
code=$(code_of p run "$KV")
assert_eq "$code" POLICY "talos run of an image the policy does not list"
assert_eq "$(stored p)" 0 "p keeps no refused image"
L=$(t p run "$LEDGER")
t p call "$L" open alice 100 >/dev/null
assert_eq "$(stored p)" 1 "p keeps the allowed image"
# A migration that brings an image the policy does not list: refused
# before any target starts; the bytes are deleted; the source serves on.
K=$(t a run "$KV")
t a call "$K" put apple red >/dev/null
assert_eq "$(code_of a migrate "$K" --to "127.0.0.1:$P_PORT")" POLICY "migration of a kvstore to p"
grep -q "image for $K refused: measurement .* is not in the image policy" "$T/p.log" ||
  fail "p does not log why it refused the image"
assert_eq "$(t a call "$K" get apple)" red "the source serves on"
assert_eq "$(stored p)" 1 "p keeps no refused image"
assert_eq "$(find "$T/p/images" -name '.incoming-*' | wc -l)" 0 "p leaves no partial image"
# The allowed one moves in.
LA=$(t a run "$LEDGER")
t a call "$LA" open bob 7 >/dev/null
t a migrate "$LA" --to "127.0.0.1:$P_PORT" >/dev/null || fail "the ledger's migration to p"
assert_eq "$(t p call "$LA" balance bob)" 7 "the ledger serves on p"

# --- A policy of signers: images signed by a listed key (talos sign).
openssl genpkey -algorithm ed25519 -out "$T/signer.pem" 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$T/other.pem" 2>/dev/null
SIGNER=$("$TALOS" sign --key "$T/signer.pem" --signer)
printf '{"signers": ["%s"]}\n' "$SIGNER" >"$T/signers.json"
start_node s --image-policy "$T/signers.json"; S_PORT=$PORT
cp "$KV" "$T/kv.ta"
assert_eq "$(code_of s run "$T/kv.ta")" POLICY "an unsigned image on a node of signers"
"$TALOS" sign --key "$T/other.pem" "$T/kv.ta"
expect_fail POLICY s run "$T/kv.ta"
err=$(t s run "$T/kv.ta" 2>&1) && fail "an image signed by a key the policy does not list ran"
case "$err" in *"its signature is by no signer it lists"*) ;; *) fail "s does not say the signer is unknown: $err" ;; esac
"$TALOS" sign --key "$T/signer.pem" "$T/kv.ta"
S1=$(t s run "$T/kv.ta") || fail "a signed image on a node of signers"
t s call "$S1" put k v >/dev/null
assert_eq "$(stored s)" 1 "s keeps the signed image"
# The signature travels with the image: a (no policy) runs the signed
# image, keeps its signature, and a migration to s brings both.
S2=$(t a run "$T/kv.ta")
t a call "$S2" put apple green >/dev/null
t a migrate "$S2" --to "127.0.0.1:$S_PORT" >/dev/null || fail "a signed image's migration to s"
assert_eq "$(t s call "$S2" get apple)" green "the signed lineage serves on s"
# A signature that does not match the bytes (the image changed after
# signing): refused.
printf 'x' >>"$T/kv.ta"
assert_eq "$(code_of s run "$T/kv.ta")" POLICY "an image changed after it was signed"
echo 'zz' >"$T/kv.ta.sig"
assert_eq "$(code_of s run "$T/kv.ta")" MALFORMED "a malformed signature file"

# --- A stored image is hashed again when used: b's copy of the kvstore
# image replaced behind its back (by root) with another TA image is found
# out, removed and fetched again; the migration goes through with the
# genuine image (without the check, b would start the other image's target
# and the source would refuse its measurement).
start_node b2; B2_PORT=$PORT
K1=$(t a run "$KV"); t a migrate "$K1" --to "127.0.0.1:$B2_PORT" >/dev/null
name=$(basename "$(t a ps --json | json "[x['image'] for x in j['tas'] if x['id']=='$K1'][0]")")
[ -f "$T/b2/images/$name" ] || fail "b2 has no copy of the kvstore image"
# (Renamed over it: the running TAs keep the old file busy.)
cp "$PROBE" "$T/b2/images/.swap" && chmod 0555 "$T/b2/images/.swap" && mv "$T/b2/images/.swap" "$T/b2/images/$name"
K2=$(t a run "$KV"); t a call "$K2" put pear green >/dev/null
t a migrate "$K2" --to "127.0.0.1:$B2_PORT" >/dev/null || fail "migration after b2's copy was replaced"
assert_eq "$(t b2 call "$K2" get pear)" green "the lineage serves on b2 from the genuine image"
grep -q "images: $name is not the image its name says" "$T/b2.log" || fail "b2 did not notice its copy changed"
cmp -s "$KV" "$T/b2/images/$name" || fail "b2 did not fetch the genuine image again"

# A malformed policy file stops talosd at start, naming it.
echo '{"measurements": ["zz"]}' >"$T/bad.json"
rc=0; err=$("$TALOSD" --state-dir "$T/q" --listen 127.0.0.1:1 --image-policy "$T/bad.json" 2>&1) || rc=$?
assert_eq "$rc" 1 "talosd with a malformed policy"
case "$err" in *"$T/bad.json: measurement 1 is not 64 hex characters"*) ;; *) fail "talosd's complaint: $err" ;; esac
echo "T32: scripts, PIE and non-TALOS ELFs, FIFOs refused before anything runs; the image policy holds for run and migrate"
