# State certificates (docs/state-certs.md): a kvstore lineage certifies its
# state on node A, migrates A -> B -> A, and certifies again on each node;
# `talos verify` accepts the chain and refuses, with the specific error,
# a tampered file, certificates out of order, a certificate of another
# lineage, and a forked chain. Sim evidence: no hardware isolation.
. "$(dirname "$0")/lib.sh"
start_node a; A_PORT=$PORT
start_node b; B_PORT=$PORT
TA=$(t a run "$KV")
C=$T/certs; mkdir -p "$C"
verify() { t a verify --allow-sim "$@"; }
field() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }

# expect_verify_fail CODE REASON FILES...: exit 1, the code and reason on stderr.
expect_verify_fail() {
  local code=$1 reason=$2; shift 2
  local err rc=0
  err=$("$TALOS" verify --allow-sim "$@" 2>&1 >/dev/null) || rc=$?
  [ $rc -eq 1 ] || fail "verify $* exited $rc, wanted 1 ($code); stderr: $err"
  case "$err" in *"($code)"*) ;; *) fail "verify $* stderr lacks $code: $err" ;; esac
  case "$err" in *"$reason"*) ;; *) fail "verify $* stderr lacks '$reason': $err" ;; esac
  [ "$(echo "$err" | wc -l)" -eq 1 ] || fail "verify $*: more than one line on stderr: $err"
}

# --- 1. Calls, certificate on A (epoch 0).
for i in 1 2 3; do t a call "$TA" put "k$i" "v$i" >/dev/null; done
t a state-cert "$TA" --json >"$C/c1.json"
assert_eq "$(field "$C/c1.json" "j['version']")" 3 "c1 version"
assert_eq "$(field "$C/c1.json" "j['epoch']")" 0 "c1 epoch"
assert_eq "$(field "$C/c1.json" "j['lineage']")" "$TA" "c1 lineage"
assert_eq "$(field "$C/c1.json" "j['identity']['backend']")" sim "c1 backend"
# The same version again: no new checkpoint, the same root and head.
t a state-cert "$TA" --output "$C/c1b.json" >/dev/null
assert_eq "$(field "$C/c1b.json" "j['state_root']")" "$(field "$C/c1.json" "j['state_root']")" "root at one version"
assert_eq "$(field "$C/c1b.json" "j['chain_head']")" "$(field "$C/c1.json" "j['chain_head']")" "head at one version"
verify "$C/c1.json" >/dev/null || fail "a single certificate must verify"

# --- 2. Migrate A -> B. On B, before any call: the same version, so the
# same state root, computed by B from the pages it received (attack note:
# a certificate's root is the root of the real state); a new key (epoch 1)
# certified by the first.
t a migrate "$TA" --to "127.0.0.1:$B_PORT" >/dev/null
t b state-cert "$TA" --json >"$C/c2a.json"
assert_eq "$(field "$C/c2a.json" "j['version']")" 3 "version after the migration"
assert_eq "$(field "$C/c2a.json" "j['epoch']")" 1 "epoch after one migration"
assert_eq "$(field "$C/c2a.json" "j['state_root']")" "$(field "$C/c1.json" "j['state_root']")" \
  "B's root at version 3 must be A's"
[ "$(field "$C/c2a.json" "j['key']")" != "$(field "$C/c1.json" "j['key']")" ] || fail "the key did not rotate"
assert_eq "$(field "$C/c2a.json" "j['first_key']")" "$(field "$C/c1.json" "j['key']")" "first key"
for i in 4 5; do t b call "$TA" put "k$i" "v$i" >/dev/null; done
t b state-cert "$TA" --json >"$C/c2.json"
assert_eq "$(field "$C/c2.json" "j['version']")" 5 "c2 version"
[ "$(field "$C/c2.json" "j['exec_record']")" != "$(field "$C/c1.json" "j['exec_record']")" ] ||
  fail "the execution record did not move with two calls"

# --- 3. Migrate B -> A, certificate on A (epoch 2).
t b migrate "$TA" --to "127.0.0.1:$A_PORT" >/dev/null
t a call "$TA" put k6 v6 >/dev/null
t a state-cert "$TA" --json >"$C/c3.json"
assert_eq "$(field "$C/c3.json" "j['epoch']")" 2 "c3 epoch"
assert_eq "$(field "$C/c3.json" "len(j['rotation'])")" 2 "two rotation links"

# --- 3b. A pre-copy migration A -> B -> A (rounds while the TA serves;
# the lineage key still moves only once the source is frozen), with state
# certificates on each side: the chain goes on.
t a call "$TA" fill 300 1000 3 >/dev/null
t a state-cert "$TA" --output "$C/p1.json" >/dev/null
t a migrate "$TA" --precopy --to "127.0.0.1:$B_PORT" >/dev/null
t b state-cert "$TA" --output "$C/p2.json" >/dev/null
assert_eq "$(field "$C/p2.json" "j['state_root']")" "$(field "$C/p1.json" "j['state_root']")" \
  "root after a pre-copy migration at one version"
t b call "$TA" put k7 v7 >/dev/null
t b migrate "$TA" --precopy --to "127.0.0.1:$A_PORT" >/dev/null
t a state-cert "$TA" --output "$C/p3.json" >/dev/null
assert_eq "$(field "$C/p3.json" "j['epoch']")" 4 "epoch after four migrations"
verify "$C/c1.json" "$C/c3.json" "$C/p1.json" "$C/p2.json" "$C/p3.json" >/dev/null ||
  fail "the chain across pre-copy migrations must verify"

# --- 4. The chain verifies (also without the ones in between).
out=$(verify "$C/c1.json" "$C/c2.json" "$C/c3.json") || fail "c1 c2 c3 must verify: $out"
case "$out" in *"verified: yes"*SIMULATED*|*SIMULATED*"verified: yes"*) ;; *) fail "verify output: $out" ;; esac
verify "$C/c1.json" "$C/c1b.json" "$C/c2a.json" "$C/c2.json" "$C/c3.json" >/dev/null || fail "all five must verify"
verify "$C/c1.json" "$C/c3.json" >/dev/null || fail "c1 c3 must verify (epoch 1 certified through the links)"
j=$(verify --json "$C/c1.json" "$C/c2.json" "$C/c3.json")
assert_eq "$(echo "$j" | json "j['verified'], j['simulated'], len(j['certificates'])")" "True True 3" "verify --json"

# --- 5. Refusals, each with its reason.
# Sim evidence without --allow-sim.
err=$("$TALOS" verify "$C/c1.json" 2>&1 >/dev/null) && fail "sim evidence accepted without --allow-sim"
case "$err" in *EVIDENCE_SIM*) ;; *) fail "no EVIDENCE_SIM: $err" ;; esac
# Tampered: a field edited (the version), the signed bytes edited, the signature.
python3 - "$C/c2.json" "$C/t_field.json" "$C/t_bytes.json" "$C/t_sig.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
f = dict(j); f["version"] = j["version"] + 100
json.dump(f, open(sys.argv[2], "w"))
b = dict(j); c = bytearray.fromhex(j["cert"])
c[4 + 16 + 8 + 32 + 7] ^= 1            # the low byte of the version, inside the signed body
b["cert"] = c.hex(); b["version"] = j["version"] ^ 1
json.dump(b, open(sys.argv[3], "w"))
s = dict(j); c = bytearray.fromhex(j["cert"])
sig_at = len(c) - 4 - len(j["evidence"]) // 2 - 64
c[sig_at] ^= 0x80
s["cert"] = c.hex(); s["signature"] = c[sig_at:sig_at + 64].hex()
json.dump(s, open(sys.argv[4], "w"))
PY
expect_verify_fail CERT "do not match its signed certificate" "$C/c1.json" "$C/t_field.json"
expect_verify_fail CERT "signature does not verify" "$C/c1.json" "$C/t_bytes.json" "$C/c3.json"
expect_verify_fail CERT "signature does not verify" "$C/t_sig.json"
# Out of order: an older certificate after a newer one.
expect_verify_fail CERT_ROLLBACK "goes back" "$C/c1.json" "$C/c3.json" "$C/c2.json"
# Another lineage: a second kvstore on B.
TA2=$(t b run "$KV")
t b call "$TA2" put x y >/dev/null
t b state-cert "$TA2" --json >"$C/other.json"
expect_verify_fail CERT_LINEAGE "another lineage" "$C/c1.json" "$C/other.json"
# A forked chain. A genuine lineage never forks (one instance, keys that
# only travel inside the attested channel). But sim gives no hardware
# isolation: node B holds the platform key that signs evidence, so it can
# vouch for a key of its own making. cert_forge makes such a rival history
# for the lineage: another state at version 5 under a fresh epoch-0 key.
# Alone it verifies -- that is what "sim gives no isolation" means -- and
# next to the genuine certificates it is a fork.
FORGE=$TALOS_ROOT/$BUILD/tests/tools/cert_forge
"$FORGE" "$T/b" "$C/c2.json" "$C/forged.json" || fail "cert_forge failed"
verify "$C/forged.json" >/dev/null || fail "sim: a host-forged certificate verifies on its own (no isolation)"
expect_verify_fail CERT_FORK "fork: two keys for epoch 0" "$C/c1.json" "$C/c2.json" "$C/forged.json"
expect_verify_fail CERT_FORK "fork: two keys for epoch 0" "$C/forged.json" "$C/c2.json"
# Two states for one version under one history: c2 and a copy of it whose
# root (and so chain head) differ can only be signed by c2's own key, which
# never leaves the TA; tests/unit/test_cert.c covers that fork with keys
# of its own. Usage: no certificate is exit 2.
rc=0; "$TALOS" verify --allow-sim >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "verify without a certificate"
# The lineage still serves on A.
assert_eq "$(t a call "$TA" get k7)" v7 "the lineage after the certificates"
echo "state certificates: ok"
