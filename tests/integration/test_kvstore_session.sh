# The by-hand session of the foundation issue, exactly as a user types it.
. "$(dirname "$0")/lib.sh"
start_node n1

TA=$(t n1 run "$KV")
[[ "$TA" =~ ^[0-9a-f]{32}$ ]] || fail "run printed '$TA', wanted a 32-hex TA id"
t n1 call "$TA" put apple red >/dev/null
assert_eq "$(t n1 call "$TA" get apple)" red "get apple"
expect_fail NOT_FOUND n1 call "$TA" get pear
t n1 call "$TA" put apple green >/dev/null
assert_eq "$(t n1 call "$TA" get apple)" green "overwrite"
assert_eq "$(t n1 call "$TA" count)" 1 "count"
t n1 call "$TA" del apple >/dev/null
expect_fail NOT_FOUND n1 call "$TA" del apple
assert_eq "$(t n1 call "$TA" count)" 0 "count after del"

# ps --json: every field the issue names, with sane values.
ps=$(t n1 ps --json)
assert_eq "$(echo "$ps" | json 'len(j["tas"])')" 1 "ps count"
assert_eq "$(echo "$ps" | json 'j["tas"][0]["id"]')" "$TA" "ps id"
assert_eq "$(echo "$ps" | json 'j["tas"][0]["lineage"]')" "$TA" "ps lineage = id"
assert_eq "$(echo "$ps" | json 'j["tas"][0]["state"]')" ACTIVE "ps state"
# put get put get count del count succeeded; get pear and the second del did not.
assert_eq "$(echo "$ps" | json 'j["tas"][0]["version"]')" 7 "ps version (7 successful ecalls)"
echo "$ps" | json 'j["tas"][0]["image"]' | grep -q '/images/' || fail "ps image"
[[ "$(echo "$ps" | json 'j["tas"][0]["measurement"]')" =~ ^[0-9a-f]{64}$ ]] || fail "ps measurement"

# attest: production verification refuses sim evidence; --allow-sim accepts it.
expect_fail EVIDENCE_SIM n1 attest "$TA"
a=$(t n1 attest "$TA" --allow-sim --json)
assert_eq "$(echo "$a" | json 'j["verified"]')" True "attest verified"
assert_eq "$(echo "$a" | json 'j["claims"]["simulated"]')" True "claims say simulated"
assert_eq "$(echo "$a" | json 'j["claims"]["backend"]')" sim "claims backend"
assert_eq "$(echo "$a" | json 'j["claims"]["measurement"]')" \
          "$(echo "$ps" | json 'j["tas"][0]["measurement"]')" "evidence measurement = platform's"
# Another CA as trust anchor: the chain check must refuse.
TALOS_SIM_CA=$T/other-ca "$TALOSD" --state-dir "$T/other" --listen 127.0.0.1:$((PORT + 5)) >/dev/null 2>&1 &
o=$!; for _ in $(seq 100); do [ -S "$T/other/talosd.sock" ] && break; sleep 0.02; done
kill $o; wait $o 2>/dev/null || true
expect_fail EVIDENCE_CHAIN n1 attest "$TA" --allow-sim --anchors "$T/other-ca/ca.pem"

# fill + digest: deterministic across two lineages of the same image.
TB=$(t n1 run "$KV")
assert_eq "$(t n1 call "$TA" fill 2000 64 7)" "filled 2000" "fill"
t n1 call "$TB" fill 2000 64 7 >/dev/null
assert_eq "$(t n1 call "$TA" digest)" "$(t n1 call "$TB" digest)" "digest is content-only"
t n1 call "$TB" put k0 changed >/dev/null
[ "$(t n1 call "$TA" digest)" != "$(t n1 call "$TB" digest)" ] || fail "digest ignores a changed value"

t n1 stop "$TB"
expect_fail NO_SUCH_TA n1 call "$TB" count
assert_eq "$(t n1 ps --json | json 'len(j["tas"])')" 1 "ps after stop"
node_alive "$n1_PID"
