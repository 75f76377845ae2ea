# T20: concurrent orchestration, and T05: a second source instance.
#  1. Two `talos migrate` of one TA at once, to B and to C: the source node
#     holds the TA's lock for a whole migration (node/talosd/migrate.c), so
#     one runs, the other waits and then finds a forwarding note: exactly one
#     succeeds, the other fails with MOVED naming the winner, and the
#     lineage serves exactly once, with its digest.
#  2. `talos resume` and a call issued while a migration is in flight (the
#     source FROZEN, streaming to a target stalled at
#     target.after_2_chunks:stall): both wait for the TA; we kill the
#     stalled target (the 30 s channel timeout is too long for a test); the
#     source resumes on its own (nothing was promised before PREPARED), so
#     the queued resume is refused with STATE (ACTIVE, not HANDED_OFF) and
#     the queued call is answered by the source.
#  3. T05: a second instance of the same image on the source node is another
#     lineage (another id). Asking it to resume is STATE (it is ACTIVE, not
#     HANDED_OFF), with or without a token; migrating it moves only it. The
#     same with the original lineage in doubt (HANDED_OFF): the clone cannot
#     take over, the original stays in doubt and does not serve.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/fault_lib.sh"

n_active() { local n=0 x; for x in "${@:2}"; do [ "$(entry "$x" "$1" state)" = ACTIVE ] && n=$((n + 1)); done; echo $n; }
last_code() { sed -n 's/.*(\([A-Z_]*\))$/\1/p' "$1" | tail -1; }

start_node a; AP=$PORT
start_node b; BP=$PORT
start_node c; CP=$PORT
TALOS_FAULT=target.after_2_chunks:stall start_node d; DP=$PORT
TALOS_FAULT=target.before_active start_node e; EP=$PORT

X=$(t a run "$KVF")
t a call "$X" fill 3000 200 4 >/dev/null
t a call "$X" put apple red >/dev/null
D0=$(t a call "$X" digest); V0=$(entry a "$X" version)

# 1. Two migrations at once.
go=$T/go
( while [ ! -e "$go" ]; do sleep 0.005; done; exec timeout 60 "$TALOS" --node "$T/a" migrate "$X" --to 127.0.0.1:$BP ) \
  >/dev/null 2>"$T/mb.err" & MB=$!
( while [ ! -e "$go" ]; do sleep 0.005; done; exec timeout 60 "$TALOS" --node "$T/a" migrate "$X" --to 127.0.0.1:$CP ) \
  >/dev/null 2>"$T/mc.err" & MC=$!
BG+=($MB $MC)
sleep 0.2; touch "$go"
rb=0; wait $MB || rb=$?
rc_=0; wait $MC || rc_=$?
if [ $rb -eq 0 ]; then W=b WP=$BP L=c LE=$T/mc.err lrc=$rc_; else W=c WP=$CP L=b LE=$T/mb.err lrc=$rb; fi
assert_eq "$((rb + rc_))" 1 "exactly one of the two migrations succeeds (B: $rb, C: $rc_)"
assert_eq $lrc 1 "the other exits 1"
assert_eq "$(last_code "$LE")" MOVED "the other's error"
grep -q "moved to 127.0.0.1:$WP" "$LE" || fail "MOVED must name the winner: $(tail -1 "$LE")"
assert_eq "$(n_active "$X" a b c)" 1 "the lineage serves exactly once"
assert_eq "$(entry $W "$X" state)" ACTIVE "the winner serves"
assert_eq "$(entry $L "$X" state)" none "the loser's node never heard of it"
assert_eq "$(entry a "$X" state)" MOVED "A keeps a forwarding note"
assert_eq "$(t $W call "$X" digest)" "$D0" "digest on the winner"
[ "$(entry $W "$X" version)" -ge "$V0" ] || fail "I2 on the winner"
# And back to A for the rest.
assert_eq "$(code_of $W migrate "$X" --to 127.0.0.1:$AP)" OK "back to A"
assert_eq "$(t a call "$X" digest)" "$D0" "digest back on A"

# 2. resume and a call while a migration is in flight.
t a migrate "$X" --to 127.0.0.1:$DP >/dev/null 2>"$T/md.err" & MD=$!
BG+=($MD)
tp=$(stalled_target "$d_PID")
[ -n "$tp" ] || fail "D's target never stalled at target.after_2_chunks"
t a resume "$X" >/dev/null 2>"$T/res.err" & RS=$!
t a call "$X" get apple >"$T/call.out" 2>"$T/call.err" & CL=$!
BG+=($RS $CL)
sleep 0.3
kill -0 $RS 2>/dev/null || fail "resume returned during the migration: $(cat "$T/res.err")"
kill -0 $CL 2>/dev/null || fail "a call was answered during the migration: $(cat "$T/call.out" "$T/call.err")"
kill -KILL "$tp"
rc=0; wait $MD || rc=$?; assert_eq $rc 1 "the stalled migration fails"
grep -q "migration failed before handoff" "$T/md.err" || fail "source must resume: $(tail -1 "$T/md.err")"
rc=0; wait $RS || rc=$?; assert_eq $rc 1 "the in-flight resume is refused"
assert_eq "$(last_code "$T/res.err")" STATE "in-flight resume's error"
rc=0; wait $CL || rc=$?; assert_eq $rc 0 "the in-flight call, served once the source resumed: $(cat "$T/call.err")"
assert_eq "$(cat "$T/call.out")" red "the in-flight call's answer"
assert_eq "$(entry a "$X" state)" ACTIVE "source ACTIVE"
assert_eq "$(t a call "$X" digest)" "$D0" "source digest after the aborted migration"
assert_eq "$(entry d "$X" state)" none "nothing on D"

# 3. T05: a second instance of the same image on the source node.
Z=$(t a run "$KVF")
[ "$Z" != "$X" ] || fail "a second instance got the same id"
assert_eq "$(entry a "$Z" lineage)" "$Z" "the clone is its own lineage"
t a call "$Z" put apple stolen >/dev/null
assert_eq "$(code_of a resume "$Z")" STATE "clone resume without a token"
rnd=$(head -c 109 /dev/urandom | od -An -tx1 | tr -d ' \n')
assert_eq "$(code_of a resume "$Z" --token "$rnd")" STATE "clone resume with a token"
assert_eq "$(code_of a migrate "$Z" --to 127.0.0.1:$BP)" OK "the clone migrates (as its own lineage)"
assert_eq "$(t b call "$Z" get apple)" stolen "the clone's own state moved"
case $(entry b "$X" state) in none | MOVED) ;; *) fail "the original lineage serves on B" ;; esac
assert_eq "$(entry a "$X" state)" ACTIVE "the original lineage is unaffected"
assert_eq "$(n_active "$X" a b c d e)" 1 "the original serves once"
assert_eq "$(t a call "$X" get apple)" red "the original's state is unaffected"
assert_eq "$(t a call "$X" digest)" "$D0" "the original's digest"

# ... and with the original in doubt: E's target dies right after HANDOFF.
assert_eq "$(code_of a migrate "$X" --to 127.0.0.1:$EP)" STATE "original now in doubt"
assert_eq "$(entry a "$X" state)" HANDED_OFF "original HANDED_OFF"
Z2=$(t a run "$KVF")
assert_eq "$(code_of a resume "$Z2")" STATE "a new clone asks to resume"
assert_eq "$(code_of a resume "$Z2" --token "$rnd")" STATE "a new clone asks to resume, with a token"
assert_eq "$(code_of a call "$Z2" get apple)" NOT_FOUND "the clone has none of the lineage's state"
assert_eq "$(entry a "$X" state)" HANDED_OFF "the original stays in doubt"
assert_eq "$(code_of a call "$X" get apple)" MOVED "I5: the original does not serve"
assert_eq "$(n_active "$X" a b c d e)" 0 "nothing serves the original lineage"
node_alive "$a_PID"
