# Warm memory in the warm pool (issue #15): after `talos run`, the node keeps
# a virgin target of that image whose arena is already faulted in
# (--pool-arena, default 32M), so that a migration restores into touched
# memory. With --pool-arena 0 the pooled target holds no arena memory; a bad
# size is refused at start; migrations into either kind of pool keep the
# state whole.
. "$(dirname "$0")/lib.sh"
# pool_rss NODE_PID: VmRSS (KiB) of the node's one child that is no
# registered TA (the pooled target), once it is there and done faulting.
pool_rss() {
  local node_pid=$1 ta_pid=$2 p rss=0 last=-1
  for _ in $(seq 1 200); do
    for p in $(child_procs "$node_pid" | awk '{print $1}'); do
      [ "$p" = "$ta_pid" ] && continue
      rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
    done
    [ "$rss" -gt 0 ] && [ "$rss" = "$last" ] && { echo "$rss"; return 0; }
    last=$rss; sleep 0.05
  done
  echo "$rss"
}
ta_pid() { t "$1" ps --json | json "[x['pid'] for x in j['tas'] if x['id']=='$2'][0]"; }

err=$("$TALOSD" --state-dir "$T/bad" --pool-arena 9G 2>&1) && fail "9G must be refused"
case "$err" in *"--pool-arena takes a size up to 8G"*) ;; *) fail "refusal: $err" ;; esac
err=$("$TALOSD" --state-dir "$T/bad" --pool-arena 12X 2>&1) && fail "12X must be refused"

start_node a --pool-arena 64M; A_PORT=$PORT
start_node b --pool-arena 0; B_PORT=$PORT
TA=$(t a run "$KV")
warm=$(pool_rss "$a_PID" "$(ta_pid a "$TA")")
[ "$warm" -ge $((64 * 1024)) ] || fail "a's pooled target holds ${warm} KiB, wanted >= 64 MiB faulted in"
TB=$(t b run "$KV")
cold=$(pool_rss "$b_PID" "$(ta_pid b "$TB")")
[ "$cold" -lt $((32 * 1024)) ] || fail "b's pooled target holds ${cold} KiB with --pool-arena 0"

# Both pools serve migrations: a -> b (into the cold target), b -> a (warm).
t a call "$TA" fill 2000 1000 5 >/dev/null
D=$(t a call "$TA" digest)
t a migrate "$TA" --to "127.0.0.1:$B_PORT" >/dev/null
assert_eq "$(t b call "$TA" digest)" "$D" "state whole after a move into a cold pool target"
t b migrate "$TA" --to "127.0.0.1:$A_PORT" >/dev/null
assert_eq "$(t a call "$TA" digest)" "$D" "state whole after a move into a warm pool target"
echo "ok: pool targets hold ${warm} KiB (--pool-arena 64M) and ${cold} KiB (0)"
