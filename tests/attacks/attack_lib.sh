# Helpers of the adversarial tests (sourced after lib.sh): a one-connection
# tampering proxy (proxy.py) and the invariant checks every attack ends with.
PROXY=$TALOS_ROOT/tests/attacks/proxy.py
PX_PORT=$((${TEST_PORT_BASE:-21000} + 100))
# proxy ARGS... -> a one-connection adversary on the next proxy port
# ($PX_PORT); it writes its JSON summary to $PX_LOG when it ends.
proxy() {
  PX_PORT=$((PX_PORT + 1)); PX_LOG=$T/proxy-$PX_PORT.json
  local pid
  pid=$(python3 "$PROXY" --daemon --listen "$PX_PORT" --log "$PX_LOG" --timeout 20 "$@") ||
    fail "proxy $* did not start"
  NODE_PIDS+=("$pid")
}
proxy_wait() {
  for _ in $(seq 1 200); do [ -f "$PX_LOG" ] && return 0; sleep 0.05; done
  fail "proxy on $PX_PORT did not finish"
}
# start_nodes NAME...: start_node each; NAME_PORT (upper case) is its peer
# port, NODES the names the invariant checks below walk.
start_nodes() {
  local n
  for n in "$@"; do start_node "$n"; eval "${n^^}_PORT=\$PORT"; done
  NODES="$*"
}
# kv_filled NODE: TA = a kvstore on NODE with 168 KiB of state (1000 keys
# of 100 bytes: one CHUNK of 42 pages).
kv_filled() { TA=$(t "$1" run "$KV"); t "$1" call "$TA" fill 1000 100 7 >/dev/null; }
# state_of NODE ID -> the states of NODE's entries for ID, comma-separated ("NONE" if none)
state_of() { t "$1" ps --json | json "','.join(sorted(x['state'] for x in j['tas'] if x['id']=='$2')) or 'NONE'"; }
version_of() { t "$1" ps --json | json "next((x['version'] for x in j['tas'] if x['id']=='$2' and x['state']!='MOVED'), -1)"; }
# serves_once ID HOME: exactly one ACTIVE instance, on HOME; every other
# entry for the lineage, on any node, is a MOVED note (I1).
serves_once() {
  local n s
  for n in $NODES; do
    s=$(t "$n" ps --json | json "[x['state'] for x in j['tas'] if x['id']=='$1']")
    if [ "$n" = "$2" ]; then
      python3 -c "import sys; s=$s; sys.exit(not (s.count('ACTIVE') == 1 and set(s) <= {'ACTIVE', 'MOVED'}))" ||
        fail "lineage on its home $n: $s, wanted one ACTIVE instance (I1)"
    else
      python3 -c "import sys; sys.exit(not set($s) <= {'MOVED'})" ||
        fail "lineage on $n: $s, wanted nothing or a MOVED note (I1)"
    fi
  done
}
mark_logs() { for n in $NODES; do eval "MARK_$n=\$(wc -l <\"\$T/$n.log\")"; done; }
# expect_log NODE TEXT: NODE logged a line containing TEXT since mark_logs
# (polled: the target's node logs its verdict when its TA reports it).
expect_log() {
  local m
  eval "m=\$MARK_$1"
  for _ in $(seq 1 100); do
    tail -n +$((m + 1)) "$T/$1.log" | grep -aqF -- "$2" && return 0
    sleep 0.05
  done
  fail "$1's log lacks '$2' since the attack; it has: $(tail -n +$((m + 1)) "$T/$1.log")"
}
# refused CODE: migrate TA from a through the proxy; exit 1 and stderr's
# last line ends with "(CODE)" — the one error the refusal must name.
refused() {
  local rc=0 err
  err=$(t a migrate "$TA" --to "127.0.0.1:$PX_PORT" 2>&1 >/dev/null) || rc=$?
  err=$(tail -1 <<<"$err")
  [ $rc -eq 1 ] || fail "migrate through '$(cat "$PX_LOG" 2>/dev/null)' exited $rc, wanted 1 ($1): $err"
  case "$err" in *" ($1)") ;; *) fail "migrate must fail with ($1), got: $err" ;; esac
}
# after_refusal: I1, I2, I8 — the source serves on, unchanged; the target node has none of it.
after_refusal() {
  serves_once "$TA" a
  assert_eq "$(version_of a "$TA")" "$V" "version after the refusal (I2, I8)"
  assert_eq "$(t a call "$TA" digest)" "$D" "digest after the refusal (I8)"
  V=$((V + 1)) # the digest call committed
  node_alive "$a_PID"; node_alive "$b_PID"
}

# learn_record_layout: migrate TA a -> b -> a once for real through a
# recording proxy (digest intact both ways), then number the TLS records of
# the source -> target direction: sets CERT HELLO EVH EVB BEGIN CHUNK PAGES
# MANIFEST THREADS HANDOFF LINEAGE PERSIST (record indices; PERSIST: the
# persist section's CHUNK header, after the arena's pages) and V (the version
# after the round trip). LINEAGE (the lineage key, ta/mig_cert.c) sits
# between the evidence and BEGIN; it is always one TLS record
# (talos_chan_send_one).
learn_record_layout() {
  proxy --to "127.0.0.1:$B_PORT" --mode pass
  t a migrate "$TA" --to "127.0.0.1:$PX_PORT" >/dev/null
  proxy_wait
  serves_once "$TA" b
  assert_eq "$(t b call "$TA" digest)" "$D" "digest after the genuine migration"
  t b migrate "$TA" --to "127.0.0.1:$A_PORT" >/dev/null
  serves_once "$TA" a
  assert_eq "$(t a call "$TA" digest)" "$D" "digest after the round trip"
  V=$(version_of a "$TA")
  read -r CERT HELLO EVH EVB BEGIN CHUNK PAGES MANIFEST THREADS HANDOFF LINEAGE PERSIST < <(python3 - "$PX_LOG" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["records"]
lens = [n for _, _, n in r]
evh = lens.index(27) + 1                  # the EVIDENCE header: the first 27-byte record
hello, evb, lineage, begin, chunk = evh - 1, evh + 1, evh + 2, evh + 3, evh + 4
assert r[0][1] == 22 and r[1][1] == 20 and hello == 6, r[:8]
assert lens[lineage - 1] == 175 and lens[begin - 1] == 91 and lens[chunk - 1] == 43, lens
# The arena's pages, then the persist section's CHUNK (its header, its
# page: the runtime's own TALOS_PERSIST variable, ta/once.c, gives every TA
# one), then MANIFEST, THREADS (one context, no frames: 16 bytes),
# HANDOFF, close_notify.
mid = lens[chunk:len(r) - 4]
assert 43 in mid, lens
arena, persist = mid[:mid.index(43)], mid[mid.index(43):]
assert arena and all(n > 95 for n in arena), lens
assert len(persist) >= 2 and all(n > 95 for n in persist[1:]), lens
assert lens[-4:] == [95, 43, 136, 24], lens
pages = list(range(chunk + 1, chunk + 1 + len(arena)))
print(3, hello, evh, evb, begin, chunk, pages[0], len(r) - 3, len(r) - 2, len(r) - 1, lineage,
      pages[-1] + 1)
PY
  ) || fail "the TLS stream does not have the layout this test expects: $(cat "$PX_LOG")"
}
