# T32 (docs/node-security.md): no process is started from bytes before they
# are parsed, checked and allowed. `talos run` of a script, of a dynamic PIE
# program (/bin/ls) and of a static non-TALOS ELF that would create a marker:
# each refused with IMAGE and its reason, nothing runs, nothing is kept. A
# FIFO or a directory named as an image is refused at once (the node never
# blocks on it). With an image policy (talosd --image-policy FILE) a node
# runs only the measurements listed: `talos run` of another image is
# refused (POLICY), and so is a migration that brings one; the refused
# bytes are deleted.
. "$(dirname "$0")/lib.sh"
start_node a; A_PORT=$PORT
MARK=$T/marker
stored() { find "$T/$1/images" -type f 2>/dev/null | wc -l; }
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
node_alive "$a_PID"

# --- The image policy: only the ledger's measurement.
LM=$(t a run --json "$LEDGER" | json 'j["measurement"]')
printf '{"measurements": ["%s"]}\n' "$LM" >"$T/policy.json"
start_node p --image-policy "$T/policy.json"; P_PORT=$PORT
grep -q "image policy $T/policy.json (1 measurements)" "$T/p.log" || fail "p does not name its policy"
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

# A malformed policy file stops talosd at start, naming it.
echo '{"measurements": ["zz"]}' >"$T/bad.json"
rc=0; err=$("$TALOSD" --state-dir "$T/q" --listen 127.0.0.1:1 --image-policy "$T/bad.json" 2>&1) || rc=$?
assert_eq "$rc" 1 "talosd with a malformed policy"
case "$err" in *"$T/bad.json: measurement 1 is not 64 hex characters"*) ;; *) fail "talosd's complaint: $err" ;; esac
echo "T32: scripts, PIE and non-TALOS ELFs, FIFOs refused before anything runs; the image policy holds for run and migrate"
