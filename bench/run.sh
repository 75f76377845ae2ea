#!/usr/bin/env bash
# make bench: run every benchmark and write bench/RESULTS.md with the
# machine described. Numbers are medians measured in this run.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export TALOS_SIM_CA=$(mktemp -d /tmp/talos-bench-ca.XXXXXX)
trap 'rm -rf "$TALOS_SIM_CA"' EXIT
out=bench/RESULTS.md
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
{
  echo "# TALOS benchmark results"
  echo
  echo "Measured by \`make bench\` on $(date -u +%Y-%m-%d) at commit \`$(git rev-parse --short HEAD 2>/dev/null || echo unknown)\`."
  echo
  echo "Machine: $cpu, $(nproc) vCPUs, $(free -g | awk '/Mem:/{print $2}') GiB RAM, Linux $(uname -r), $(. /etc/os-release; echo "$PRETTY_NAME")."
  echo "Backend: sim (TAs are separate processes; real cryptography, NO hardware isolation)."
  echo "Build: gcc -O2, normal (non-sanitizer) build."
  echo
  echo "## Ecall round trip (bench/ecall_rtt.c)"
  echo
  echo "Host API straight to the TA (no talosd, no CLI): median and 99th percentile"
  echo "of 20 000 calls after warm-up. The plain call is timed in batches of 1 000."
  echo
  "$BUILD/bench/ecall_rtt" "$BUILD/tests/ta/probe.ta" 20000
  echo
  echo "Passive mode pays two socket sends and two scheduler wake-ups per call."
  echo "Switchless mode polls shared-memory rings (spinning briefly before it"
  echo "sleeps on a futex), so the fast path makes no system call; on this 2-vCPU"
  echo "machine the host and the TA each need a core to spin."
} >"$out.tmp"
mv "$out.tmp" "$out"
cat "$out"
