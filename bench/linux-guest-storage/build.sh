#!/bin/bash
# build.sh - the Linux guest's side of the storage benchmark (bench/storage.sh): a tools disk and
# a small initramfs, on the Debian kernel and busybox that the shared baseline
# (../shared/bench/linux-guest/setup.sh) unpacks into /tmp/linux-guest.
#
# usage: build.sh TIMEIT SHM_SHIM
#   TIMEIT    the static timeit helper (bench/storage/timeit.c), built by storage.sh
#   SHM_SHIM  bench/storage/shm_shim.c built as a shared library (preloaded into fio)
#   LG      the shared baseline's artefacts (default /tmp/linux-guest; setup.sh runs if missing)
#   OUT     where the images go (default /tmp/linux-guest-storage)
#
# The tools disk (OUT/tools.img, ext4 made with mke2fs -d, attached read-only) holds the same
# files Nimbus packs into its image: busybox, Debian's fio, sqlite3 and python3 with their
# libraries and python's standard library, timeit, shm_shim.so and bench/storage/workload.sh. So both guests
# read the programs from an ext4 disk on virtio-blk, and neither holds 140 MiB of fio libraries
# and python in an initramfs in RAM. The initramfs (OUT/initrd-storage.cpio) loads the virtio
# modules, mounts the tools disk at /t, the volume under test at /t/data, and runs in a chroot
# what the kernel command line asks:
#   lg.run=workload lg.args=SIZE,SECONDS,INSERTS   bench/storage/workload.sh on the volume
#   lg.run=python                                  python3 -c pass (prints PYTHON-OK)
#   lg.tools=vdX lg.vol=vdY                         the disks (default vdb and vda)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
TIMEIT=${1:?usage: build.sh TIMEIT SHM_SHIM}
SHM_SHIM=${2:?usage: build.sh TIMEIT SHM_SHIM}
LINUX_GUEST=${NIMBUS_LINUX_GUEST:-$SRC/../shared/bench/linux-guest}
LG=${LG:-/tmp/linux-guest}
OUT=${OUT:-/tmp/linux-guest-storage}
PY_LIB=/usr/lib/python3.11
export DEBIAN_FRONTEND=noninteractive

need=""
for p in fio sqlite3 python3.11 cpio e2fsprogs; do dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"; done
if [ -n "$need" ]; then
  apt-get update -q >&2 && apt-get install -y --no-install-recommends $need >&2
fi
if [ ! -f "$LG/vmlinux" ] || [ ! -x "$LG/bb/bin/busybox" ]; then
  # setup.sh writes to $OUT, which here names our own output: point it at $LG.
  (cd "$LINUX_GUEST" && OUT="$LG" ./setup.sh >&2)
fi
KVER=$(ls "$LG/kpkg/lib/modules" | head -1)
MODDIR="$LG/kpkg/lib/modules/$KVER"
mkdir -p "$OUT"

# add_prog ROOT HOSTPATH [GUESTPATH]: a program and the shared libraries it needs.
add_prog() {
  local R=$1 p=$2 g=${3:-$2} lib
  mkdir -p "$R$(dirname "$g")"; cp -L "$p" "$R$g"
  for lib in $(ldd "$p" | awk '/=>/ {print $3} /ld-linux/ {print $1}'); do
    mkdir -p "$R$(dirname "$lib")"; cp -L "$lib" "$R$lib"
  done
}

# ---- the tools disk ---------------------------------------------------------------------------
T=$OUT/tools-root
rm -rf "$T"; mkdir -p "$T"/{bin,usr/bin,proc,sys,dev,tmp,data,bench,etc}
cp "$LG/bb/bin/busybox" "$T/bin/busybox"
ln -s busybox "$T/bin/sh"
add_prog "$T" /usr/bin/fio
add_prog "$T" /usr/bin/sqlite3
add_prog "$T" "$(readlink -f /usr/bin/python3)" /usr/bin/python3
mkdir -p "$T$(dirname "$PY_LIB")"; cp -a "$PY_LIB" "$T$PY_LIB"
cp "$TIMEIT" "$T/usr/bin/timeit"
mkdir -p "$T/usr/lib/nimbus-bench"; cp "$SHM_SHIM" "$T/usr/lib/nimbus-bench/shm_shim.so"
cp "$SRC/bench/storage/workload.sh" "$T/bench/workload.sh"
printf 'root:x:0:0:root:/:/bin/sh\n' > "$T/etc/passwd"
printf 'root:x:0:\n' > "$T/etc/group"
# Room for the files plus a quarter, like nimbus build's disk images.
mib=$(( $(du -sm "$T" | cut -f1) * 5 / 4 + 16 ))
rm -f "$OUT/tools.img"
mke2fs -q -F -t ext4 -d "$T" "$OUT/tools.img" "${mib}M"

# ---- the initramfs ----------------------------------------------------------------------------
R=$OUT/root-init
rm -rf "$R"; mkdir -p "$R"/{bin,dev,proc,sys,t,lib/modules}
cp "$LG/bb/bin/busybox" "$R/bin/busybox"
for a in sh mount umount echo cat poweroff insmod sleep chroot sync tr; do ln -s busybox "$R/bin/$a"; done
mknod -m 600 "$R/dev/console" c 5 1
mknod -m 666 "$R/dev/null" c 1 3
for m in virtio_ring virtio virtio_mmio virtio_blk; do
  f=$(find "$MODDIR" -name "$m.ko*" | head -1)
  [ -n "$f" ] || { echo "build.sh: module $m missing in $MODDIR" >&2; exit 1; }
  cp "$f" "$R/lib/modules/"; basename "$f" >> "$R/lib/modules/order"
done
cat > "$R/init" <<'EOI'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
for m in $(cat /lib/modules/order); do insmod /lib/modules/$m; done
RUN=workload ARGS=128,8,500 TOOLS=vdb VOL=vda
for a in $(cat /proc/cmdline); do
  case $a in lg.run=*) RUN=${a#lg.run=};; lg.args=*) ARGS=${a#lg.args=};;
             lg.tools=*) TOOLS=${a#lg.tools=};; lg.vol=*) VOL=${a#lg.vol=};; esac
done
i=0; while [ ! -e /dev/$TOOLS ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
mount -t ext4 -o ro /dev/$TOOLS /t || { echo "STORAGE-FAIL no tools disk"; poweroff -f; }
mount -t proc proc /t/proc; mount -t sysfs sys /t/sys; mount -t devtmpfs dev /t/dev; mount -t tmpfs tmp /t/tmp
echo ===STORAGE-BEGIN===
if [ "$RUN" = python ]; then
  chroot /t /usr/bin/python3 -c pass && echo PYTHON-OK
else
  mount -t ext4 /dev/$VOL /t/data || echo "STORAGE-FAIL cannot mount /dev/$VOL"
  PATH=/usr/bin:/bin chroot /t /bin/sh /bench/workload.sh /data $(echo "$ARGS" | tr , ' ')
  umount /t/data
fi
echo ===STORAGE-END===
sync
poweroff -f
EOI
chmod +x "$R/init"
(cd "$R" && find . -print0 | cpio --null -o -H newc --quiet) > "$OUT/initrd-storage.cpio"
ls -la "$OUT/tools.img" "$OUT/initrd-storage.cpio" >&2
