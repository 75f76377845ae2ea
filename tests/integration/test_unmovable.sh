# What cannot migrate is refused, not silently lost (D46): a TA that holds a
# descriptor its code opened (a dup of stderr: a confined TA opens no file),
# memory it mapped itself, or a thread it started makes `talos migrate`
# fail with UNMOVABLE, naming what, before anything is frozen. The source
# serves on (version and state unchanged) and the target runs no instance.
# A large malloc block (glibc maps it by itself) is not refused; once the
# TA lets go of each, it migrates.
. "$(dirname "$0")/lib.sh"
UNMOV=$TALOS_ROOT/$BUILD/tests/ta/unmovable.ta
[ -x "$UNMOV" ] || fail "missing $UNMOV (make builds it)"
start_node a; A_PORT=$PORT
start_node b; B_PORT=$PORT
ver() { t "$1" ps --json | json "[x['version'] for x in j['tas'] if x['id']=='$2' and x['state']=='ACTIVE'][0]"; }
active_on() { t "$1" ps --json | json "len([x for x in j['tas'] if x['id']=='$2' and x['state']=='ACTIVE'])"; }

TA=$(t a run "$UNMOV")
t a call "$TA" put 7 >/dev/null

# refused HOLD UNDO WHAT: with HOLD taken, the migration is refused naming WHAT.
refused() {
  local hold=$1 undo=$2 what=$3 err d v
  t a call "$TA" "$hold" >/dev/null
  d=$(t a call "$TA" digest)
  v=$(ver a "$TA")
  err=$(t a migrate "$TA" --to 127.0.0.1:$B_PORT 2>&1 >/dev/null) && fail "$hold: migration succeeded"
  case "$err" in *UNMOVABLE*) ;; *) fail "$hold: stderr lacks UNMOVABLE: $err" ;; esac
  grep -q "$what" <<<"$err" || fail "$hold: the reason should name '$what': $err"
  assert_eq "$(ver a "$TA")" "$v" "$hold: source version after the refusal"
  assert_eq "$(t a call "$TA" digest)" "$d" "$hold: source state after the refusal"
  assert_eq "$(active_on b "$TA")" 0 "$hold: the target runs no instance"
  t a call "$TA" "$undo" >/dev/null
}
refused fd unfd "open file descriptor"
# Sanitizer builds skip the mapping check (ta/unmovable.c: ASan's own
# shadow and allocator mappings cannot be told from the TA's, D46).
if [ "${SAN:-0}" != 1 ]; then
  refused map unmap "memory it mapped itself"
fi
refused thread unthread "thread"

# A large malloc block stays (glibc's own mapping), and the TA migrates.
t a call "$TA" big >/dev/null
D=$(t a call "$TA" digest)
t a migrate "$TA" --to 127.0.0.1:$B_PORT >/dev/null
assert_eq "$(t b call "$TA" digest)" "$D" "state after the migration"
# And on its new node the checks hold as well.
t b call "$TA" fd >/dev/null
expect_fail UNMOVABLE b migrate "$TA" --to 127.0.0.1:$A_PORT
t b call "$TA" unfd >/dev/null
t b migrate "$TA" --to 127.0.0.1:$A_PORT >/dev/null
assert_eq "$(t a call "$TA" digest)" "$D" "state after the way back"
node_alive "$a_PID"; node_alive "$b_PID"
