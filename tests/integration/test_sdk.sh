# The TA SDK (issue #16, docs/ta-sdk.md): `make install` into a scratch
# prefix, then a user's project outside this tree — plain C with static and
# malloc'ed state (tests/sdk/counter.c), and SQLite's static library named
# as state — builds its images with `pkg-config --cflags talos-ta` and
# talos-ta-link alone; both run on a node and migrate with their state.
# A relying party's program (tests/sdk/client.c) builds and links against
# the installed client library with `pkg-config --cflags --libs
# talos-client` alone, loads a policy file and calls a TA in a secure
# session that follows it across a migration.
. "$(dirname "$0")/lib.sh"
make -s -C "$TALOS_ROOT" BUILD="$BUILD" install DESTDIR="$T/root" PREFIX=/opt/talos >/dev/null ||
  fail "make install"
SDK=$T/root/opt/talos
export PKG_CONFIG_PATH=$SDK/lib/pkgconfig
mkdir -p "$T/proj" && cp "$TALOS_ROOT/tests/sdk/counter.c" "$TALOS_ROOT/examples/sqlite/sqlite_ta.c" "$T/proj/"
cd "$T/proj"
cflags=$(pkg-config --cflags talos-ta) || fail "pkg-config talos-ta"
# An SDK installed from a sanitizer build: instrumented objects, dynamic
# images, state objects without ASan globals (docs/ta-sdk.md).
san=
if [ "${SAN:-0}" = 1 ]; then
  san="-fsanitize=address,undefined -fno-omit-frame-pointer --param asan-globals=0"
  export TALOS_TA_LINK_FLAGS="-no-pie -fsanitize=address,undefined"
fi
inc=$(echo "$cflags" | sed 's/^-I//; s/ *$//')
[ "$(cd "$inc" && pwd)" = "$SDK/include" ] || fail "pkg-config's cflags: $cflags"
${CC:-cc} -O2 $san $cflags -c counter.c -o counter.o || fail "compile counter.c"
${CC:-cc} -O2 $san $cflags -c sqlite_ta.c -o sqlite_ta.o || fail "compile sqlite_ta.c"
"$SDK/bin/talos-ta-link" -o counter.ta counter.o || fail "talos-ta-link counter"
"$SDK/bin/talos-ta-link" -o sql.ta --state-lib "$(${CC:-cc} -print-file-name=libsqlite3.a)" \
  sqlite_ta.o -- -lm -ldl || fail "talos-ta-link sqlite"
# Its errors are specific.
rc=0; err=$("$SDK/bin/talos-ta-link" -o x.ta nosuch.o 2>&1) || rc=$?
assert_eq $rc 2 "talos-ta-link on a missing object"
case "$err" in *"cannot read nosuch.o"*) ;; *) fail "talos-ta-link's error: $err" ;; esac
# The client library: a program outside the tree, its policy file beside it.
cp "$TALOS_ROOT/tests/sdk/client.c" "$T/proj/"
client_flags=$(pkg-config --cflags --libs talos-client) || fail "pkg-config talos-client"
case "$client_flags" in *"$SDK/lib/talos/libtalos_client.a"*) ;; *)
  [ -f "$SDK/lib/talos/libtalos_client.a" ] || fail "libtalos_client.a not installed" ;; esac
${CC:-cc} -O2 $san -o client client.c $client_flags || fail "build the client program"
printf '{"measurements": ["%s"], "allow_sim": true}\n' "$(printf '1%.0s' $(seq 64))" >policy.json
assert_eq "$(./client policy.json)" "policy ok (sim allowed)" "client program loads its policy"
printf '{"measurements": [], "allow_sim": true}\n' >empty.json
rc=0; err=$(./client empty.json 2>&1) || rc=$?
assert_eq $rc 1 "a policy without measurements"
case "$err" in *"MALFORMED"*) ;; *) fail "the client program's error: $err" ;; esac
cd - >/dev/null

start_node a; A_PORT=$PORT
start_node b; B_PORT=$PORT
C=$(t a run "$T/proj/counter.ta")
t a call "$C" add first >/dev/null
assert_eq "$(t a call "$C" add second)" 2 "counter"
t a migrate "$C" --to 127.0.0.1:$B_PORT >/dev/null
assert_eq "$(t b call "$C" add third)" 3 "the static counter moved"
assert_eq "$(t b call "$C" list | tr '\n' ' ')" "third second first " "the malloc'ed list moved"
S=$(t a run "$T/proj/sql.ta")
t a call "$S" exec "CREATE TABLE t(x); INSERT INTO t VALUES (1), (2), (39)" >/dev/null
t a migrate "$S" --to 127.0.0.1:$B_PORT --precopy >/dev/null
assert_eq "$(t b call "$S" query "SELECT sum(x) FROM t")" "[42]" "SQLite built with the SDK moved"
node_alive "$a_PID"; node_alive "$b_PID"
# The installed client library's program talks to the counter end to end,
# through node a, where it no longer is: it follows the move to b.
M=$(t b ps --json | json "next(x['measurement'] for x in j['tas'] if x['id']=='$C')")
printf '{"measurements": ["%s"], "allow_sim": true, "anchors": "%s"}\n' "$M" "$TALOS_SIM_CA/ca.pem" \
  >"$T/proj/counter.json"
assert_eq "$("$T/proj/client" "$T/proj/counter.json" "127.0.0.1:$A_PORT" "$C" list | tail -n +2 | tr -s "\n" " ")" \
  "third second first " "a secure session from the installed client library"
