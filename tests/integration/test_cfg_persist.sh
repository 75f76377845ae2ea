# D43: the CFG of an image a node has seen before is never extracted twice,
# not even by a restarted node. The sim platform keeps each image's CFG in
# the state dir (cfg/<sha256 of the image>.cfg, 0444) when it extracts it;
# a restarted node loads it instead (a TA run there and a migration arriving
# there both find it). A kept file that is damaged (a flipped byte,
# truncated) or that belongs to another image is never used: one line in
# the log, the CFG extracted again and the file replaced, and the TA runs
# and migrates as before.
. "$(dirname "$0")/lib.sh"
start_node a; A_PORT=$PORT
start_node b; B_PORT=$PORT

restart() { # NAME: stop the node (SIGTERM) and start it on the same state dir
  local pid_var="${1}_PID"
  kill -TERM "${!pid_var}"; wait "${!pid_var}" || fail "talosd $1 exit status on SIGTERM"
  start_node "$1"
}
extracted() { grep -c "sim: CFG of .* extracted in" "$T/$1.log" || true; }
loaded() { grep -c "sim: CFG of .* loaded from $T/$1/cfg/.*\.cfg in .* (not extracted)" "$T/$1.log" || true; }
rejected() { grep -c "sim: kept CFG $T/$1/cfg/.*\.cfg not used: .*: extracting it again" "$T/$1.log" || true; }

TA=$(t a run "$KV")
assert_eq "$(extracted a)" 1 "CFG extractions on a's first run"
SHA=$(basename "$(ls "$T"/a/images/*.ta)" .ta)
KEPT=cfg/$SHA.cfg
[ -f "$T/a/$KEPT" ] || fail "a kept no CFG file: $(ls -la "$T/a/cfg")"
assert_eq "$(stat -c %a "$T/a/$KEPT")" 444 "mode of the kept CFG file"
assert_eq "$(stat -c %a "$T/a/cfg")" 700 "mode of the cfg directory"
t a call "$TA" fill 2000 100 >/dev/null
D=$(t a call "$TA" digest)

# A first arrival on b extracts there and keeps it there too.
t a migrate "$TA" --to 127.0.0.1:$B_PORT >/dev/null
assert_eq "$(extracted b)" 1 "CFG extractions on b's first arrival"
[ -f "$T/b/$KEPT" ] || fail "b kept no CFG file"
cmp -s "$T/a/$KEPT" "$T/b/$KEPT" || fail "the two nodes kept different CFG files for one image"

# a restarts: the TA arriving there and a new TA both find the kept CFG.
restart a; A_PORT=$PORT
t b migrate "$TA" --to 127.0.0.1:$A_PORT >/dev/null
assert_eq "$(t a call "$TA" digest)" "$D" "digest after the move to the restarted node"
R=$(t a run "$KV")
t a call "$R" put k v >/dev/null
assert_eq "$(t a call "$R" get k)" v "a TA run on the restarted node"
assert_eq "$(extracted a)" 0 "CFG extractions on the restarted node"
# (`talos run` stores the image again, a new file: the platform's memory
# cache, by file identity, misses it and the kept CFG is loaded again.)
[ "$(loaded a)" -ge 1 ] || fail "the restarted node never loaded the kept CFG: $(grep 'sim: CFG' "$T/a.log")"

# damage FILE HOW: the file changed in place, its mode as talosd made it.
damage() {
  chmod u+w "$1"
  python3 - "$1" "$2" <<'PY'
import sys
path, how = sys.argv[1], sys.argv[2]
b = bytearray(open(path, "rb").read())
if how == "flip":
    b[len(b) // 2] ^= 0x01   # inside the CFG file, away from the header
elif how == "truncate":
    b = b[: len(b) // 3]
open(path, "wb").write(b)
PY
  chmod 444 "$1"
}

# A flipped byte: b says so, extracts again, and the TA arrives and serves.
kill -TERM "$b_PID"; wait "$b_PID" || true
damage "$T/b/$KEPT" flip
start_node b; B_PORT=$PORT
t a migrate "$TA" --to 127.0.0.1:$B_PORT >/dev/null
assert_eq "$(t b call "$TA" digest)" "$D" "digest after a move onto a damaged kept CFG"
assert_eq "$(rejected b)" 1 "log lines about the damaged kept CFG"
grep -q "not used: the CFG file in it does not parse" "$T/b.log" || fail "reason for the flipped byte: $(grep 'kept CFG' "$T/b.log")"
assert_eq "$(extracted b)" 1 "CFG extractions after the damaged kept CFG"
cmp -s "$T/a/$KEPT" "$T/b/$KEPT" || fail "the damaged kept CFG was not replaced"
assert_eq "$(stat -c %a "$T/b/$KEPT")" 444 "mode of the replaced CFG file"
t b migrate "$TA" --to 127.0.0.1:$A_PORT >/dev/null # b restarts below

# Truncated: the same, for a TA run on b.
kill -TERM "$b_PID"; wait "$b_PID" || true
damage "$T/b/$KEPT" truncate
start_node b; B_PORT=$PORT
U=$(t b run "$KV")
t b call "$U" put k w >/dev/null
assert_eq "$(t b call "$U" get k)" w "a TA run over a truncated kept CFG"
assert_eq "$(rejected b)" 1 "log lines about the truncated kept CFG"
assert_eq "$(extracted b)" 1 "CFG extractions after the truncated kept CFG"

# Another image's kept CFG under this image's name (whole and valid in
# itself): refused, or b would sign ledger's CFG digest for kvstore and
# the source would refuse the target (CFG_DIGEST).
L=$(t a run "$LEDGER")
LSHA=$(basename "$(ls "$T"/a/images/*.ta | grep -v "$SHA")" .ta)
[ -f "$T/a/cfg/$LSHA.cfg" ] || fail "a kept no CFG file for the ledger"
kill -TERM "$b_PID"; wait "$b_PID" || true
chmod u+w "$T/b/$KEPT"; cp "$T/a/cfg/$LSHA.cfg" "$T/b/$KEPT"; chmod 444 "$T/b/$KEPT"
start_node b; B_PORT=$PORT
t a migrate "$TA" --to 127.0.0.1:$B_PORT >/dev/null
assert_eq "$(t b call "$TA" digest)" "$D" "digest after a move onto another image's kept CFG"
grep -q "not used: kept for another image" "$T/b.log" || fail "reason for another image's CFG: $(grep 'kept CFG' "$T/b.log")"
cmp -s "$T/a/$KEPT" "$T/b/$KEPT" || fail "another image's kept CFG was not replaced"
t a stop "$L" >/dev/null
node_alive "$a_PID"; node_alive "$b_PID"
