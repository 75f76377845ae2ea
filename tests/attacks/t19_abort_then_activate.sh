# T19: a target that FAILED is terminal. It never serves, its node has no
# handle on it (it is never registered: ps, call, resume and stop all say
# NO_SUCH_TA), its process ends, and every further migration of the lineage
# (from a source that serves on) starts a fresh target that works.
#
# Two ways a target FAILS while the source lives on:
#  1. the channel breaks mid-stream: a TCP relay between A and B closes both
#     sides after 256 KiB of the TAs' TLS stream. B runs with
#     TALOS_FAULT=target.failed_before_abort:stall, so the FAILED target
#     stays alive, stopped just before its ABORT, and we can look at it:
#     its node shows no TA, and nothing can call, resume or stop it. We then
#     kill it (as its host could) and B reports the failure.
#  2. a real refusal with the channel up: W's store holds another build under
#     the genuine image's name; W's target refuses the source's measurement
#     and sends ABORT(MEASUREMENT) (W logs the token). Twice, each a fresh
#     target of a fresh session; then with the genuine image it works.
# (ta/mig_target.c: FAILED wipes the state and ends the TA's migration; a TA
# whose state is not EMPTY refuses MIGRATE_IN with STATE, and only ACTIVE
# serves ecalls; node/talosd/peer.c destroys a target that did not activate.)
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/fault_lib.sh"

# live (non-zombie) children of a process, and zombie ones
children() { child_procs "$1" | awk '$2 != "Z" {print $1}' | tr '\n' ' ' | sed 's/ $//'; }
zombies() { child_procs "$1" | awk '$2 == "Z" {print $1}' | tr '\n' ' ' | sed 's/ $//'; }
n_active() { local n=0 x; for x in "${@:2}"; do [ "$(entry "$x" "$1" state)" = ACTIVE ] && n=$((n + 1)); done; echo $n; }
# A node's live TA processes: those its registry shows, plus at most one
# virgin target of the warm pool (node/talosd/pool.c refills it after each
# arrival, after destroying a failed target). Polls 5 s.
procs_match() {
  local pid want extra
  pid=$(eval echo "\$${1}_PID")
  for _ in $(seq 1 100); do
    want=$(t "$1" ps --json | json "' '.join(str(x['pid']) for x in j['tas'] if x['pid'])")
    extra=$(tr ' ' '\n' <<<"$(children "$pid")" | grep -vxF -f <(tr ' ' '\n' <<<"$want" | grep .) || true)
    [ "$(grep -c . <<<"$extra")" -le 1 ] && return 0
    sleep 0.05
  done
  fail "$1 runs unregistered TA processes [$(echo $extra)] (registry: [$want])"
}

cat >"$T/relay.py" <<'PY'
# Relays a migration and closes both sides after N bytes of the TAs' stream
# (the data connection after its 40-byte hello); node links pass untouched.
import socket, sys, threading
lport, dport, limit, logf = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
log = open(logf, "a", buffering=1)
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", lport)); ls.listen(8)
log.write("listening\n")
def handle(a):
    b = socket.create_connection(("127.0.0.1", dport))
    data = a.recv(1, socket.MSG_PEEK) == b"T"  # a DATA hello, not a node's TLS link
    st = {"n": -40}
    def s2t():
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                if data:
                    st["n"] += len(d)
                    if st["n"] > limit:
                        log.write("cut after %d bytes of the TAs' stream\n" % st["n"])
                        for s in (a, b):
                            s.shutdown(socket.SHUT_RDWR); s.close()
                        return
                b.sendall(d)
        except OSError:
            pass
        try:
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass
    threading.Thread(target=s2t, daemon=True).start()
    try:
        while True:
            d = b.recv(65536)
            if not d:
                break
            a.sendall(d)
        a.shutdown(socket.SHUT_WR)
    except OSError:
        pass
while True:
    c, _ = ls.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
PY

start_node a; AP=$PORT
TALOS_FAULT=target.failed_before_abort:stall start_node b; BP=$PORT
TALOSD=$HOSTILE_TALOSD start_node w; WP=$PORT # w plants a wrong image (lib.sh)
PORT=$((PORT + 1)); RP=$PORT
python3 "$T/relay.py" $RP $BP $((256 * 1024)) "$T/relay.log" & BG+=($!)
wait_log "$T/relay.log" listening

X=$(t a run "$KVF")
t a call "$X" fill 3000 200 9 >/dev/null
t a call "$X" put apple red >/dev/null
D=$(t a call "$X" digest); V=$(entry a "$X" version)

# 1. The channel breaks mid-stream; B's target FAILS and stays stopped.
rc=0; t a migrate "$X" --to 127.0.0.1:$RP >/dev/null 2>"$T/m1.err" || rc=$?
assert_eq $rc 1 "migration through the cut relay: $(tail -1 "$T/m1.err")"
grep -q "cut after" "$T/relay.log" || fail "the relay did not cut"
grep -q "migration failed before handoff" "$T/m1.err" || fail "source must resume: $(tail -1 "$T/m1.err")"
assert_eq "$(entry a "$X" state)" ACTIVE "source serves on"
assert_eq "$(t a call "$X" digest)" "$D" "source digest"
wait_log "$T/b.log" "target FAILED"
P1=$(children "$b_PID")
[ -n "$P1" ] && [ "${P1// /}" = "$P1" ] || fail "B should hold exactly the stopped FAILED target, has [$P1]"
grep -q pause "/proc/$P1/wchan" || fail "B's target is not stopped at target.failed_before_abort"
# While it exists, nothing serves from it. (B's own ps and calls wait for
# the import to end, like calls during any migration, so we look from A.)
assert_eq "$(n_active "$X" a)" 1 "I1 while the FAILED target exists"
# Its host kills it; B reports the failure; no process is left, and the
# FAILED target is not the node's to serve, resume or stop.
kill -KILL "$P1"
wait_log "$T/b.log" "target for $X FAILED"
! grep -q "ABORT token for $X" "$T/b.log" || fail "the target was stopped before its ABORT, yet B logged one"
procs_match b
kill -0 "$P1" 2>/dev/null && fail "the FAILED target's process $P1 still exists"
! children "$b_PID" | grep -qw "$P1" || fail "the FAILED target's process $P1 was not reaped"
assert_eq "$(t b ps --json | json 'len(j["tas"])')" 0 "B registers no TA"
assert_eq "$(code_of b call "$X" get apple)" NO_SUCH_TA "call on B"
assert_eq "$(code_of b resume "$X")" NO_SUCH_TA "resume on B"
assert_eq "$(code_of b stop "$X")" NO_SUCH_TA "stop on B"
assert_eq "$(n_active "$X" a b w)" 1 "I1 after the FAILED target ended"

# 2. The same migration, straight to B: a fresh target, and it works (the
#    fault point is only on the failure path).
assert_eq "$(code_of a migrate "$X" --to 127.0.0.1:$BP)" OK "retry A -> B"
P2=$(entry b "$X" pid)
[ "$P2" != "$P1" ] || fail "the lineage serves from the FAILED target's process $P1"
assert_eq "$(t b call "$X" digest)" "$D" "digest on B"
[ "$(entry b "$X" version)" -ge "$V" ] || fail "I2 on B"
assert_eq "$(code_of a call "$X" count)" MOVED "A forwards"
assert_eq "$(n_active "$X" a b w)" 1 "I1 after the retry"
procs_match b

# 3. A real refusal with the channel up, twice, from B to W.
mkdir -p "$T/w/images"
name=$(basename "$(entry b "$X" image)")
install -m 755 "$KV" "$T/w/images/$name"
for k in 1 2; do
  assert_eq "$(code_of b migrate "$X" --to 127.0.0.1:$WP)" MEASUREMENT "refusal $k on W"
  for _ in $(seq 1 100); do [ "$(grep -c "ABORT token for $X" "$T/w.log")" -ge $k ] && break; sleep 0.05; done
  assert_eq "$(grep -c "ABORT token for $X" "$T/w.log")" $k "one ABORT per refused session"
  assert_eq "$(entry b "$X" state)" ACTIVE "B serves on"
  assert_eq "$(t w ps --json | json 'len(j["tas"])')" 0 "W registers no TA"
  assert_eq "$(code_of w call "$X" count)" NO_SUCH_TA "call on W"
  assert_eq "$(code_of w resume "$X")" NO_SUCH_TA "resume on W"
  procs_match w
done
tokens=$(sed -n "s/.*ABORT token for $X: \([0-9a-f]*\)$/\1/p" "$T/w.log")
assert_eq "$(cut -c3-34 <<<"$tokens" | sort -u | wc -l)" 2 "two refusals, two sessions"
assert_eq "$(t b call "$X" digest)" "$D" "B's digest after two refusals"
# With the genuine image the next attempt works.
install -m 755 "$KVF" "$T/w/images/$name"
assert_eq "$(code_of b migrate "$X" --to 127.0.0.1:$WP)" OK "B -> W with the genuine image"
assert_eq "$(t w call "$X" digest)" "$D" "digest on W"
[ "$(entry w "$X" version)" -ge "$V" ] || fail "I2 on W"
assert_eq "$(n_active "$X" a b w)" 1 "I1 at the end"
procs_match w; procs_match b
node_alive "$a_PID"; node_alive "$b_PID"; node_alive "$w_PID"
# Last: every TA process that ended was reaped by its node. A and B each
# retired a source (A -> B, B -> W); a RETIRED process exits (ta/entry.c),
# and its node must wait for it rather than keep a zombie per migration.
for n in a b w; do
  p=$(eval echo "\$${n}_PID")
  assert_eq "$(zombies "$p")" "" "unreaped (zombie) TA processes of node $n"
done
