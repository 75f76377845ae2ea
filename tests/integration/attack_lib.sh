# Helpers of the adversarial tests (sourced after lib.sh): a one-connection
# tampering proxy (proxy.py) and the invariant checks every attack ends with.
PROXY=$TALOS_ROOT/tests/integration/proxy.py
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
