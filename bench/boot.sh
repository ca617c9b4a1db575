#!/bin/bash
# boot.sh - boot benchmark: Nimbus against the boot-time floor and a Linux guest, writing the
# "Boot" section of docs/benchmarks.md.
#
# usage: boot.sh BUILD_DIR [RUNS]        (normally through `nimbus bench boot [--runs N]`)
#   NIMBUS_LINUX_GUEST  the Linux-guest baseline scripts (default: ../shared/bench/linux-guest
#                       beside the checkout)
#
# Everything runs under TCG with -cpu max in one invocation, so the ratios compare like with like
# on the same machine at the same load. Wall times are noisy on a shared 2-core machine; the
# instruction count (-icount) and the memory minima are exact.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:?usage: boot.sh BUILD_DIR [RUNS]}" && pwd)
RUNS=${2:-11}
NIMBUS=$BUILD/nimbus
KERNEL=$BUILD/nimbus-kernel.elf
FLOOR=$BUILD/nimbus-floor.elf
LINUX_GUEST=${NIMBUS_LINUX_GUEST:-$SRC/../shared/bench/linux-guest}
LINUX_ARTEFACTS=/tmp/linux-guest
DOC=$SRC/docs/benchmarks.md
BEGIN_MARK='<!-- boot:begin -->'
END_MARK='<!-- boot:end -->'

# Targets the figures are held to (docs/benchmarks.md shows each as met or missed).
TARGET_FLOOR_RATIO=1.5
TARGET_LINUX_RATIO=0.05
TARGET_INSTRUCTIONS=300000
TARGET_SELFTEST_MIB=8

for f in "$NIMBUS" "$KERNEL" "$FLOOR"; do
  [ -e "$f" ] || { echo "boot.sh: $f is missing; build it first (cmake --build $BUILD)" >&2; exit 1; }
done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

say() { echo "== $*" >&2; }

# median_min < numbers  ->  "median min"
median_min() {
  sort -g | awk '{a[NR]=$1} END {if (NR == 0) {print "- -"; exit}
    m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; print m, a[1]}'
}

# ratio A B -> A/B to 3 significant digits, or "-" when either is unknown
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.3g\n", a / b }'; }

# verdict VALUE TARGET -> "met" when VALUE <= TARGET
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { if (v == "-") print "not measured"; else print (v <= t) ? "met" : "missed" }'; }

# ms X -> X rounded to 0.1 (milliseconds), "-" stays "-"
ms() { awk -v s="$1" 'BEGIN { if (s == "-") print "-"; else printf "%.1f\n", s }'; }

# ---- 1+2. wall time of Nimbus and of the floor, process start to exit -------------------------
NIMBUS_CMD=("$NIMBUS" run --accel tcg --boot-only --timeout 60)
FLOOR_CMD=("$NIMBUS" run --accel tcg --kernel "$FLOOR" --timeout 60)
say "wall time, $RUNS runs each: ${NIMBUS_CMD[*]} / ${FLOOR_CMD[*]}"
if command -v hyperfine >/dev/null; then
  TIMER="hyperfine $(hyperfine --version | awk '{print $2}')"
  # -N: no intermediate shell, so the figure is nimbus + QEMU only.
  hyperfine -N --style basic -w 2 -r "$RUNS" --export-csv "$WORK/wall.csv" \
    -n nimbus "$(printf '%q ' "${NIMBUS_CMD[@]}")" -n floor "$(printf '%q ' "${FLOOR_CMD[@]}")" >&2
  wall_of() { awk -F, -v n="$1" '$1 == n { printf "%s %s\n", $4 * 1000, $7 * 1000 }' "$WORK/wall.csv"; }
  read -r NIMBUS_MED NIMBUS_MIN < <(wall_of nimbus)
  read -r FLOOR_MED FLOOR_MIN < <(wall_of floor)
else
  TIMER="date +%s%N"
  # Interleaved, so a change in machine load affects both series alike.
  "${NIMBUS_CMD[@]}" && "${FLOOR_CMD[@]}"  # warm-up (page cache, host cache file)
  for _ in $(seq "$RUNS"); do
    for which in nimbus floor; do
      if [ $which = nimbus ]; then cmd=("${NIMBUS_CMD[@]}"); else cmd=("${FLOOR_CMD[@]}"); fi
      t0=$(date +%s%N)
      "${cmd[@]}" || { echo "boot.sh: ${cmd[*]} failed" >&2; exit 1; }
      echo $(( ($(date +%s%N) - t0) )) | awk '{print $1 / 1e6}' >> "$WORK/$which.ms"
    done
  done
  read -r NIMBUS_MED NIMBUS_MIN < <(median_min < "$WORK/nimbus.ms")
  read -r FLOOR_MED FLOOR_MIN < <(median_min < "$WORK/floor.ms")
fi

# ---- 3. the Linux guest: QEMU start to its init's marker --------------------------------------
LINUX_MED=- LINUX_MIN=- LINUX_NOTE="not measured"
if [ ! -x "$LINUX_GUEST/boot-hello.sh" ]; then
  LINUX_NOTE="not measured: no baseline scripts in $LINUX_GUEST"
elif [ ! -e "$LINUX_ARTEFACTS/vmlinux" ] && ! { say "building the Linux guest ($LINUX_GUEST/setup.sh)";
                                                "$LINUX_GUEST/setup.sh" >&2; }; then
  LINUX_NOTE="not measured: $LINUX_GUEST/setup.sh failed (it needs root and apt)"
else
  say "Linux guest, $RUNS runs: microvm, PVH vmlinux, raw cpio, TCG -cpu max"
  if CONFIGS=microvm:pvh:cpio TCG_CPU=max ACCEL=tcg "$LINUX_GUEST/boot-hello.sh" "$RUNS" \
      > "$WORK/linux.txt" 2>&1; then
    cat "$WORK/linux.txt" >&2
    # Summary line: "microvm:pvh:cpio  ok=N/N marker(min/med/mean ms)=A/B/C exit(...)=..."
    summary=$(grep -E '^microvm:pvh:cpio +ok=' "$WORK/linux.txt" | tail -1 || true)
    marker=$(sed -nE 's/.*marker\(min\/med\/mean ms\)=([0-9]+)\/([0-9]+)\/.*/\2 \1/p' <<<"$summary")
    if [ -n "$marker" ]; then
      read -r LINUX_MED LINUX_MIN <<<"$marker"
      LINUX_NOTE="$(sed -nE 's/.*(ok=[0-9]+\/[0-9]+).*/\1/p' <<<"$summary") runs reached init"
    else
      LINUX_NOTE="not measured: the guest never reached its init marker"
    fi
  else
    cat "$WORK/linux.txt" >&2
    LINUX_NOTE="not measured: boot-hello.sh failed"
  fi
fi

# ---- 4. boot time inside the guest (bootchart) ------------------------------------------------
say "guest-internal boot time (bootchart), $RUNS runs"
for _ in $(seq "$RUNS"); do
  # The serial console ends lines with \r\n.
  "$NIMBUS" run --accel tcg --boot-only --bootchart --timeout 60 | tr -d '\r' > "$WORK/bootchart.txt"
  awk '$1 == "bootchart:" && $2 == "total" && $4 == "us" { print $3 / 1000 }' "$WORK/bootchart.txt" \
    >> "$WORK/guest.ms"
done
read -r GUEST_MED GUEST_MIN < <(median_min < "$WORK/guest.ms")

# ---- 5. exact instruction count of the boot (-icount: one TSC tick per instruction) -----------
say "instructions to boot (-icount shift=0)"
"$NIMBUS" run --icount --boot-only --bootchart --cpus 1 --memory 128M --timeout 60 | tr -d '\r' \
  > "$WORK/icount.txt"
INSTRUCTIONS=$(awk '$1 == "bootchart:" && $2 == "total-tsc" { print $3 }' "$WORK/icount.txt")
INSTRUCTIONS=${INSTRUCTIONS:--}

# ---- 6. smallest --memory that boots, and that runs the default self-test ---------------------
# smallest_mib LO HI ARGS... -> the smallest MiB in [LO, HI] where `nimbus run --memory M ARGS`
# exits 0 (bisection, so it assumes more memory never hurts), or ">HI".
smallest_mib() {
  local lo=$1 hi=$2; shift 2
  fits() { "$NIMBUS" run --accel tcg --memory "${1}M" --timeout 60 "${@:2}" >/dev/null 2>&1; }
  fits "$hi" "$@" || { echo ">$hi"; return; }
  while [ "$lo" -lt "$hi" ]; do
    local mid=$(( (lo + hi) / 2 ))
    if fits "$mid" "$@"; then hi=$mid; else lo=$((mid + 1)); fi
  done
  echo "$lo"
}
say "smallest --memory (bisection over 2..64 MiB)"
MIN_BOOT_MIB=$(smallest_mib 2 64 --boot-only)
MIN_SELFTEST_MIB=$(smallest_mib 2 64)
# nimbus refuses sizes below its own floor, so a minimum equal to that floor is an upper bound.
CLI_MIN_MIB=$(smallest_mib 2 64 --dry-run)
at_cli_floor() { if [ "$1" = "$CLI_MIN_MIB" ]; then echo " (nimbus accepts no less)"; fi; }

# ---- 7. docs/benchmarks.md --------------------------------------------------------------------
FLOOR_RATIO=$(ratio "$NIMBUS_MED" "$FLOOR_MED")
LINUX_RATIO=$(ratio "$NIMBUS_MED" "$LINUX_MED")
selftest_value=$MIN_SELFTEST_MIB; [[ $selftest_value == '>'* ]] && selftest_value=999999
QEMU_VERSION=$(qemu-system-x86_64 --version | head -1 | sed 's/^QEMU emulator version //')
HOST_CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)

# thousands 131483 -> 131,483
thousands() { printf '%s\n' "$1" | rev | sed -E 's/([0-9]{3})/\1,/g; s/,$//' | rev; }

# stage_rows BOOTCHART ICOUNT -> one table row per stage, in boot order, with the TCG time from
# the first file and the instruction count from the second.
# Stage lines look like "bootchart: <stage words> <us> us <tsc> tsc".
stage_rows() {
  awk '$1 == "bootchart:" && $NF == "tsc" && $(NF-2) == "us" {
         name = $2; for (i = 3; i <= NF - 4; i++) name = name " " $i
         if (FILENAME == ARGV[1]) instructions[name] = $(NF-1)
         else printf "| %s | %s | %s |\n", name, $(NF-3), (name in instructions) ? instructions[name] : "-" }' \
      "$2" "$1"
}

{
  echo "$BEGIN_MARK"
  echo "## Boot"
  echo
  echo "Measured by \`nimbus bench boot --runs $RUNS\` on $(date -u +%Y-%m-%d): host CPU $HOST_CPU"
  echo "($(nproc) cores), QEMU $QEMU_VERSION, TCG with \`-cpu max\` for all three guests, Nimbus and"
  echo "floor with \`-m 128M -smp 1\`. Wall times run from process start to exit (timer: $TIMER);"
  echo "each is the median of $RUNS runs, the minimum in brackets."
  echo
  echo "| measure | value | target | |"
  echo "| --- | --- | --- | --- |"
  echo "| Nimbus: \`nimbus run --boot-only\` (microvm) | $(ms "$NIMBUS_MED") ms ($(ms "$NIMBUS_MIN")) | | |"
  echo "| floor: a kernel that only exits, same configuration | $(ms "$FLOOR_MED") ms ($(ms "$FLOOR_MIN")) | | |"
  echo "| Linux guest to init (microvm, PVH vmlinux, cpio, \`-m 256M\`) | $(ms "$LINUX_MED") ms ($(ms "$LINUX_MIN")); $LINUX_NOTE | | |"
  echo "| Nimbus / floor | ${FLOOR_RATIO}x | <= ${TARGET_FLOOR_RATIO}x | $(verdict "$FLOOR_RATIO" "$TARGET_FLOOR_RATIO") |"
  echo "| Nimbus / Linux to init | ${LINUX_RATIO}x | <= ${TARGET_LINUX_RATIO}x | $(verdict "$LINUX_RATIO" "$TARGET_LINUX_RATIO") |"
  echo "| boot inside the guest (bootchart total, TCG) | $(ms "$GUEST_MED") ms ($(ms "$GUEST_MIN")) | | |"
  echo "| guest instructions to boot (\`--icount\`, bootchart total-tsc) | $(thousands "$INSTRUCTIONS") | <= $(thousands $TARGET_INSTRUCTIONS) | $(verdict "$INSTRUCTIONS" "$TARGET_INSTRUCTIONS") |"
  echo "| smallest \`--memory\` that boots (\`--boot-only\`) | $MIN_BOOT_MIB MiB$(at_cli_floor "$MIN_BOOT_MIB") | | |"
  echo "| smallest \`--memory\` for the default self-test | $MIN_SELFTEST_MIB MiB$(at_cli_floor "$MIN_SELFTEST_MIB") | <= $TARGET_SELFTEST_MIB MiB | $(verdict "$selftest_value" "$TARGET_SELFTEST_MIB") |"
  echo
  echo "Boot stages, from \`nimbus run --boot-only --bootchart\` (TCG time, last run) and the same"
  echo "with \`--icount\` (instructions, exact):"
  echo
  echo "| stage | TCG time (us) | instructions |"
  echo "| --- | --- | --- |"
  stage_rows "$WORK/bootchart.txt" "$WORK/icount.txt"
  echo "$END_MARK"
} > "$WORK/section.md"

mkdir -p "$(dirname "$DOC")"
if [ ! -e "$DOC" ]; then
  printf '# Nimbus benchmarks\n\nWritten by the drivers in `bench/` (run them with `nimbus bench ...`); each\nsection is replaced as a whole by its driver.\n' > "$DOC"
fi
if grep -qF "$BEGIN_MARK" "$DOC" && grep -qF "$END_MARK" "$DOC"; then
  awk -v begin="$BEGIN_MARK" -v end="$END_MARK" -v section="$WORK/section.md" '
    $0 == begin { while ((getline line < section) > 0) print line; skipping = 1; next }
    $0 == end { skipping = 0; next }
    !skipping' "$DOC" > "$WORK/doc.md"
else
  { cat "$DOC"; echo; cat "$WORK/section.md"; } > "$WORK/doc.md"
fi
cp "$WORK/doc.md" "$DOC"
cat "$WORK/section.md"
echo "boot.sh: updated $DOC" >&2
