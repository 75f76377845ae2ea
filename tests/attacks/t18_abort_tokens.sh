# T18: forged, replayed and cross-session ABORT tokens.
#
# Where genuine ABORTs come from in v1 (ta/mig_target.c: a target sends
# ABORT when it FAILS with the channel up and keys derived, and its node
# logs "peer: ABORT token for <id>: <hex>"):
#  - a real refusal during attestation: node C's store holds another build
#    under the genuine image's name; C's target refuses the source's
#    measurement and sends ABORT(MEASUREMENT). The source never handed off,
#    so that ABORT belongs to a session that can never be resumed.
#  - a target that times out waiting for HANDOFF. No fault point gives that
#    with the source alive and HANDED_OFF, so a partition does: a TCP relay
#    between A and B (the attacker owns the network; it reads nothing, it
#    only drops) passes the nodes' link untouched and the data connection
#    up to the target's PREPARED (the first 131-byte TLS record from T:
#    PREPARED and ABORT are the only 109-byte migration records T sends),
#    then drops.
#      cut      both directions dropped after PREPARED: S sent HANDOFF into
#               the void and waits for a RECEIPT; T waits for HANDOFF. Both
#               time out (30 s channel timeout): S is HANDED_OFF in doubt, T
#               waits for a resent HANDOFF (B runs --handoff-wait 1, see
#               docs/migration.md "Resend"), then FAILS with an ABORT of the
#               pending session that B logs and keeps. This relay takes ONE
#               connection: A's resends never reach B, so A gives up (A runs
#               --handoff-wait 4: migrate waits 9 s, the resend goes on for
#               18 s) and stays in doubt.
#               B's logged token is the one the operator may carry to A:
#               resume works exactly once.
#      cut_s2t  only S->T dropped, and PREPARED held 10 s so that T's timeout
#               comes first: T waits 1 s, FAILS, and B keeps its ABORT; S
#               times out after its HANDOFF, is in doubt, and A's resend
#               (this relay passes further links, held until 36 s
#               after the first so that T has surely failed) gets the kept ABORT:
#               S checks it under the session key and resumes by itself.
# Refusals (core/mig.c talos_token_open checks length, then the MAC under
# the pending session's key, then kind/session/lineage):
#   a genuine ABORT of an earlier session of the same lineage     MAC
#   a genuine ABORT of another lineage                            MAC
#   one bit flipped (kind, session, code, MAC)                    MAC
#   truncated / one byte more                                     MALFORMED
#   the used token again, once the source is ACTIVE               STATE
#   the used token in a later session (a new in-doubt handoff)    MAC
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/fault_lib.sh"

token_of() { sed -n "s/.*ABORT token for $2: \([0-9a-f]*\)$/\1/p" "$1" | tail -1; }
# flip HEX BYTE: the token with bit 0 of byte BYTE flipped
flip() { local h=$1 o=$((2 * $2)); echo "${h:0:o}$(printf '%02x' $((0x${h:o:2} ^ 1)))${h:o+2}"; }

cat >"$T/relay.py" <<'PY'
# A TCP relay that drops traffic after the target's PREPARED (see above).
import socket, sys, threading, time
lport, dport, mode, logf, delay = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5])
once = mode == "cut"  # a full partition: later connections (resends) are dropped too
log = open(logf, "a", buffering=1)
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", lport)); ls.listen(8)
log.write("listening\n")

def recvn(s, n):
    buf = b""
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            return None
        buf += d
    return buf

def pipe(x, y):
    try:
        while True:
            d = x.recv(65536)
            if not d:
                break
            y.sendall(d)
        y.shutdown(socket.SHUT_WR)
    except OSError:
        pass

def handle_link(a):
    # The nodes' authenticated link (TLS): passed untouched.
    b = socket.create_connection(("127.0.0.1", dport))
    threading.Thread(target=pipe, args=(a, b), daemon=True).start()
    pipe(b, a)

def handle(a):
    # The data connection: its 40-byte DATA hello, then the TAs' TLS.
    b = socket.create_connection(("127.0.0.1", dport))
    st = {"cut": False}
    def s2t():
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                if not st["cut"]:
                    b.sendall(d)
        except OSError:
            pass
    threading.Thread(target=s2t, daemon=True).start()
    drop = False
    try:
        while True:  # TLS records from T
            h = recvn(b, 5)
            body = recvn(b, int.from_bytes(h[3:5], "big")) if h else None
            if body is None:
                break
            if not st["cut"] and h[0] == 23 and len(body) == 131:
                st["cut"] = True
                log.write("PREPARED seen: S->T dropped from now on\n")
                time.sleep(delay)
                a.sendall(h + body)
                if mode == "cut":
                    drop = True
                    log.write("T->S dropped from now on\n")
                continue
            if drop:
                log.write("dropped a %d-byte record from T\n" % len(body))
            else:
                a.sendall(h + body)
    except OSError:
        pass
    time.sleep(3600)  # a partition: no FIN either way

def handle_later(c):
    # A resend in the half partition is held until the target has surely
    # timed out (30 s channel timeout + 1 s wait): it must get the ABORT.
    time.sleep(max(0.0, first + 36 - time.time()))
    log.write("passing a later connection\n")
    handle_link(c)

n, first = 0, time.time()
while True:
    c, _ = ls.accept()
    is_data = c.recv(1, socket.MSG_PEEK) == b"T"
    if n == 0 and not is_data:  # the migration's own link
        threading.Thread(target=handle_link, args=(c,), daemon=True).start()
        continue
    n += 1
    if n == 1:
        first = time.time()
    if once and n > 1:
        log.write("dropped connection %d\n" % n)
        c.close()
        continue
    threading.Thread(target=handle if n == 1 else handle_later, args=(c,), daemon=True).start()
PY
relay() { # PORT DEST MODE LOG DELAY
  python3 "$T/relay.py" "$@" & BG+=($!)
  for _ in $(seq 1 100); do grep -q listening "$4" 2>/dev/null && return 0; sleep 0.05; done
  fail "relay did not start"
}

start_node a --handoff-wait 4; AP=$PORT
start_node b --handoff-wait 1; BP=$PORT
TALOSD=$HOSTILE_TALOSD start_node c; CP=$PORT # c plants a wrong image (lib.sh)
TALOS_FAULT=target.before_active start_node d; DP=$PORT
PORT=$((PORT + 1)); R1=$PORT; relay $R1 $BP cut "$T/relay1.log" 0
PORT=$((PORT + 1)); R2=$PORT; relay $R2 $BP cut_s2t "$T/relay2.log" 10

X=$(t a run "$KVF"); Y=$(t a run "$KVF")
for id in $X $Y; do t a call "$id" fill 2000 200 5 >/dev/null; t a call "$id" put apple "red-$id" >/dev/null; done

# 1. A genuine ABORT of an earlier session: C's target refuses the source.
mkdir -p "$T/c/images"
install -m 755 "$KV" "$T/c/images/$(basename "$(entry a "$X" image)")"
assert_eq "$(code_of a migrate "$X" --to 127.0.0.1:$CP)" MEASUREMENT "refusal on C"
wait_log "$T/c.log" "ABORT token for $X: "
OLD=$(token_of "$T/c.log" "$X")
assert_eq "${#OLD}" 218 "ABORT token length (109 bytes)"
assert_eq "$(code_of a resume "$X" --token "$OLD")" STATE "resume of an ACTIVE source"

DX=$(t a call "$X" digest); VX=$(entry a "$X" version)
DY=$(t a call "$Y" digest); VY=$(entry a "$Y" version)

# 2. Two partitions at once: X fully cut, Y cut S->T only.
t a migrate "$X" --to 127.0.0.1:$R1 >/dev/null 2>"$T/mx.err" & MX=$!
t a migrate "$Y" --to 127.0.0.1:$R2 >/dev/null 2>"$T/my.err" & MY=$!
BG+=($MX $MY)
rc=0; wait $MX || rc=$?; assert_eq $rc 1 "partitioned migration of X"
rc=0; wait $MY || rc=$?; assert_eq $rc 1 "partitioned migration of Y"
grep -q "PREPARED seen" "$T/relay1.log" || fail "relay 1 never saw PREPARED"
# T sent no ABORT on the wire: it waited for a resent HANDOFF, then failed.
grep -q "target for $X is PREPARED and lost its channel" "$T/b.log" || fail "B's target for X did not wait for a resent HANDOFF"
grep -q "dropped connection" "$T/relay1.log" || fail "relay 1 did not drop A's resends"
grep -q "(STATE)$" "$T/mx.err" || fail "X: $(tail -1 "$T/mx.err")"
grep -q "in doubt, not serving" "$T/mx.err" || fail "X: $(tail -1 "$T/mx.err")"
wait_log "$T/b.log" "ABORT token for $X: "
wait_log "$T/b.log" "ABORT token for $Y: "
HX=$(token_of "$T/b.log" "$X"); HY=$(token_of "$T/b.log" "$Y")
# Y: T's ABORT, kept by B, came back for A's resent HANDOFF; S verified it
# and resumed by itself.
grep -q "verified its ABORT and serves again" "$T/my.err" || fail "Y should report the target's ABORT: $(tail -1 "$T/my.err")"
assert_eq "$(entry a "$Y" state)" ACTIVE "Y resumed on the target's ABORT"
assert_eq "$(t a call "$Y" digest)" "$DY" "Y's digest after resuming"
assert_eq "$(code_of a resume "$Y" --token "$HY")" STATE "Y's ABORT again: Y is ACTIVE"
# Nothing of either lineage on B (I6).
assert_eq "$(entry b "$X" state)$(entry b "$Y" state)" nonenone "FAILED targets do not serve"

# 3. X is in doubt, and holds the only key that checks HX.
assert_eq "$(entry a "$X" state)" HANDED_OFF "X in doubt"
assert_eq "$(code_of a call "$X" count)" MOVED "I5 before resume"
assert_eq "$(code_of a resume "$X" --token "$OLD")" MAC "ABORT of an earlier session (replay)"
assert_eq "$(code_of a resume "$X" --token "$HY")" MAC "ABORT of another lineage's session"
for byte in 0 5 20 35 50 74 80 108; do # kind session lineage version head code MAC MAC
  assert_eq "$(code_of a resume "$X" --token "$(flip "$HX" $byte)")" MAC "bit flipped in byte $byte"
done
assert_eq "$(code_of a resume "$X" --token "${HX:0:216}")" MALFORMED "truncated ABORT"
assert_eq "$(code_of a resume "$X" --token "${HX:0:100}")" MALFORMED "half an ABORT"
assert_eq "$(code_of a resume "$X" --token "${HX}00")" MALFORMED "ABORT with one byte more"
assert_eq "$(code_of a resume "$X")" MALFORMED "no token"
assert_eq "$(entry a "$X" state)" HANDED_OFF "refusals change nothing (I8)"
assert_eq "$(code_of a call "$X" count)" MOVED "I5 after the refusals"

# The genuine ABORT of the pending session: resume works, exactly once.
assert_eq "$(code_of a resume "$X" --token "$HX")" OK "resume with the genuine ABORT"
assert_eq "$(entry a "$X" state)" ACTIVE "X serves again"
assert_eq "$(t a call "$X" digest)" "$DX" "X's digest intact"
[ "$(entry a "$X" version)" -ge "$VX" ] || fail "I2: version went below $VX"
assert_eq "$(code_of a resume "$X" --token "$HX")" STATE "the same ABORT a second time"
grep -q "TA $X resumed on this node" "$T/a.log" || fail "A must log the resume"
t a call "$X" put after resume >/dev/null

# 4. Replay into a later session: a new handoff to D, whose target dies
#    after reading HANDOFF. The used token and every old one are refused.
assert_eq "$(code_of a migrate "$X" --to 127.0.0.1:$DP)" STATE "X in doubt again (session 3)"
assert_eq "$(code_of a migrate "$Y" --to 127.0.0.1:$DP)" STATE "Y in doubt (its session 2)"
assert_eq "$(code_of a resume "$X" --token "$HX")" MAC "a used ABORT in a later session"
assert_eq "$(code_of a resume "$X" --token "$OLD")" MAC "the oldest ABORT in a later session"
assert_eq "$(code_of a resume "$Y" --token "$HY")" MAC "Y's earlier ABORT in its later session"
assert_eq "$(code_of a resume "$Y" --token "$HX")" MAC "X's ABORT on Y"
for id in $X $Y; do
  assert_eq "$(entry a "$id" state)" HANDED_OFF "still in doubt"
  assert_eq "$(code_of a call "$id" count)" MOVED "I5"
  for n in b c d; do assert_eq "$(entry $n "$id" state)" none "I1: nothing of $id on $n"; done
done
node_alive "$a_PID"; node_alive "$b_PID"

# Last, after every safety check held: what the operator is told. Both
# partitions were silence until the 30 s channel timeout; nothing failed an
# authentication tag. X's in-doubt reason and Y's error (the code the target
# put in its ABORT) must say TIMEOUT ("timed out"), not MAC: a MAC error
# tells the operator that someone tampered with the stream.
why=""
grep -q "no receipt (timed out)" "$T/mx.err" || why="X (in doubt): $(tail -1 "$T/mx.err"); "
grep -q "(TIMEOUT)$" "$T/my.err" || why+="Y (resumed on ABORT): $(tail -1 "$T/my.err")"
[ -z "$why" ] || fail "(all safety checks held) a channel timeout is reported as another cause: $why"
