#!/bin/bash
# abi.sh - Linux ABI benchmarks: the same binaries in Nimbus and in the Linux-guest baseline,
# under the same accelerator (TCG, -cpu max), writing the "ABI" section of docs/benchmarks.md.
#
# usage: abi.sh BUILD_DIR [RUNS]        (normally through `nimbus bench abi [--runs N]`)
#   NIMBUS_LINUX_GUEST  the Linux-guest baseline scripts (default ../shared/bench/linux-guest)
#
# Per-operation figures come from tests/apps/bench_abi.c, which prints nanoseconds and TSC
# ticks per operation; under -icount shift=0 the TSC counts guest instructions, so those
# columns are exact. Wall times are medians of RUNS (default 5) process runs.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:?usage: abi.sh BUILD_DIR [RUNS]}" && pwd)
RUNS=${2:-5}
NIMBUS=$BUILD/nimbus
BENCH=$BUILD/apps/bench_abi-static
HELLO=$BUILD/apps/hello-dynamic
LG=${NIMBUS_LINUX_GUEST:-$SRC/../shared/bench/linux-guest}
DOC=$SRC/docs/benchmarks.md
PY_LIB=/usr/lib/python3.11
export TCG_CPU=max ACCEL=tcg
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {if (!NR) {print "-"; exit} print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ms_of() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }

have_linux=1
if [ ! -f /tmp/linux-guest/vmlinux ]; then
  (cd "$LG" && ./setup.sh >/dev/null 2>&1) || have_linux=0
fi

# Time per operation is read from the TSC, in ticks: under TCG both guests read the same host
# counter, while the Linux guest's own clock falls back to a coarse clocksource there and
# quantizes its ns column. Each configuration runs MICRO_RUNS times; tables show medians.
MICRO_RUNS=3
echo "abi: micro-benchmarks" >&2
# The 1-vCPU runs add the process benchmarks (fork, exec, spawn, pipes, a 256 MiB fork): both
# guests get 512 MiB and busybox as /bin/sh (the Linux guest's root has it already).
NIMBUS_PROC=(--memory 512M --add /bin/busybox:/bin/sh)
for run in $(seq "$MICRO_RUNS"); do
  for cpus in 1 2; do
    extra=(); nopts=(); [ $cpus = 1 ] && { extra=(processes); nopts=("${NIMBUS_PROC[@]}"); }
    "$NIMBUS" run --accel tcg --cpus $cpus --timeout 900 "${nopts[@]}" "$BENCH" 1 "${extra[@]}" > "$TMP/nimbus-$cpus-$run.txt"
    if [ $have_linux = 1 ]; then
      (cd "$LG" && MEM=512M SMP=$cpus ./run-program.sh "$BENCH" 1 "${extra[@]}") > "$TMP/linux-$cpus-$run.txt" 2>/dev/null || have_linux=0
    fi
  done
done
"$NIMBUS" run --icount --cpus 1 --timeout 900 "${NIMBUS_PROC[@]}" "$BENCH" 1 processes > "$TMP/nimbus-icount.txt"
if [ $have_linux = 1 ]; then
  (cd "$LG" && MEM=512M SMP=1 ICOUNT=1 ./run-program.sh "$BENCH" 1 processes) > "$TMP/linux-icount.txt" 2>/dev/null || true
fi
value() { awk -v n="$2" -v c="$3" '$1 == "bench" && $2 == n {print $c}' "$TMP/$1.txt" 2>/dev/null; }
# ticks KERNEL OP: median TSC ticks per op over the runs (2 vCPUs for the cross-CPU ping-pong)
ticks() {
  local cpus=1; [ "$2" = futex_pingpong_2cpu ] && cpus=2
  for run in $(seq "$MICRO_RUNS"); do value "$1-$cpus-$run" "$2" 4; done | median
}

echo "abi: wall times" >&2
nimbus_hello=$(for i in $(seq "$RUNS"); do ms_of "$NIMBUS" run --accel tcg "$HELLO"; done | median)
floor=$(for i in $(seq "$RUNS"); do ms_of "$NIMBUS" run --accel tcg --kernel "$BUILD/nimbus-floor.elf"; done | median)
nimbus_py=$(for i in $(seq "$RUNS"); do ms_of "$NIMBUS" run --accel tcg --memory 256M --add "$PY_LIB" /usr/bin/python3 -c pass; done | median)
linux_hello=- linux_py=-
if [ $have_linux = 1 ]; then
  linux_hello=$(for i in $(seq 3); do (cd "$LG" && ./run-program.sh "$HELLO" 2>&1 >/dev/null | awk '/qemu wall ms/ {print $4}'); done | median)
  linux_py=$(for i in $(seq 3); do (cd "$LG" && ADD="$PY_LIB" ./run-program.sh /usr/bin/python3 -c pass 2>&1 >/dev/null | awk '/qemu wall ms/ {print $4}'); done | median)
fi

echo "abi: smallest memory" >&2
smallest() {  # smallest MiB in [lo, hi] for which "$@" --memory N exits 0 and prints $expect
  local lo=$1 hi=$2; shift 2
  while [ "$lo" -lt "$hi" ]; do
    local mid=$(( (lo + hi) / 2 ))
    if "$NIMBUS" run --accel tcg --timeout 120 --memory "${mid}M" "$@" >/dev/null 2>&1; then hi=$mid; else lo=$((mid + 1)); fi
  done
  echo "$lo"
}
mem_hello=$(smallest 4 64 "$HELLO")
mem_py=$(smallest 8 256 --add "$PY_LIB" /usr/bin/python3 -c pass)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "-" || b == "-" || b == 0) print "-"; else printf "%.2fx", a / b }'; }
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { if (v == "-" || v == "") print "not measured"; else if (v + 0 <= t + 0) print "met"; else print "missed" }'; }
strip_x() { echo "${1%x}"; }

{
  echo "<!-- abi:begin -->"
  echo "## Linux ABI"
  echo
  echo "Measured by \`nimbus bench abi\` on $(date +%F): TCG with \`-cpu max\` for Nimbus and the"
  echo "Linux guest ($(qemu-system-x86_64 --version | head -1)). The same static binary"
  echo "(\`tests/apps/bench_abi.c\`) runs in both. Times are host TSC ticks per operation, the"
  echo "median of $MICRO_RUNS runs in a 1-vCPU VM (2 vCPUs, threads pinned to different CPUs, for"
  echo "the cross-CPU ping-pong): under TCG both guests read the same host counter, while the"
  echo "Linux guest's own clock is too coarse there to time one operation. Instructions are exact"
  echo "guest instruction counts per operation under \`-icount shift=0\` (1 vCPU)."
  echo "The process rows run in 512 MiB guests with busybox as \`/bin/sh\`: \`fork_execve_wait\`"
  echo "is fork, execve of a static binary that exits at once, and wait; \`pipe_throughput_64k\` is"
  echo "per 64 KiB written to another process; \`fork_exit_wait_256m\` forks a process with 256 MiB"
  echo "written."
  echo
  echo "| operation | Nimbus ticks/op | Linux ticks/op | Nimbus / Linux | Nimbus instructions/op | Linux instructions/op |"
  echo "| --- | --- | --- | --- | --- | --- |"
  for op in null_syscall_getppid clock_gettime_vdso futex_pingpong_1cpu futex_pingpong_2cpu thread_create_join page_fault_4k mmap_munmap \
            fork_exit_wait fork_exit_wait_256m vfork_exec posix_spawn fork_execve_wait sh_c_true pipe_throughput_64k pipe_round_trip; do
    n=$(ticks nimbus "$op"); l=$(ticks linux "$op")
    ni=$(value nimbus-icount "$op" 4); li=$(value linux-icount "$op" 4)
    echo "| $op | ${n:--} | ${l:--} | $(ratio "$n" "$l") | ${ni:--} | ${li:--} |"
  done
  echo
  echo "| measure | Nimbus | Linux guest | ratio | target | |"
  echo "| --- | --- | --- | --- | --- | --- |"
  null_ratio=$(ratio "$(ticks nimbus null_syscall_getppid)" "$(ticks linux null_syscall_getppid)")
  echo "| null syscall, time | $(ticks nimbus null_syscall_getppid) ticks | $(ticks linux null_syscall_getppid) ticks | $null_ratio | <= 0.35x | $(verdict "$(strip_x "$null_ratio")" 0.35) |"
  echo "| null syscall, instructions | $(value nimbus-icount null_syscall_getppid 4) | $(value linux-icount null_syscall_getppid 4) | | <= 150 | $(verdict "$(value nimbus-icount null_syscall_getppid 4)" 150) |"
  echo "| vDSO clock_gettime, instructions | $(value nimbus-icount clock_gettime_vdso 4) | $(value linux-icount clock_gettime_vdso 4) | | <= 60 | $(verdict "$(value nimbus-icount clock_gettime_vdso 4)" 60) |"
  fr=$(ratio "$(ticks nimbus futex_pingpong_1cpu)" "$(ticks linux futex_pingpong_1cpu)")
  echo "| futex ping-pong, one CPU, time | $(ticks nimbus futex_pingpong_1cpu) ticks | $(ticks linux futex_pingpong_1cpu) ticks | $fr | <= 0.5x | $(verdict "$(strip_x "$fr")" 0.5) |"
  fr2=$(ratio "$(ticks nimbus futex_pingpong_2cpu)" "$(ticks linux futex_pingpong_2cpu)")
  echo "| futex ping-pong, two CPUs, time | $(ticks nimbus futex_pingpong_2cpu) ticks | $(ticks linux futex_pingpong_2cpu) ticks | $fr2 | | |"
  # Process targets: time at most half the Linux guest's, and fewer instructions.
  for op in fork_exit_wait fork_exit_wait_256m posix_spawn pipe_round_trip; do
    n=$(ticks nimbus "$op"); l=$(ticks linux "$op"); r=$(ratio "$n" "$l")
    ni=$(value nimbus-icount "$op" 4); li=$(value linux-icount "$op" 4)
    echo "| $op, time | ${n:--} ticks | ${l:--} ticks | $r | <= 0.5x | $(verdict "$(strip_x "$r")" 0.5) |"
    [ "$op" = pipe_round_trip ] && continue
    ir=$(ratio "$ni" "$li")
    echo "| $op, instructions | ${ni:--} | ${li:--} | $ir | < 1x | $(verdict "$(strip_x "$ir")" 0.999) |"
  done
  hr=$(ratio "$nimbus_hello" "$floor")
  echo "| \`nimbus run\` dynamic C hello, wall ms | $nimbus_hello | $linux_hello | $(ratio "$nimbus_hello" "$linux_hello") | <= 3x floor ($floor ms): $hr | $(verdict "$(strip_x "$hr")" 3) |"
  osv=$(ratio "$nimbus_hello" 390)
  echo "| \`nimbus run\` dynamic C hello vs OSv's ~390 ms to \"Hello\" (DESIGN.md, TCG) | $nimbus_hello ms | | $osv | <= 0.3x | $(verdict "$(strip_x "$osv")" 0.3) |"
  echo "| \`python3 -c pass\`, wall ms | $nimbus_py | $linux_py | $(ratio "$nimbus_py" "$linux_py") | | |"
  echo "| power-on to \`main\`, instructions | $(value nimbus-icount main_tsc 4) | $(value linux-icount main_tsc 4) | | <= 2,000,000 | $(verdict "$(value nimbus-icount main_tsc 4)" 2000000) |"
  echo "| smallest \`--memory\`, dynamic C hello | ${mem_hello} MiB | 72-96 MiB (baseline README) | | <= 12 MiB | $(verdict "$mem_hello" 12) |"
  echo "| smallest \`--memory\`, \`python3 -c pass\` | ${mem_py} MiB | | | <= 24 MiB (issue 8) | $(verdict "$mem_py" 24) |"
  echo "<!-- abi:end -->"
} > "$TMP/section.md"

touch "$DOC"
if grep -q '<!-- abi:begin -->' "$DOC"; then
  awk -v f="$TMP/section.md" '/<!-- abi:begin -->/ {while ((getline l < f) > 0) print l; skip=1; next} /<!-- abi:end -->/ {skip=0; next} !skip' "$DOC" > "$TMP/doc" && cp "$TMP/doc" "$DOC"
else
  { echo; cat "$TMP/section.md"; } >> "$DOC"
fi
cat "$TMP/section.md"
echo "abi.sh: updated $DOC" >&2
