#!/bin/bash
# host_smoke.sh - a quick check of the storage benchmark's guest workload (workload.sh) on the
# host, with Debian's fio, sqlite3 and python3 on a temporary directory and tiny sizes: every
# measure it reports must come out as a number. The benchmark itself (`nimbus bench storage`)
# never runs in CI; this keeps its parsing honest.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
for p in fio sqlite3 /usr/bin/python3 /bin/busybox cc; do
  command -v "$p" >/dev/null || { echo "host_smoke.sh: $p is missing (scripts/install-deps)"; exit 1; }
done
T=$(mktemp -d /tmp/nimbus-storage-smoke.XXXXXX); trap 'rm -rf "$T"' EXIT
mkdir "$T/bin" "$T/data"
cc -O2 -static -o "$T/bin/timeit" "$HERE/timeit.c"
cc -O2 -shared -fPIC -o "$T/shm_shim.so" "$HERE/shm_shim.c"
ln -s /usr/bin/python3 "$T/bin/python3"   # Debian's, ahead of any shim on PATH
out=$(PATH=$T/bin:/usr/bin:/bin TMPDIR=$T BB=/bin/busybox SHIM=$T/shm_shim.so sh "$HERE/workload.sh" "$T/data" 4 1 20)
echo "$out"
missing=0
for k in seq_write_kibs seq_read_kibs rand_read_qd1_iops rand_write_qd1_iops rand_read_qd32_iops \
         rand_write_qd32_iops fsync_write_iops sqlite_inserts_per_s python_cold_ms python_warm_ms; do
  grep -qE "^result $k [0-9]+(\.[0-9]+)?$" <<<"$out" || { echo "host_smoke.sh: no figure for $k"; missing=1; }
done
grep -q '^info workload done' <<<"$out" || { echo "host_smoke.sh: the workload did not finish"; missing=1; }
exit $missing
