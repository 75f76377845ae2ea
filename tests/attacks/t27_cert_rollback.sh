# T27 (also T21; I2): a client is offered an older instance of a lineage it
# has seen, as state certificates (docs/state-certs.md): an older
# certificate presented as the current one. A kvstore lineage certifies its
# state on A, migrates A -> B -> A, certifies on each node, and the client
# keeps every certificate. Then, against `talos verify` (exit 1, one line
# "talos: verify: FILE: REASON (CODE)", and the same in --json):
#  1. within one epoch: A's node offers the certificate of version 3 to a
#     client that has seen version 5 -> CERT_ROLLBACK, version goes back;
#  2. across epochs: once the lineage serves on B, A's node offers the last
#     certificate its instance signed (epoch 0, the same version as B's
#     first) -> CERT_ROLLBACK, epoch goes back; after the round trip
#     A -> B -> A, A's node offers it again as A's current state (T21);
#  3. under the current key: B's host reads the lineage key of epoch 1 out
#     of its TA's memory (sim gives no isolation: on a real TEE it cannot)
#     and signs a state of version 4 under it, below version 5 at which its
#     own rotation link says epoch 1 began -> CERT_ROLLBACK, the link's
#     version out of order, even when that certificate is shown alone.
# Every genuine certificate keeps verifying, and the lineage serves on, on
# A, at its version. Sim evidence: no hardware isolation.
. "$(dirname "$0")/../integration/lib.sh"
start_node a; A_PORT=$PORT
start_node b; B_PORT=$PORT
TA=$(t a run "$KV")
. "$(dirname "$0")/cert_lib.sh"

# --- The history the client keeps: epoch 0 on A (versions 3 and 5), epoch 1
# on B (5, its first, and 6), epoch 2 on A (7).
for i in 1 2 3; do t a call "$TA" put "k$i" "v$i" >/dev/null; done
t a state-cert "$TA" --output "$C/a_v3.json" >/dev/null
for i in 4 5; do t a call "$TA" put "k$i" "v$i" >/dev/null; done
t a state-cert "$TA" --output "$C/a_v5.json" >/dev/null
t a migrate "$TA" --to "127.0.0.1:$B_PORT" >/dev/null
t b state-cert "$TA" --output "$C/b_v5.json" >/dev/null
assert_eq "$(field "$C/b_v5.json" "j['epoch'], j['version'], j['rotation'][0]['version']")" "1 5 5" \
  "B's first certificate: epoch 1, at the version of the migration"
t b call "$TA" put k6 v6 >/dev/null
t b state-cert "$TA" --output "$C/b_v6.json" >/dev/null
# B's host takes the key of epoch 1 from its TA's memory now, while B holds it.
B_TA_PID=$(t b ps --json | json "[x['pid'] for x in j['tas'] if x['id']=='$TA' and x['state']=='ACTIVE'][0]")
LK=$(nm "$KV" | awk '$3 == "lk" {print $1}')
[ -n "$LK" ] || fail "no lineage key record (lk) in the image's symbols"
K1=$("$STEAL" key "$B_TA_PID" "$LK" "$C/b_v6.json") || fail "B's host could not read its TA's lineage key"
t b migrate "$TA" --to "127.0.0.1:$A_PORT" >/dev/null
t a call "$TA" put k7 v7 >/dev/null
t a state-cert "$TA" --output "$C/a_v7.json" >/dev/null
assert_eq "$(field "$C/a_v7.json" "j['epoch'], j['version']")" "2 7" "A's certificate after the round trip"
accepted "$C/a_v3.json" "$C/a_v5.json" "$C/b_v5.json" "$C/b_v6.json" "$C/a_v7.json"

# --- 1. Within one epoch: version 3 offered after version 5.
cp "$C/a_v3.json" "$C/offered_v3.json"
refused CERT_ROLLBACK "version goes back (3 after 5)" "$C/offered_v3.json" \
  "$C/a_v3.json" "$C/a_v5.json" "$C/offered_v3.json"

# --- 2. Across epochs: the old instance's last certificate after B's first,
# at one version (nothing but the epoch tells them apart), and after the
# round trip.
cp "$C/a_v5.json" "$C/offered_e0.json"
refused CERT_ROLLBACK "epoch goes back (0 after 1): certificates out of order" "$C/offered_e0.json" \
  "$C/b_v5.json" "$C/offered_e0.json"
refused CERT_ROLLBACK "epoch goes back (0 after 2): certificates out of order" "$C/offered_e0.json" \
  "$C/a_v3.json" "$C/a_v7.json" "$C/offered_e0.json"

# --- 3. Under the current key: a state below the version at which its own
# epoch began.
"$STEAL" sign "$K1" "$C/b_v6.json" "$C/forged_v4.json" back || fail "cert_steal sign back failed"
assert_eq "$(field "$C/forged_v4.json" "j['epoch'], j['version'], j['key'] == json.load(open('$C/b_v6.json'))['key']")" \
  "1 4 True" "the forged certificate: epoch 1, version 4, B's genuine key"
refused CERT_ROLLBACK "rotation link to epoch 1 names version 5, out of order" "$C/forged_v4.json" \
  "$C/forged_v4.json"
refused CERT_ROLLBACK "rotation link to epoch 1 names version 5, out of order" "$C/forged_v4.json" \
  "$C/a_v3.json" "$C/forged_v4.json"

# --- The genuine history still verifies; the lineage serves on A at 7 (I2).
accepted "$C/a_v3.json" "$C/a_v5.json" "$C/b_v5.json" "$C/b_v6.json" "$C/a_v7.json"
assert_eq "$(t a ps --json | json "[x['version'] for x in j['tas'] if x['id']=='$TA' and x['state']=='ACTIVE'][0]")" 7 \
  "the lineage's version on A"
assert_eq "$(t a call "$TA" get k7)" v7 "the lineage after the attacks"
echo "T27 certificate rollback: ok"
