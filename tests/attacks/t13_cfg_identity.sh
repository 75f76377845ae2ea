# T13: a target whose identity names another CFG digest. The CFG digest
# is part of a TA's identity (docs/cfg.md, issue #4 part 2).
# `talos attest` shows the digest the platform signed, equal to the one
# `talos cfg` computes from the image. A target whose platform signs another
# CFG digest (TALOS_SIM_CFG_DIGEST_TAMPER=1, the sim-only debug knob) is
# refused by the source with CFG_DIGEST; the source serves on with its state
# unchanged (I4, I8), and no target serves (I1).
. "$(dirname "$0")/../integration/lib.sh"
start_node a
start_node b; B_PORT=$PORT
export TALOS_SIM_CFG_DIGEST_TAMPER=1
start_node c; C_PORT=$PORT
unset TALOS_SIM_CFG_DIGEST_TAMPER

TA=$(t a run "$KV")
t a call "$TA" fill 300 64 5 >/dev/null
D=$(t a call "$TA" digest)

want=$(t a cfg "$KV" --json | json 'j["digest"]')
got=$(t a attest "$TA" --allow-sim --json | json 'j["claims"]["cfg_digest"]')
assert_eq "$got" "$want" "attested cfg_digest is the image's CFG digest"
t a attest "$TA" --allow-sim | grep -q "^cfg_digest: $want\$" || fail "human attest output lacks cfg_digest"
grep -q "signs WRONG CFG digests" "$T/c.log" || fail "the tamper knob must be logged"

# The tampering platform's target: refused on the CFG digest, not earlier.
expect_fail CFG_DIGEST a migrate "$TA" --to 127.0.0.1:$C_PORT
# The source's own policy refused the target's evidence (both sides send
# their evidence before checking the peer's, so this is not the target's ABORT).
grep -q "source serves on: peer's CFG digest differs" "$T/a.log" ||
  fail "the source must refuse the target on its CFG digest: $(grep refused "$T/a.log")"
assert_eq "$(t a call "$TA" digest)" "$D" "source state unchanged"
t a call "$TA" put after refused >/dev/null
assert_eq "$(t a call "$TA" get after)" "refused" "source serves after the refusal"
D=$(t a call "$TA" digest)
assert_eq "$(t c ps --json | json 'len([x for x in j["tas"] if x["state"]=="ACTIVE"])')" 0 "no target serves on c"
node_alive "$c_PID"

# An honest target: the same TA migrates, digest and identity intact.
t a migrate "$TA" --to 127.0.0.1:$B_PORT >/dev/null
assert_eq "$(t b call "$TA" digest)" "$D" "state after the honest migration"
got=$(t b attest "$TA" --allow-sim --json | json 'j["claims"]["cfg_digest"]')
assert_eq "$got" "$want" "cfg_digest on the target"
