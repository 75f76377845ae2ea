# A client session with a real TA process, through the host library alone
# (no node yet; docs/sessions.md): tests/tools/sess_direct launches the TA,
# relays its TLS bytes (talos_ta_session), checks the RA-TLS certificate's
# evidence and key binding, HELLO/WELCOME, calls, an exactly-once replay, a
# REPLAY of an older sequence number and a protocol violation. The same
# with the runtime built without migration: sessions do not need it.
. "$(dirname "$0")/lib.sh"
TOOL=$TALOS_ROOT/$BUILD/tests/tools/sess_direct
NOMIG=$TALOS_ROOT/$BUILD/bench/ta/kvstore-nomig.ta
[ -x "$TOOL" ] || fail "missing $TOOL (make builds it)"
[ -x "$NOMIG" ] || fail "missing $NOMIG (make builds it)"

for img in "$KV" "$NOMIG"; do
  name=$(basename "$img" .ta)
  out=$("$TOOL" "$T/node-$name" "$img" 2>"$T/direct-$name.log") ||
    { cat "$T/direct-$name.log" >&2; fail "sess_direct on $name: $out"; }
  assert_eq "$out" OK "sess_direct on $name"
done
