# Sourced by the test runners. Under SAN=1, every process (nodes, TAs, CLI)
# writes sanitizer reports to one folder; a test passes only if it stays empty.
if [ "${SAN:-0}" = 1 ]; then
  SAN_DIR=$(mktemp -d /tmp/talos-san.XXXXXX)
  # Sim TAs of a node run as root run as another user (docs/confinement.md):
  # their reports must land here too.
  chmod 1777 "$SAN_DIR"
  export ASAN_OPTIONS="log_path=$SAN_DIR/asan:detect_leaks=1:abort_on_error=0:exitcode=99"
  export UBSAN_OPTIONS="log_path=$SAN_DIR/ubsan:print_stacktrace=1:halt_on_error=1:exitcode=99"
  export LSAN_OPTIONS="suppressions=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lsan.supp:print_suppressions=0"
  san_reset() { rm -f "$SAN_DIR"/*; }
  # A log whose only content is LeakSanitizer's "Unable to get registers from
  # thread N" is LSan failing to suspend a thread that was exiting at that
  # instant (its stop-the-world race), not a memory error: it is set aside.
  # Any other line in the same file still fails the test.
  san_clean() {
    local f
    for f in "$SAN_DIR"/*; do
      [ -f "$f" ] || continue
      if grep -qv -e '^==[0-9]*==Unable to get registers from thread [0-9]*\.$' -e '^$' "$f"; then
        return 1
      fi
    done
    return 0
  }
  san_show() { for f in "$SAN_DIR"/*; do [ -f "$f" ] && { echo "     sanitizer report $f:"; head -40 "$f" | sed 's/^/     /'; }; done; }
else
  san_reset() { :; }
  san_clean() { true; }
  san_show() { :; }
fi
