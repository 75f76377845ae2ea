# T39 (docs/node-security.md): a secret given to `talos call` is not in its
# command line, which every local user can read in /proc/PID/cmdline:
# `@FILE` and `@-` (standard input) pass an argument's bytes instead. A
# local user (uid 65534) watches the command line while the call waits for
# its standard input: the secret is not there; the TA gets it exactly.
. "$(dirname "$0")/../integration/lib.sh"
start_node a
TA=$(t a run "$KV")
SECRET="s3cret-$(python3 -c 'import os; print(os.urandom(8).hex())')"
printf '%s' "$SECRET" >"$T/secret"
chmod 600 "$T/secret"
t a call "$TA" put k1 "@$T/secret" >/dev/null
assert_eq "$(t a call "$TA" get k1)" "$SECRET" "@FILE passes the file's bytes"
mkfifo "$T/in"
"$TALOS" --node "$T/a" call "$TA" put k2 @- <"$T/in" >/dev/null &
CALL=$!
exec 7>"$T/in" # the call now waits for its standard input
sleep 0.3
cmd=$(setpriv --reuid=65534 --regid=65534 --clear-groups cat "/proc/$CALL/cmdline" | tr '\0' ' ')
case "$cmd" in *put*k2*@-*) ;; *) fail "not the call's command line: $cmd" ;; esac
case "$cmd" in *"$SECRET"*) fail "the secret is in the command line" ;; esac
printf '%s' "$SECRET" >&7
exec 7>&-
wait "$CALL" || fail "talos call ... @- failed"
assert_eq "$(t a call "$TA" get k2)" "$SECRET" "@- passes standard input's bytes"
t a call "$TA" put k3 @@literal >/dev/null
assert_eq "$(t a call "$TA" get k3)" "@literal" "@@ passes a literal @"
expect_fail NOT_FOUND a call "$TA" put k4 "@$T/missing"
expect_fail INVALID_ARG a call "$TA" put k4 "@$T"
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' a >"$T/big"
expect_fail TOO_LARGE a call "$TA" put k4 "@$T/big"
echo "T39: secrets pass by file or standard input, never in the command line"
