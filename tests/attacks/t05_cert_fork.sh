# T05 (also T02; I1): a second instance speaks for the lineage, as state
# certificates show it (docs/state-certs.md): a fork. A genuine lineage
# never forks (one instance; keys travel only inside the attested channel),
# but sim gives no hardware isolation: node A's host reads the lineage key
# of epoch 0 out of its TA's memory (/proc/PID/mem, tests/tools/cert_steal)
# and holds the platform key that signs evidence (tests/tools/cert_forge),
# so it can speak for the lineage as a second instance would. Each forged
# certificate verifies on its own (that is what "no isolation" means); next
# to the genuine ones `talos verify` must refuse it with CERT_FORK (exit 1,
# one line "talos: verify: FILE: REASON (CODE)", the same in --json):
#  1. another state at the version A certified, under the genuine key:
#     two different states for one version;
#  2. the next version, chained on another checkpoint than A's: two chain
#     heads for one checkpoint;
#  3. a rival history from a first key of the host's own: two keys for
#     epoch 0;
# then the lineage migrates A -> B (its key rotates; A's instance retires)
# and A's host, with the key it kept, plays the source that serves on:
#  4. (T05) a version of epoch 0 past the one at which epoch 1 began on B:
#     the old instance serving after its successor took over;
#  5. (T02) a second successor of the key of epoch 0, made from the same
#     state (a lineage migrated twice): two keys for epoch 1.
# The genuine certificates keep verifying; the lineage serves on B, once.
# On a real TEE the host can do none of this. Sim: no hardware isolation.
. "$(dirname "$0")/../integration/lib.sh"
start_node a; A_PORT=$PORT
start_node b; B_PORT=$PORT
TA=$(t a run "$KV")
. "$(dirname "$0")/cert_lib.sh"

# --- The genuine lineage on A, version 3, epoch 0; A's host takes its key.
for i in 1 2 3; do t a call "$TA" put "k$i" "v$i" >/dev/null; done
t a state-cert "$TA" --output "$C/a_v3.json" >/dev/null
A_TA_PID=$(t a ps --json | json "[x['pid'] for x in j['tas'] if x['id']=='$TA'][0]")
LK=$(nm "$KV" | awk '$3 == "lk" {print $1}')
[ -n "$LK" ] || fail "no lineage key record (lk) in the image's symbols"
K0=$("$STEAL" key "$A_TA_PID" "$LK" "$C/a_v3.json") || fail "A's host could not read its TA's lineage key"

# --- 1. Another state at version 3, signed with the genuine key.
"$STEAL" sign "$K0" "$C/a_v3.json" "$C/x_root.json" root || fail "cert_steal sign root failed"
assert_eq "$(field "$C/x_root.json" "j['epoch'], j['version'], j['key'] == json.load(open('$C/a_v3.json'))['key'], j['state_root'] != json.load(open('$C/a_v3.json'))['state_root']")" \
  "0 3 True True" "forged: epoch 0, version 3, the genuine key, another state"
accepted "$C/x_root.json"
refused CERT_FORK "fork: two different states for version 3" "$C/x_root.json" \
  "$C/a_v3.json" "$C/x_root.json"

# --- 2. Version 4 chained on a checkpoint at version 3 that is not A's.
"$STEAL" sign "$K0" "$C/a_v3.json" "$C/y_unlinked.json" unlinked || fail "cert_steal sign unlinked failed"
accepted "$C/y_unlinked.json"
refused CERT_FORK "fork: two chain heads for version 3 in epoch 0" "$C/y_unlinked.json" \
  "$C/a_v3.json" "$C/y_unlinked.json"

# --- 3. A rival first key, vouched for by A's platform.
"$FORGE" "$T/a" "$C/a_v3.json" "$C/f_key0.json" || fail "cert_forge failed"
accepted "$C/f_key0.json"
refused CERT_FORK "fork: two keys for epoch 0" "$C/f_key0.json" \
  "$C/a_v3.json" "$C/f_key0.json"

# --- The lineage moves to B (epoch 1 begins at version 3) and goes on to 5.
t a migrate "$TA" --to "127.0.0.1:$B_PORT" >/dev/null
for i in 4 5; do t b call "$TA" put "k$i" "v$i" >/dev/null; done
t b state-cert "$TA" --output "$C/b_v5.json" >/dev/null
assert_eq "$(field "$C/b_v5.json" "j['epoch'], j['version'], j['rotation'][0]['version']")" "1 5 3" \
  "B's certificate: epoch 1, begun at version 3"
accepted "$C/a_v3.json" "$C/b_v5.json"
assert_eq "$(t a ps --json | json "[x['state'] for x in j['tas'] if x['id']=='$TA']")" "['MOVED']" \
  "A's instance retired"

# --- 4. T05: the old instance serves on with the key of epoch 0: version 4.
"$STEAL" sign "$K0" "$C/a_v3.json" "$C/z_stale.json" next || fail "cert_steal sign next failed"
assert_eq "$(field "$C/z_stale.json" "j['epoch'], j['version']")" "0 4" "forged: epoch 0, version 4"
accepted "$C/a_v3.json" "$C/z_stale.json"
refused CERT_FORK "fork: epoch 0 served version 4 after epoch 1 began at 3" "$C/z_stale.json" \
  "$C/a_v3.json" "$C/z_stale.json" "$C/b_v5.json"

# --- 5. T02: a second key of epoch 1, certified by the key of epoch 0 at the
# checkpoint of the genuine migration: the lineage migrated twice.
"$STEAL" rekey "$T/a" "$K0" "$C/a_v3.json" "$C/w_twin.json" || fail "cert_steal rekey failed"
assert_eq "$(field "$C/w_twin.json" "j['epoch'], j['version'], j['rotation'][0]['chain_head'] == json.load(open('$C/b_v5.json'))['rotation'][0]['chain_head'], j['key'] != json.load(open('$C/b_v5.json'))['key']")" \
  "1 3 True True" "forged: epoch 1 from the genuine migration's checkpoint, another key"
accepted "$C/a_v3.json" "$C/w_twin.json"
refused CERT_FORK "fork: two keys for epoch 1" "$C/b_v5.json" \
  "$C/a_v3.json" "$C/w_twin.json" "$C/b_v5.json"

# --- The genuine history verifies; the lineage serves on B, once (I1).
accepted "$C/a_v3.json" "$C/b_v5.json"
assert_eq "$(t b ps --json | json "[x['state'] for x in j['tas'] if x['id']=='$TA']")" "['ACTIVE']" \
  "the lineage on B"
assert_eq "$(t b call "$TA" get k5)" v5 "the lineage after the attacks"
echo "T05 certificate fork: ok"
