# T31 (docs/node-security.md): no code runs from the network. A peer that
# holds no node certificate of the configured CA offers node B an ELF that
# would create a marker file; it runs as another user (uid 65534, the
# attacker owns no host). B refuses it in the TLS handshake: nothing of the
# peer's is read, no image is stored, no process starts, the marker never
# exists. The same with a certificate of the attacker's own CA, with the
# old plaintext OFFER, and with a data connection that guesses a ticket.
# Then a certified node (an attacker that owns a node) offers the same ELF:
# B parses it and refuses it (not a TA image) before anything runs it, and
# deletes the bytes.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/attack_lib.sh"
start_node b; B_PORT=$PORT
NODES="b"
# The system's python3: a per-user one (pyenv under /root) is not the
# attacker's to run.
ATT=(setpriv --reuid=65534 --regid=65534 --clear-groups)
APY=/usr/bin/python3
A=$T/attacker
mkdir -m 0777 "$A"
chmod 0711 "$T" # the attacker may reach its own folder, nothing else of ours
MARK=$A/marker
cat >"$A/evil.c" <<EOF
#include <fcntl.h>
int main(void) { return creat("$MARK", 0644) < 0; }
EOF
gcc -static -O1 -o "$A/evil" "$A/evil.c" || fail "cannot build the marker ELF"
chmod 0755 "$A/evil"
LIN=$(python3 -c "import os; print(os.urandom(16).hex())")
no_marker() {
  sleep "${1:-0}"
  [ ! -e "$MARK" ] || fail "the marker exists: B ran the peer's code ($2)"
  compgen -G "$T/b/images/*" >/dev/null && fail "B stored bytes of an unauthenticated peer ($2): $(ls -a "$T/b/images")"
  assert_eq "$(child_procs "$b_PID" | wc -l)" 0 "B started no process ($2)"
  node_alive "$b_PID"
}
offer_as() { # LOG NODE-CA
  "${ATT[@]}" "$APY" "$PROXY" --mode offer --node-ca "$2" --to "127.0.0.1:$B_PORT" --lineage "$LIN" \
    --image "$A/evil" --tmpdir "$A" --log "$A/$1.json" --timeout 20 || true
  [ -f "$A/$1.json" ] || fail "the offer ($2) left no log"
  assert_eq "$(json 'str(j.get("target_ready"))' <"$A/$1.json")" False "B's answer to a peer with '$2'"
  json 'j.get("refused", "")' <"$A/$1.json" | grep -q "^link:" || fail "B read the OFFER of a peer with '$2': $(cat "$A/$1.json")"
}

# 1. No certificate at all.
mark_logs
offer_as nocert none
expect_log b "refused (PEER_AUTH): TLS handshake: peer did not return a certificate"
no_marker 0.5 "no certificate"

# 2. A certificate of the attacker's own CA.
mark_logs
offer_as othercert other
expect_log b "refused (PEER_AUTH): peer certificate refused: unable to get local issuer certificate"
no_marker 0.5 "another CA"

# 3. The old plaintext protocol: an OFFER (magic TALOSP1) and the image
# bytes right behind it. It is not a TLS handshake: B closes.
mark_logs
"${ATT[@]}" "$APY" - "$B_PORT" "$LIN" "$A/evil" <<'PY' || fail "the plaintext offer"
import hashlib, socket, struct, sys
port, lin, path = int(sys.argv[1]), bytes.fromhex(sys.argv[2]), sys.argv[3]
img = open(path, "rb").read()
offer = b"TALOSP1\0" + lin + hashlib.sha256(img).digest() + struct.pack(">QB", len(img), 0)
s = socket.create_connection(("127.0.0.1", port), timeout=10)
try:
    s.sendall(struct.pack(">I", len(offer)) + offer + img)
    while s.recv(65536):
        pass
except OSError:
    pass
PY
expect_log b "refused (PEER_AUTH)"
no_marker 0.5 "plaintext OFFER"

# 4. A data connection with a guessed ticket: refused, nothing reaches a TA.
mark_logs
"${ATT[@]}" "$APY" - "$B_PORT" <<'PY' || fail "the guessed ticket"
import os, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"TALOSD2\0" + os.urandom(32) + b"\x16\x03\x01" + os.urandom(200))
try:
    while s.recv(65536):
        pass
except OSError:
    pass
PY
expect_log b "refused a data connection: no such ticket"
no_marker 0.5 "guessed ticket"

# 5. A certified node (the attacker owns one) offers the same ELF: B streams
# it to a temporary file, parses it, refuses it, and deletes it. Nothing
# runs, nothing is kept.
mark_logs
python3 "$PROXY" --mode offer --to "127.0.0.1:$B_PORT" --lineage "$LIN" --image "$A/evil" \
  --tmpdir "$A" --log "$A/certified.json" --timeout 20
json 'j["answers"][-1][0]' <"$A/certified.json" | grep -qx -- "-28" ||
  fail "B's answer to a certified node's non-TA ELF: $(cat "$A/certified.json"), wanted IMAGE (-28)"
expect_log b "image for $LIN refused: no TALOS runtime note"
no_marker 1 "a certified node's ELF"
# Bytes that do not hash to the announced SHA-256 (one bit flipped after
# hashing): refused, deleted.
mark_logs
python3 "$PROXY" --mode offer --to "127.0.0.1:$B_PORT" --lineage "$LIN" --image "$KV" --corrupt-image \
  --tmpdir "$A" --log "$A/corrupt.json" --timeout 20
json 'j["answers"][-1][0]' <"$A/corrupt.json" | grep -qx -- "-28" ||
  fail "B's answer to bytes that do not match their hash: $(cat "$A/corrupt.json")"
expect_log b "image for $LIN refused: the image bytes do not hash to the announced SHA-256"
no_marker 0.5 "bytes that do not match their hash"
t b ps --json | json 'len(j["tas"])' | grep -qx 0 || fail "B registered something"
echo "T31: unauthenticated and foreign-CA peers refused in the handshake; a non-TA image refused before it runs"
