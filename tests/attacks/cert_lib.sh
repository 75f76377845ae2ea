# Sourced after ../integration/lib.sh by the attacks on state certificates
# (t05_cert_fork.sh, t27_cert_rollback.sh): where the certificates go, the
# test tools that forge them, and the two verdicts of `talos verify`.
C=$T/certs; mkdir -p "$C"
STEAL=$TALOS_ROOT/$BUILD/tests/tools/cert_steal
FORGE=$TALOS_ROOT/$BUILD/tests/tools/cert_forge
# field FILE EXPR: a Python expression over the JSON certificate FILE (j).
field() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }

# refused CODE REASON BAD FILES...: `talos verify FILES` exits 1 and says,
# on one line, that BAD is refused with CODE for REASON; --json agrees.
refused() {
  local code=$1 reason=$2 bad=$3; shift 3
  local err out rc=0
  err=$("$TALOS" verify --allow-sim "$@" 2>&1 >/dev/null) || rc=$?
  [ $rc -eq 1 ] || fail "verify $* exited $rc, wanted 1 ($code); stderr: $err"
  assert_eq "$err" "talos: verify: $bad: $reason ($code)" "verify $*"
  rc=0
  out=$("$TALOS" verify --allow-sim --json "$@" 2>/dev/null) || rc=$?
  [ $rc -eq 1 ] || fail "verify --json $* exited $rc, wanted 1 ($code)"
  assert_eq "$(echo "$out" | json "j['verified'], j['error'], j['message'], j['file']")" \
    "False $code $reason $bad" "verify --json $*"
}
accepted() { "$TALOS" verify --allow-sim "$@" >/dev/null || fail "verify $* must accept"; }
