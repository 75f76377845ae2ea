# A client session with a real TA process, through the host library alone
# (no node yet; docs/sessions.md): tests/tools/sess_direct launches the TA,
# relays its TLS bytes (talos_ta_session), checks the RA-TLS certificate's
# evidence and key binding, HELLO/WELCOME, calls, an exactly-once replay, a
# REPLAY of an older sequence number and a protocol violation; then the
# lineage moves to a virgin target, which serves sessions with its own
# identity and answers the client's last call from the exactly-once
# record that moved with the state. The same, without the move, with the
# runtime built without migration: sessions do not need it.
. "$(dirname "$0")/lib.sh"
TOOL=$TALOS_ROOT/$BUILD/tests/tools/sess_direct
NOMIG=$TALOS_ROOT/$BUILD/bench/ta/kvstore-nomig.ta
[ -x "$TOOL" ] || fail "missing $TOOL (make builds it)"
[ -x "$NOMIG" ] || fail "missing $NOMIG (make builds it)"

for run in "$KV migrate" "$NOMIG"; do
  read -r img mode <<<"$run"
  name=$(basename "$img" .ta)
  out=$("$TOOL" "$T/node-$name" "$img" $mode 2>"$T/direct-$name.log") ||
    { cat "$T/direct-$name.log" >&2; fail "sess_direct on $name: $out"; }
  assert_eq "$out" OK "sess_direct on $name"
done
