# T33: another local user prepares the state dir (issue #13,
# docs/state-dir.md). talosd must refuse any state dir, file in it, or sim
# CA dir that someone else could have planted or could replace, name it,
# and leave everything it found untouched. The attacker is uid 65534; the
# test runs as root (ownership changes need it).
. "$(dirname "$0")/../integration/lib.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: T33 needs root (a second user plays the attacker)"; exit 0; }
command -v setpriv >/dev/null || fail "setpriv (util-linux) is needed to act as another user"
as_attacker() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

# The attacker needs a place it may write: /tmp itself, as in the README.
EVIL=/tmp/talos-t33-evil.$$
trap 'rc=$?; rm -rf "$EVIL"; (exit $rc); cleanup' EXIT
rm -rf "$EVIL"

# refused DIR TEXT...: talosd on DIR exits 1, its stderr holding each TEXT.
refused() {
  local dir=$1 err rc=0; shift
  PORT=$((PORT + 1))
  err=$(timeout 30 "$TALOSD" --state-dir "$dir" --listen "127.0.0.1:$PORT" 2>&1 >/dev/null) || rc=$?
  [ $rc -eq 1 ] || fail "talosd on $dir exited $rc, wanted 1; stderr: $err"
  for w in "$@"; do
    case "$err" in *"$w"*) ;; *) fail "talosd on $dir: stderr lacks '$w': $err" ;; esac
  done
}
# snapshot DIR: every entry with owner, mode, size, mtime and link target.
snapshot() { find "$1" -printf '%p %u %m %s %T@ %l\n' | sort; }

printf 'victim content\n' >"$T/victim"
chmod 0644 "$T/victim"
victim_sum=$(sha256sum <"$T/victim")
victim_unchanged() {
  assert_eq "$(sha256sum <"$T/victim")" "$victim_sum" "victim file content"
  assert_eq "$(stat -c '%s %U %a' "$T/victim")" "15 root 644" "victim file size, owner, mode"
}

# (a) The attacker's state dir, world-writable, with an image of its own
# under kvstore's hash, talosd.pid pointing at a victim, and a known secret.
sha=$(sha256sum "$KV" | cut -c1-64)
as_attacker sh -c "umask 0; mkdir -m 0777 '$EVIL' '$EVIL/images' &&
  cp /bin/true '$EVIL/images/$sha.ta' && ln -s '$T/victim' '$EVIL/talosd.pid' &&
  head -c 32 /dev/zero >'$EVIL/platform.secret'" || fail "attacker setup"
before=$(snapshot "$EVIL")
refused "$EVIL" "$EVIL" "owned by uid 65534"
victim_unchanged
assert_eq "$(snapshot "$EVIL")" "$before" "the attacker's dir after talosd refused it"
# The same dir handed over to root as it is (chown only): still refused,
# now for its mode, and still nothing touched.
chown -R root:root "$EVIL"
before=$(snapshot "$EVIL")
refused "$EVIL" "$EVIL" "mode 0777"
assert_eq "$(snapshot "$EVIL")" "$before" "the chowned dir after talosd refused it"
victim_unchanged

# (b) Root's own dir, mode 0777.
mkdir "$T/b" && chmod 0777 "$T/b"
refused "$T/b" "$T/b" "mode 0777"
assert_eq "$(ls -A "$T/b")" "" "nothing created in a refused dir"

# (c) A good node whose secret became readable by others.
start_node c
kill -TERM "$c_PID"; wait "$c_PID" || fail "talosd c exit status"
secret_sum=$(sha256sum <"$T/c/platform.secret")
chmod 0644 "$T/c/platform.secret"
refused "$T/c" "$T/c/platform.secret" "secret"
assert_eq "$(sha256sum <"$T/c/platform.secret")" "$secret_sum" "refused secret kept as it was"
chmod 0600 "$T/c/platform.secret"

# (d) The secret owned by another user (the attacker's known bytes).
chown 65534:65534 "$T/c/platform.secret"
refused "$T/c" "$T/c/platform.secret" "uid 65534"
chown root:root "$T/c/platform.secret"

# ... and anything else of another user's, even a file talosd never opens.
cp /bin/true "$T/c/planted" && chown 65534:65534 "$T/c/planted"
refused "$T/c" "$T/c/planted" "uid 65534"
rm "$T/c/planted"

# (e) talosd.pid a symlink to the victim inside a good dir.
rm -f "$T/c/talosd.pid"
ln -s "$T/victim" "$T/c/talosd.pid"
refused "$T/c" "$T/c/talosd.pid" "symbolic link"
victim_unchanged
rm "$T/c/talosd.pid"
# ... and an image in images/ that others may write.
cp /bin/true "$T/c/images/$sha.ta" && chmod 0666 "$T/c/images/$sha.ta"
refused "$T/c" "$T/c/images/$sha.ta" "mode 0666"
rm "$T/c/images/$sha.ta"
# ... and talosd.sock something else than our stale socket: kept.
printf 'not a socket\n' >"$T/c/talosd.sock"
chmod 0600 "$T/c/talosd.sock"
refused "$T/c" "$T/c/talosd.sock" "not a socket of ours"
assert_eq "$(cat "$T/c/talosd.sock")" "not a socket" "a non-socket talosd.sock is kept"
rm "$T/c/talosd.sock"
# With everything put right, the node starts again on its old identity.
start_node c
assert_eq "$(sha256sum <"$T/c/platform.secret")" "$secret_sum" "secret after restart"

# (f) A missing state dir: created 0700, the node runs a TA.
start_node f
assert_eq "$(stat -c %a "$T/f")" 700 "state dir mode"
assert_eq "$(stat -c %a "$T/f/images")" 700 "images dir mode"
assert_eq "$(stat -c %a "$T/f/platform.secret") $(stat -c %a "$T/f/platform.key")" "600 600" "secret and key modes"
assert_eq "$(stat -c %a "$TALOS_SIM_CA") $(stat -c %a "$TALOS_SIM_CA/ca.key")" "700 600" "sim CA modes"
TA=$(t f run "$KV")
t f call "$TA" put apple red >/dev/null
assert_eq "$(t f call "$TA" get apple)" red "a TA runs in a created state dir"
# A talosd killed outright leaves its socket: the next one removes it.
kill -KILL "$f_PID"; wait "$f_PID" 2>/dev/null || true
[ -S "$T/f/talosd.sock" ] || fail "no stale socket left by kill -9"
start_node f

# (g) The sim CA dir writable by others.
chmod 0777 "$TALOS_SIM_CA"
refused "$T/g" "$TALOS_SIM_CA" "mode 0777"
chmod 0700 "$TALOS_SIM_CA"
start_node g
