#!/usr/bin/env bash
# icount.sh - instructions per ecall, with and without migration support
#
# SYNOPSIS
#   bench/icount.sh [--json] [--calls N] [--warm W] [--rounds R] [--ta NAME]...
#                   [--keep DIR] [--build DIR]
#
# DESCRIPTION
#   Counts the instructions an ecall executes, with valgrind's callgrind, for
#   the same TA built without migration support (-DTALOS_NO_MIGRATION, as
#   build/bench/ta/<ta>-nomig.ta) and with it (the product runtime, as
#   build/examples/<ta>.ta): kvstore's put/get mix and ledger's transfer
#   (the workloads of bench/overhead.c) and the probe TA's `noop` (the call of
#   bench/ecall_rtt.c). Wall-clock ops/s swing by about 5 % on a shared VM;
#   instruction counts do not, so the target "migration support costs at
#   most 1 % more instructions per ecall" is judged on these.
#
#   For each TA and build, build/bench/icount runs under
#   `valgrind --tool=callgrind --trace-children=yes`: valgrind follows the
#   sim launcher's exec into the TA process, which runs in its usual
#   confinement (other user, namespaces, no_new_privs) except for the seccomp
#   filter, which valgrind cannot run under: the images are the bench-only
#   build/bench/ta/<ta>-icount.ta and <ta>-nomig-icount.ta (Makefile;
#   tee/sim/enclave/confine.c says why this is safe and measures the same
#   path). Passive mode. R TAs in turn make the same W warm-up calls, then
#   the same N calls between INFO frames (bench/icount.c):
#     TA side    the serving thread's instructions over the N calls, / N
#                (callgrind writes a part at each INFO frame: part 2 minus
#                part 3, one INFO frame's round); start-up, fill and warm-up
#                are left out
#     host side  the calling process, counted only around the N calls
#                (callgrind client requests), / N
#   instr/call is the lowest count of the R TAs; overhead = normal / nomig
#   - 1 of those, TA side; the target is met when <= 1 %. probe and kvstore
#   repeat to about a tenth of an instruction per call; ledger moves by
#   about 1 % from one TA process to the next, and by a few per cent in a
#   rare one: the arguments are copied into a malloc'ed block whose place
#   depends on the process's start-up, and strcmp takes a longer path when a
#   string lies near the end of a page. That only ever adds instructions, so
#   the lowest count is the path's own; the medians are shown beside it.
#
# OPTIONS
#   --json       one JSON object per TA and build instead of the table:
#                {"bench":"icount","ta":…,"ecall":…,"build":"nomig"|"normal",
#                 "calls":N,"warm":W,"rounds":R,"instr_per_call":… (lowest),
#                 "instr_median":…,"instr_max":…,"host_instr_per_call":…}
#   --calls N    calls measured per TA (default 2000)
#   --warm W     warm-up calls before them (default 200)
#   --rounds R   TAs measured per build, one after another (default 7)
#   --ta NAME    only this TA (kvstore, ledger, probe; repeatable)
#   --keep DIR   keep the callgrind files in DIR/<ta>-<build>/ (for
#                callgrind_annotate: which functions the extra instructions are in)
#   --build DIR  the build folder (default $BUILD or build)
#
# About 10 s per TA and build on a 2-vCPU VM with the defaults. Needs
# valgrind (scripts/deps.sh installs it) and `make` (the icount images).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
json=0 calls=2000 warm=200 rounds=7 keep="" tas=()
usage() { sed -n '2,/^# valgrind/p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case $1 in
    --json) json=1 ;;
    --calls) calls=$2; shift ;;
    --warm) warm=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --ta) tas+=("$2"); shift ;;
    --keep) keep=$2; shift ;;
    --build) BUILD=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  shift
done
[ ${#tas[@]} -gt 0 ] || tas=(kvstore ledger probe)
case $calls$warm$rounds in *[!0-9]*) echo "icount: --calls and --warm take numbers" >&2; exit 2 ;; esac
[ "$calls" -ge 1 ] && [ "$rounds" -ge 1 ] && [ "$rounds" -le 99 ] ||
  { echo "icount: --calls at least 1, --rounds 1..99" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "icount: valgrind is missing (make deps)" >&2; exit 1; }
for ta in "${tas[@]}"; do
  for img in "$BUILD/bench/ta/$ta-icount.ta" "$BUILD/bench/ta/$ta-nomig-icount.ta"; do
    [ -x "$img" ] || { echo "icount: $img is missing (make; the icount images are built by sim, non-SAN builds)" >&2; exit 1; }
  done
done

WORK=$(mktemp -d /tmp/talos-icount.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
# The TA process writes its counts as the TA user (nobody when run as root).
chmod 0755 "$WORK"

# totals FILE: the Ir total callgrind wrote.
totals() { awk '/^totals:/ { print $2; found = 1 } END { if (!found) exit 1 }' "$1"; }

# measure TA BUILD: prints "TA_MIN TA_MEDIAN TA_MAX HOST_MEDIAN" (instructions
# per call over the rounds).
measure() {
  local ta=$1 build=$2 img out hpid r pid p2 p3 h
  img=$BUILD/bench/ta/$ta-icount.ta
  [ "$build" = nomig ] && img=$BUILD/bench/ta/$ta-nomig-icount.ta
  out=$WORK/$ta-$build
  mkdir -p "$out"
  chmod 0777 "$out"
  # --dump-before=on_info: the TA writes a part of its counts at each INFO
  # frame (ta/frames.c), which the harness sends around the measured calls;
  # --separate-threads: the serving thread's own count.
  if ! valgrind --tool=callgrind --vgdb=no --trace-children=yes \
      --trace-children-skip='*/sh,*/rm' --instr-atstart=no \
      --dump-before=on_info --separate-threads=yes \
      --callgrind-out-file="$out/cg.%p" \
      "$BUILD/bench/icount" --ta "$ta" --image "$img" --calls "$calls" --warm "$warm" \
      --rounds "$rounds" >"$out/stdout" 2>"$out/log"; then
    echo "icount: $ta $build failed; its log:" >&2
    grep -v '^==' "$out/log" | tail -20 >&2
    return 1
  fi
  hpid=$(awk '$1 == "host_pid" { print $2 }' "$out/stdout")
  : >"$out/per-call"
  for r in $(seq 1 "$rounds"); do
    pid=$(awk -v r="$r" '$1 == "run" && $2 == r { print $4 }' "$out/stdout")
    # Thread 1 (main) serves passive calls. TA: parts 2 (N calls + one INFO
    # round) and 3 (one INFO round); host: its part r (the N calls).
    if [ -z "$pid" ] || ! p2=$(totals "$out/cg.$pid.2-01") || ! p3=$(totals "$out/cg.$pid.3-01") ||
        ! h=$(totals "$out/cg.$hpid.$r-01"); then
      echo "icount: $ta $build round $r: missing callgrind counts in $out (did a TA not exit?)" >&2
      return 1
    fi
    awk -v p2="$p2" -v p3="$p3" -v h="$h" -v n="$calls" \
      'BEGIN { printf "%.1f %.1f\n", (p2 - p3) / n, h / n }' >>"$out/per-call"
  done
  if [ -n "$keep" ]; then
    mkdir -p "$keep"
    rm -rf "${keep:?}/$ta-$build"
    cp -r "$out" "$keep/$ta-$build"
  fi
  # Medians of the rounds (the lower middle one when even), and the spread.
  sort -n -k1,1 "$out/per-call" | awk '{ t[NR] = $1 } END { m = int((NR + 1) / 2); printf "%s %s %s ", t[1], t[m], t[NR] }'
  sort -n -k2,2 "$out/per-call" | awk '{ h[NR] = $2 } END { print h[int((NR + 1) / 2)] }'
}

if [ "$json" = 0 ]; then
  echo "Instructions per ecall (callgrind, passive mode; the lowest of $rounds TAs, each $calls"
  echo "calls after $warm warm-up calls; TA: its serving thread; host: the calling process)"
  echo
  echo "| TA | ecall | nomig instr/call | normal instr/call | overhead | target ≤ 1 % | overhead of medians | nomig min..max | normal min..max | host nomig | host normal |"
  echo "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|"
fi
for ta in "${tas[@]}"; do
  read -r tn tnm tn1 hn < <(measure "$ta" nomig) || exit 1
  read -r tm tmm tm1 hm < <(measure "$ta" normal) || exit 1
  case $ta in kvstore) what="put/get 50/50" ;; ledger) what=transfer ;; *) what=noop ;; esac
  if [ "$json" = 1 ]; then
    printf '{"bench":"icount","ta":"%s","ecall":"%s","build":"nomig","calls":%s,"warm":%s,"rounds":%s,"instr_per_call":%s,"instr_median":%s,"instr_max":%s,"host_instr_per_call":%s}\n' \
      "$ta" "$what" "$calls" "$warm" "$rounds" "$tn" "$tnm" "$tn1" "$hn"
    printf '{"bench":"icount","ta":"%s","ecall":"%s","build":"normal","calls":%s,"warm":%s,"rounds":%s,"instr_per_call":%s,"instr_median":%s,"instr_max":%s,"host_instr_per_call":%s}\n' \
      "$ta" "$what" "$calls" "$warm" "$rounds" "$tm" "$tmm" "$tm1" "$hm"
  else
    awk -v ta="$ta" -v what="$what" -v tn="$tn" -v tm="$tm" -v hn="$hn" -v hm="$hm" \
      -v tnm="$tnm" -v tmm="$tmm" -v rn="$tn..$tn1" -v rm="$tm..$tm1" 'BEGIN {
      o = 100 * (tm / tn - 1)
      printf "| %s | %s | %.1f | %.1f | %+.2f %% | %s | %+.2f %% | %s | %s | %.1f | %.1f |\n", ta, what, \
        tn, tm, o, (o <= 1 ? "met" : "NOT met"), 100 * (tmm / tnm - 1), rn, rm, hn, hm }'
  fi
done
