#!/bin/bash
# storage.sh - storage benchmark: fio, sqlite3 and python3 on an ext4 volume on virtio-blk, in
# Nimbus and in the Linux-guest baseline side by side, writing the "Storage" section of
# docs/benchmarks.md.
#
# usage: storage.sh BUILD_DIR [RUNS] [--quick]   (normally `nimbus bench storage [--runs N] [--quick]`)
#   --quick   one short pass (16 MiB file, 2 s jobs, 50 inserts, no memory bisection, no doc
#             update): a smoke test that prints the table on stdout
#   NIMBUS_LINUX_GUEST  the shared Linux-guest baseline (default ../shared/bench/linux-guest)
#   NIMBUS_BIN          another nimbus to measure
#   NIMBUS_BENCH_LOCK   a lock file held (flock) around the workload runs and around the python
#                       runs, for machines shared by several heavy jobs: they then wait for it
#                       rather than overlap other work
#
# Both guests run in ONE invocation, on the same QEMU, under TCG with -cpu max, -smp 1, the same
# memory, and the same disks: the volume under test is a fresh 1 GiB sparse raw image made by
# `mke2fs -q -F -t ext4` (what `nimbus run --volume` makes), attached as
# `-drive file=...,format=raw,if=none` + `-device virtio-blk-device` (QEMU's default cache mode,
# writeback: the device has a volatile cache and honours FLUSH), and the programs come from a
# second, read-only ext4 disk. Each guest runs bench/storage/workload.sh under busybox sh.
set -uo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:?usage: storage.sh BUILD_DIR [RUNS] [--quick]}" && pwd)
shift
RUNS=3 QUICK=0
for a in "$@"; do
  case $a in
    --quick) QUICK=1 ;;
    *[!0-9]* | '') echo "storage.sh: bad argument '$a'" >&2; exit 2 ;;
    *) RUNS=$a ;;
  esac
done
NIMBUS=${NIMBUS_BIN:-$BUILD/nimbus}
LINUX_GUEST=${NIMBUS_LINUX_GUEST:-}
if [ -z "$LINUX_GUEST" ]; then
  for d in "$SRC/.." "$SRC/../.." "$SRC/../../.."; do
    [ -f "$d/shared/bench/linux-guest/common.sh" ] && { LINUX_GUEST=$(cd "$d/shared/bench/linux-guest" && pwd); break; }
  done
fi
[ -f "${LINUX_GUEST:-/nonexistent}/common.sh" ] \
  || { echo "storage.sh: no Linux-guest baseline (shared/bench/linux-guest); set NIMBUS_LINUX_GUEST" >&2; exit 1; }
LG=/tmp/linux-guest
LGS=/tmp/linux-guest-storage
DOC=$SRC/docs/benchmarks.md
BEGIN_MARK='<!-- storage:begin -->'
END_MARK='<!-- storage:end -->'

MEM=256M                 # both guests
SIZE_MIB=64 SECONDS_PER_JOB=5 INSERTS=300
[ $QUICK = 1 ] && { RUNS=1 SIZE_MIB=16 SECONDS_PER_JOB=2 INSERTS=50; }
WORKLOAD_TIMEOUT=1200    # one guest's whole workload, seconds
PY=$(readlink -f /usr/bin/python3)   # Debian's python3.11 (not a pyenv shim on PATH)
PY_LIB=/usr/lib/python3.11

# Targets from issue 8 (ratios Nimbus / Linux guest in the same run).
TARGET_FIO=1.0 TARGET_RANDREAD_QD1=1.5 TARGET_FSYNC=1.0 TARGET_SQLITE=1.0 TARGET_PY_MIB=24

export ACCEL=tcg TCG_CPU=max
. "$LINUX_GUEST/common.sh"

WORK=$(mktemp -d /tmp/nimbus-bench-storage.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
say() { echo "== $(date +%T) $*" >&2; }
# lock / unlock: around each phase when NIMBUS_BENCH_LOCK names a lock file
if [ -n "${NIMBUS_BENCH_LOCK:-}" ]; then exec 9>>"$NIMBUS_BENCH_LOCK"; fi
lock() { [ -z "${NIMBUS_BENCH_LOCK:-}" ] || flock 9; }
unlock() { [ -z "${NIMBUS_BENCH_LOCK:-}" ] || flock -u 9; }
[ -x "$NIMBUS" ] || { echo "storage.sh: $NIMBUS is missing; build it first (ninja -C $BUILD nimbus nimbus-kernel)" >&2; exit 1; }
command -v mke2fs >/dev/null || PATH=$PATH:/usr/sbin:/sbin

# ---- the programs -----------------------------------------------------------------------------
need=""
for p in fio sqlite3 python3.11 e2fsprogs cpio qemu-system-x86; do dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"; done
if [ -n "$need" ]; then
  say "installing$need"
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $need; } >&2 \
    || { echo "storage.sh: cannot install$need" >&2; exit 1; }
fi
cc -O2 -static -o "$WORK/timeit" "$SRC/bench/storage/timeit.c" \
  || { echo "storage.sh: cannot build bench/storage/timeit.c (needs gcc and libc6-dev)" >&2; exit 1; }
cc -O2 -shared -fPIC -o "$WORK/shm_shim.so" "$SRC/bench/storage/shm_shim.c" \
  || { echo "storage.sh: cannot build bench/storage/shm_shim.c" >&2; exit 1; }
say "building the Linux guest's disks (bench/linux-guest-storage/build.sh)"
if ! NIMBUS_LINUX_GUEST=$LINUX_GUEST LG=$LG OUT=$LGS "$SRC/bench/linux-guest-storage/build.sh" "$WORK/timeit" "$WORK/shm_shim.so" > "$WORK/build.log" 2>&1; then
  cat "$WORK/build.log" >&2; echo "storage.sh: the Linux guest's disks did not build" >&2; exit 1
fi
BB=$LG/bb/bin/busybox
# Nimbus packs the same files at the same paths (its image puts them on a read-only ext4 root disk).
NIMBUS_FILES=(--add "$BB:/bin/busybox" --add /usr/bin/fio --add /usr/bin/sqlite3 --add "$PY:/usr/bin/python3"
              --add "$PY_LIB" --add "$WORK/timeit:/usr/bin/timeit"
              --add "$WORK/shm_shim.so:/usr/lib/nimbus-bench/shm_shim.so" --add "$SRC/bench/storage/workload.sh:/bench/workload.sh")

new_volume() {  # new_volume FILE: a fresh 1 GiB sparse ext4 image, as `nimbus run --volume` makes
  rm -f "$1"; truncate -s 1G "$1" && mke2fs -q -F -t ext4 "$1"
}

# ---- results: $WORK/res/KIND.KEY, one value per line --------------------------------------------
mkdir -p "$WORK/res"
declare -A FAIL=()      # FAIL[kind.key] = why that guest has no figure
rec() { [ -n "$3" ] && echo "$3" >> "$WORK/res/$1.$2"; }
median() { sort -g | awk '{a[NR]=$1} END {if (!NR) {print "-"; exit}
  m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; if (m >= 1000) printf "%.0f\n", m; else printf "%.4g\n", m}'; }
med() { if [ -s "$WORK/res/$1.$2" ]; then median < "$WORK/res/$1.$2"; else echo -; fi; }
# collect KIND LOG: the workload's "result" and "fail" lines
collect() {
  local kind=$1 log=$2 key value
  while read -r tag key value; do
    case $tag in
      result) rec "$kind" "$key" "$value" ;;
      fail) FAIL[$kind.$key]=$value ;;
      info) echo "$kind $key $value" >> "$WORK/info" ;;
    esac
  done < <(tr -d '\r' < "$log" | grep -aE '^(result|fail|info) ')
  grep -aq '^info workload done' <(tr -d '\r' < "$log") || FAIL[$kind.workload]="did not finish: $(tr -d '\r' < "$log" | grep -av '^ *$' | tail -n 1 | cut -c1-120)"
}

run_linux() {  # run_linux LOG: the workload in the Linux guest
  local args
  new_volume "$WORK/linux-vol.img" || return 1
  mapfile -t args < <(qemu_args microvm pvh "$LGS/initrd-storage.cpio" "$MEM" \
                        "panic_on_oom=1 lg.run=workload lg.args=$SIZE_MIB,$SECONDS_PER_JOB,$INSERTS")
  timeout "$WORKLOAD_TIMEOUT" qemu-system-x86_64 "${args[@]}" \
    -drive "file=$WORK/linux-vol.img,format=raw,if=none,id=vol" -device virtio-blk-device,drive=vol \
    -drive "file=$LGS/tools.img,format=raw,if=none,readonly=on,id=tools" -device virtio-blk-device,drive=tools \
    -serial "file:$1" </dev/null >/dev/null 2>&1
  e2fsck -fn "$WORK/linux-vol.img" > "$WORK/linux-fsck.log" 2>&1 || FAIL[linux.fsck]="e2fsck -fn after the run: $(tail -n 1 "$WORK/linux-fsck.log")"
}
run_nimbus() {  # run_nimbus LOG
  new_volume "$WORK/nimbus-vol.img" || return 1
  "$NIMBUS" run --accel tcg --memory "$MEM" --timeout "$WORKLOAD_TIMEOUT" --volume "$WORK/nimbus-vol.img:/data" \
    "${NIMBUS_FILES[@]}" "$BB" sh /bench/workload.sh /data "$SIZE_MIB" "$SECONDS_PER_JOB" "$INSERTS" \
    </dev/null >"$1" 2>&1
  e2fsck -fn "$WORK/nimbus-vol.img" > "$WORK/nimbus-fsck.log" 2>&1 || FAIL[nimbus.fsck]="e2fsck -fn after the run: $(tail -n 1 "$WORK/nimbus-fsck.log")"
}

# ---- python3 -c pass: smallest memory (bisection; assumes more memory never hurts) -------------
python_runs_in() {  # python_runs_in KIND MIB
  local ok=1 args s e
  s=$(date +%s%N)
  if [ "$1" = linux ]; then
    mapfile -t args < <(qemu_args microvm pvh "$LGS/initrd-storage.cpio" "${2}M" "panic_on_oom=1 lg.run=python lg.tools=vda")
    timeout 120 qemu-system-x86_64 "${args[@]}" \
      -drive "file=$LGS/tools.img,format=raw,if=none,readonly=on,id=tools" -device virtio-blk-device,drive=tools \
      -serial stdio </dev/null 2>/dev/null | tr -d '\r' | grep -q '^PYTHON-OK' && ok=0
  else
    "$NIMBUS" run --accel tcg --memory "${2}M" --timeout 120 "$PY" -c pass </dev/null >/dev/null 2>&1 && ok=0
  fi
  e=$(date +%s%N)
  LAST_WALL_MS=$(( (e - s) / 1000000 ))
  say "   $1 python3 -c pass in ${2} MiB: $([ $ok = 0 ] && echo ok || echo fails) (${LAST_WALL_MS} ms)"
  return $ok
}
smallest_mib() {  # smallest_mib KIND LO HI STEP -> MiB, or ">HI"
  local kind=$1 lo=$2 hi=$3 step=$4 mid
  python_runs_in "$kind" "$hi" || { echo ">$hi"; return; }
  lo=$((lo / step)) hi=$((hi / step))
  while [ $lo -lt $hi ]; do
    mid=$(( (lo + hi) / 2 ))
    if python_runs_in "$kind" $((mid * step)); then hi=$mid; else lo=$((mid + 1)); fi
  done
  echo $((lo * step))
}

# ---- the runs ---------------------------------------------------------------------------------
say "storage.sh: $RUNS run(s)$([ $QUICK = 1 ] && echo ', quick'), accel $(detect_accel), load $(cut -d' ' -f1-3 /proc/loadavg)"
lock
START_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
for run in $(seq "$RUNS"); do
  for kind in linux nimbus; do
    say "run $run of $RUNS: $kind (load $(cut -d' ' -f1 /proc/loadavg))"
    log=$WORK/$kind-$run.log
    "run_$kind" "$log"
    collect "$kind" "$log"
    tr -d '\r' < "$log" | grep -aE '^(result|fail) ' | sed "s/^/   $kind: /" >&2
    cp "$log" "/tmp/nimbus-bench-storage-$kind-$run.log" 2>/dev/null
  done
done
# Whole-VM wall time of python3 -c pass (boot included), at $MEM, three times each.
for kind in linux nimbus; do
  for i in 1 2 3; do python_runs_in "$kind" "${MEM%M}" && rec "$kind" python_vm_ms "$LAST_WALL_MS"; done
done
MIN_LINUX=- MIN_NIMBUS=-
if [ $QUICK = 1 ]; then
  if python_runs_in nimbus $TARGET_PY_MIB; then MIN_NIMBUS="<=$TARGET_PY_MIB"; else MIN_NIMBUS=">$TARGET_PY_MIB"; fi
else
  say "smallest memory for python3 -c pass"
  MIN_LINUX=$(smallest_mib linux 48 256 8)
  MIN_NIMBUS=$(smallest_mib nimbus 8 256 2)
fi
END_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
unlock

# ---- the section ------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.3g\n", a / b }'; }
range() {
  [ -s "$WORK/res/$1.$2" ] || return 0
  sort -g "$WORK/res/$1.$2" | awk '{a[NR]=$1} END { if (NR < 2) exit
    f = (a[NR] >= 1000) ? "%.0f" : "%.4g"; printf " (" f "-" f ")", a[1], a[NR] }'
}
shown() {  # shown KIND KEY UNIT -> the median with its unit and range, or why there is none
  local v; v=$(med "$1" "$2")
  if [ "$v" != - ]; then echo "$v${3:+ $3}$(range "$1" "$2")"
  elif [ -n "${FAIL[$1.$2]:-}" ]; then echo "failed: ${FAIL[$1.$2]//|/\\|}"
  else echo "-"; fi
}
# row LABEL KEY UNIT [lower]: medians, ranges and the ratio (for "lower is better" rows, Linux / Nimbus)
row() {
  local l n r
  l=$(med linux "$2"); n=$(med nimbus "$2")
  if [ "${4:-}" = lower ]; then r=$(ratio "$l" "$n"); else r=$(ratio "$n" "$l"); fi
  echo "| $1 | $(shown linux "$2" "$3") | $(shown nimbus "$2" "$3") | $([ "$r" = - ] && echo - || echo "${r}x") |"
}
# target LABEL TARGET KEY... : held by the worst ratio of the keys
target() {
  local label=$1 t=$2 k r shown="" worst="" missing=0
  shift 2
  for k in "$@"; do
    r=$(ratio "$(med nimbus "$k")" "$(med linux "$k")")
    if [ "$r" = - ]; then missing=1; continue; fi
    shown="$shown${shown:+, }${r}x"
    worst=$(awk -v w="$worst" -v r="$r" 'BEGIN { if (w == "" || r < w) print r; else print w }')
  done
  local v
  if [ -z "$worst" ]; then v="not measured"
  elif awk -v r="$worst" -v t="$t" 'BEGIN { exit !(r >= t) }'; then v=met; [ $missing = 1 ] && v="met where measured"
  else v=missed; fi
  echo "| $label | >= ${t}x | ${shown:--} | $v |"
}
py_target() {
  local v
  case $MIN_NIMBUS in
    -) v="not measured" ;; ">"*) v="missed (fails at ${MIN_NIMBUS#>} MiB)" ;; "<="*) v=met ;;
    *) if [ "$MIN_NIMBUS" -le $TARGET_PY_MIB ]; then v=met; else v=missed; fi ;;
  esac
  echo "| \`python3 -c pass\` (whole standard library, from the disk) runs in | <= $TARGET_PY_MIB MiB | smallest: $MIN_NIMBUS$([ "$MIN_NIMBUS" != - ] && echo ' MiB') | $v |"
}

QEMU_VERSION=$(qemu-system-x86_64 --version | head -1 | sed 's/^QEMU emulator version //')
HOST_CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
KVER=$(ls "$LG/kpkg/lib/modules" 2>/dev/null | head -1)
WCACHE=$(awk '$1 == "linux" && $2 == "vda" { print $4, $5; exit }' "$WORK/info" 2>/dev/null)
LMOUNT=$(awk '$1 == "linux" && $2 == "mount" { $1 = $2 = ""; sub(/^ +/, ""); print; exit }' "$WORK/info" 2>/dev/null)

{
  echo "$BEGIN_MARK"
  echo "## Storage"
  echo
  echo "Measured by \`nimbus bench storage --runs $RUNS$([ $QUICK = 1 ] && echo ' --quick')\` on $(date -u +%Y-%m-%d): host CPU $HOST_CPU ($(nproc) cores,"
  echo "shared; load average $START_LOAD at the start, $END_LOAD at the end), QEMU $QEMU_VERSION,"
  echo "TCG with \`-cpu max\`, \`-smp 1\`, \`-m $MEM\` for both guests, in the same run. The Linux guest is"
  echo "the shared baseline (Debian 12 kernel ${KVER:-?}, microvm, PVH vmlinux) with"
  echo "\`bench/linux-guest-storage/build.sh\`'s initramfs, which mounts the disks and runs the workload"
  echo "in a chroot; Nimbus runs \`nimbus run --volume IMAGE:/data\` with the same files packed."
  if [ -n "${NIMBUS_BIN:-}" ]; then
    echo
    echo "**The Nimbus column was measured with NIMBUS_BIN=$NIMBUS_BIN, not with this build's nimbus.**"
  fi
  echo
  echo "Disks, the same for both: the volume under test is a fresh 1 GiB sparse raw image from"
  echo "\`mke2fs -q -F -t ext4\` (Debian 12 defaults, the image \`nimbus run --volume\` makes) on"
  echo "\`-drive format=raw,if=none\` + \`-device virtio-blk-device\`, QEMU's default cache mode"
  echo "(writeback: the device reports a volatile write cache and honours FLUSH; the Linux guest's"
  echo "\`/sys/block/vda/queue/write_cache\` read \`${WCACHE:-?}\`, and it mounted the volume"
  echo "\`${LMOUNT:-?}\`); the programs (busybox, Debian's fio 3.33, sqlite3 and python3.11"
  echo "with its standard library) are read from a second, read-only ext4 disk in both guests"
  echo "(Nimbus: its image's root disk). Both guests run \`bench/storage/workload.sh\` under busybox sh."
  echo
  echo "Loads (fio \`--thread\`, on a $SIZE_MIB MiB file, each time-based job ${SECONDS_PER_JOB} s): sequential write of the"
  echo "whole file with 1 MiB blocks then fsync (it also lays the file out), sequential read 1 MiB,"
  echo "random read and write 4 KiB at queue depth 1 (\`--ioengine=psync\`), all \`--direct=1\`; queue"
  echo "depth 32 as **32 threads with psync** (\`--numjobs=32\`), in both guests, because Nimbus has no"
  echo "\`io_setup\`/\`io_submit\` nor \`io_uring\` (ENOSYS; the libaio and io_uring rows show what"
  echo "they give); fsync-per-write is \`--rw=write --bs=4k --fsync=1\`, buffered, on a new file."
  echo "\`--direct=1\` goes past the guest's page cache in both guests (Nimbus: ext4's O_DIRECT path,"
  echo "\`kernel/fs/ext4/direct_io.cc\`, which pins the program's pages for the device as Linux does),"
  echo "so every read reaches the disk whatever the file's size against the guest's memory;"
  echo "behind both, QEMU reads the image through the host's page cache."
  echo "sqlite3: $INSERTS inserts, each its own transaction (autocommit, rollback journal,"
  echo "\`synchronous=FULL\`), into a new database on the volume, timed from start to exit."
  echo "fio keeps its job table in SysV shared memory, which Nimbus lacks (\`shmget\` is ENOSYS):"
  echo "\`bench/storage/shm_shim.c\`, preloaded into fio in **both** guests, provides it from an"
  echo "anonymous shared mapping (fio's bookkeeping only, not its I/O). No guest instruction counts:"
  echo "\`-icount shift=0,sleep=off\` would count the clock warps of a guest idle while its disk works."
  echo "\`python3 -c pass\` is timed in the guest (first run: standard library read from the disk;"
  echo "warm: three more) and as whole VMs (boot to power-off)."
  echo
  echo "| target (issue 8) | | Nimbus / Linux guest | |"
  echo "| --- | --- | --- | --- |"
  target "fio, every pattern (seq read/write 1 MiB, random read/write 4 KiB at QD1 and QD32)" $TARGET_FIO \
    seq_read_kibs seq_write_kibs rand_read_qd1_iops rand_write_qd1_iops rand_read_qd32_iops rand_write_qd32_iops
  target "fio 4 KiB random read, QD1" $TARGET_RANDREAD_QD1 rand_read_qd1_iops
  target "fsync after every 4 KiB write" $TARGET_FSYNC fsync_write_iops
  target "sqlite3 inserts per second" $TARGET_SQLITE sqlite_inserts_per_s
  py_target
  echo
  echo "Figures: medians of $RUNS run(s), the range over the runs in brackets. Under TCG on a shared"
  echo "2-core machine single runs are noisy (see the Network section's A/A check)."
  echo
  echo "| measure | Linux guest | Nimbus | Nimbus / Linux |"
  echo "| --- | --- | --- | --- |"
  row "fio sequential read, 1 MiB" seq_read_kibs KiB/s
  row "fio sequential write, 1 MiB (+ fsync)" seq_write_kibs KiB/s
  row "fio random read 4 KiB, QD1" rand_read_qd1_iops IOPS
  row "fio random write 4 KiB, QD1" rand_write_qd1_iops IOPS
  row "fio random read 4 KiB, 32 threads" rand_read_qd32_iops IOPS
  row "fio random write 4 KiB, 32 threads" rand_write_qd32_iops IOPS
  row "fio random read 4 KiB, libaio iodepth 32" rand_read_qd32_libaio_iops IOPS
  row "fio random read 4 KiB, io_uring iodepth 32" rand_read_qd32_io_uring_iops IOPS
  row "fsync after every 4 KiB write" fsync_write_iops writes/s
  row "sqlite3 inserts (one transaction each)" sqlite_inserts_per_s inserts/s
  row "\`python3 -c pass\` in the guest, first run" python_cold_ms ms lower
  row "\`python3 -c pass\` in the guest, warm" python_warm_ms ms lower
  row "\`python3 -c pass\` as a whole VM, -m $MEM" python_vm_ms ms lower
  echo "| smallest memory for \`python3 -c pass\` | $MIN_LINUX$([ "$MIN_LINUX" != - ] && echo ' MiB') | $MIN_NIMBUS$([ "$MIN_NIMBUS" != - ] && echo ' MiB') | |"
  echo
  echo "Time rows compare Linux / Nimbus (above one: Nimbus is faster). The smallest memory is a"
  echo "bisection over \`-m\` (Linux guest, 8 MiB steps from 48 to 256 MiB, python3 run from the"
  echo "tools disk) and \`--memory\` (Nimbus, 2 MiB steps from 8 to 256 MiB, \`nimbus run $PY -c pass\`,"
  echo "whose image keeps the standard library on its root disk), one boot per size."
  echo
  echo "Failures and notes in this run:"
  for k in "${!FAIL[@]}"; do echo "- ${k/./ }: ${FAIL[$k]}"; done | sort
  [ ${#FAIL[@]} = 0 ] && echo "- none: every load ran in both guests, and \`e2fsck -fn\` passed on both volumes after every run."
  echo "$END_MARK"
} > "$WORK/section.md"

cat "$WORK/section.md"
if [ $QUICK = 1 ]; then
  echo "storage.sh: --quick, $DOC left as it is" >&2
  exit 0
fi
mkdir -p "$(dirname "$DOC")"
[ -e "$DOC" ] || printf '# Nimbus benchmarks\n' > "$DOC"
if grep -qF "$BEGIN_MARK" "$DOC" && grep -qF "$END_MARK" "$DOC"; then
  awk -v begin="$BEGIN_MARK" -v end="$END_MARK" -v section="$WORK/section.md" '
    $0 == begin { while ((getline line < section) > 0) print line; skipping = 1; next }
    $0 == end { skipping = 0; next }
    !skipping' "$DOC" > "$WORK/doc.md"
else
  { cat "$DOC"; echo; cat "$WORK/section.md"; } > "$WORK/doc.md"
fi
cp "$WORK/doc.md" "$DOC"
echo "storage.sh: updated $DOC" >&2
