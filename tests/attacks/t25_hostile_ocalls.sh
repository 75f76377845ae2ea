# T25: hostile ocall results. The node is build/tests/talosd-hostile, a test
# build whose ocall path answers "hostile.MODE" the hostile way MODE names
# (tests/host/hostile.c; the installed talosd has no such code). The victim
# TA (tests/ta/victim) keeps a secret in its arena and checks, around each
# talos_call_host, that nothing was written past what the runtime reported.
# For every hostile answer, in passive and in switchless mode, the runtime
# must refuse with its specific error (I8), the TA's state and version stay
# unchanged, and the TA keeps serving:
#   an answer longer than the capacity asked         TOO_LARGE
#   a length field running past the frame            MALFORMED
#   a length field stopping short of the frame       MALFORMED
#   a status that is no talos_err (> 0, < ERR_MIN)   PROTOCOL
#   an answer frame of the wrong type                PROTOCOL
#   a header announcing more than TALOS_MSG_MAX      TOO_LARGE
# Platform requests answered the hostile way (a seal key of 16 or 64 bytes,
# or a status that is no talos_err): the backend refuses with BACKEND and
# wipes the key buffer; the next, honest answer gives the same key as before.
# A "pointer" into TA memory is 8 bytes of data: returned as such, never
# followed (the secret does not come out). Different data on two reads
# (switchless: the host rewrites the ring slot after the TA took it, or
# flips its length field while the TA reads): the TA copies the frame once
# and decodes only its copy, so it returns what it copied, or MALFORMED
# when its one copy caught the flipped length — never the rewrite.
. "$(dirname "$0")/../integration/lib.sh"
VICTIM=$TALOS_ROOT/$BUILD/tests/ta/victim.ta
TALOSD=$TALOS_ROOT/$BUILD/tests/talosd-hostile start_node h
SECRET=s3cr3t-$(printf 'k%.0s' $(seq 1 40))
SECRET_HEX=$(printf '%s' "$SECRET" | od -An -v -tx1 | tr -d ' \n')
hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
version() { t h ps --json | json "[x['version'] for x in j['tas'] if x['id']=='$1'][0]"; }

for flag in "" --switchless; do
  mode=${flag:-passive}
  V=$(t h run "$VICTIM" $flag)
  t h call "$V" set "$SECRET" >/dev/null
  D=$(t h call "$V" digest)
  # A well-formed answer first: the harness itself works in this mode.
  assert_eq "$(t h call "$V" ocall echo 16 hello)" "$(hex hello)" "echo ($mode)"

  for c in oversize:16:TOO_LARGE badlen:64:MALFORMED trailing:64:MALFORMED \
           status_pos:64:PROTOCOL status_low:64:PROTOCOL wrongtype:64:PROTOCOL \
           hdr_too_large:64:TOO_LARGE; do
    IFS=: read -r how cap code <<<"$c"
    v0=$(version "$V")
    expect_fail "$code" h call "$V" ocall "hostile.$how" "$cap"
    assert_eq "$(version "$V")" "$v0" "version unchanged after hostile.$how ($mode, I8)"
    assert_eq "$(t h call "$V" digest)" "$D" "state unchanged after hostile.$how ($mode, I8)"
  done
  # The full answer fits when the TA asks for enough: the refusal above was
  # about the capacity, not the bytes.
  [ "$(t h call "$V" ocall hostile.oversize 4096 | wc -c)" -eq 8193 ] ||
    fail "a 4096-byte answer into a 4096-byte buffer ($mode)"

  K=$(t h call "$V" seal)
  for how in short long status; do
    t h call "$V" ocall "hostile.arm_seal_$how" 0 >/dev/null
    v0=$(version "$V")
    expect_fail BACKEND h call "$V" seal
    assert_eq "$(version "$V")" "$v0" "version unchanged after a hostile seal key ($how, $mode)"
    assert_eq "$(t h call "$V" seal)" "$K" "the honest seal key after a hostile one ($how, $mode)"
  done
  assert_eq "$(t h call "$V" digest)" "$D" "state unchanged after the hostile seal keys ($mode)"

  out=$(t h call "$V" ocall hostile.pointer 64)
  case "$out" in *"$SECRET_HEX"*) fail "the secret came out through a pointer answer ($mode)" ;; esac
  [ ${#out} -eq 16 ] || fail "a pointer answer is its 8 bytes, as data ($mode): $out"

  assert_eq "$(t h call "$V" ocall hostile.flip 64)" "$(hex original)" \
    "the TA returns the answer it copied, not the ring slot rewritten after ($mode)"

  ok=0 refused=0
  for _ in $(seq 1 30); do
    rc=0
    out=$(t h call "$V" ocall hostile.race 64 2>"$T/race.err") || rc=$?
    if [ $rc -eq 0 ]; then
      assert_eq "$out" "$(hex RRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRR)" "a racing answer, when accepted, is the one copied ($mode)"
      ok=$((ok + 1))
    else
      grep -q '(MALFORMED)' "$T/race.err" || fail "a racing answer refused with: $(cat "$T/race.err") ($mode)"
      refused=$((refused + 1))
    fi
  done
  echo "$mode: racing length field: $ok accepted as copied, $refused refused MALFORMED"
  assert_eq "$(t h call "$V" digest)" "$D" "state unchanged after the races ($mode)"
  assert_eq "$(t h ps --json | json "[x['state'] for x in j['tas'] if x['id']=='$V'][0]")" ACTIVE \
    "the victim still serves ($mode)"
  t h stop "$V"
done
node_alive "$h_PID"
