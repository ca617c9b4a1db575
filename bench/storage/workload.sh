#!/bin/sh
# workload.sh - the storage benchmark's guest side, run by busybox sh in Nimbus and in the Linux
# guest alike (bench/storage.sh starts it). It prints "result KEY VALUE" lines, "info ..." lines and
# "fail KEY reason" lines; nothing else it prints is read.
#
# usage: workload.sh DATA_DIR SIZE_MIB SECONDS SQLITE_INSERTS
#   DATA_DIR   a directory on the ext4 volume under test (a fresh image each run)
#   SIZE_MIB   the fio data file's size; SECONDS: each time-based fio job's length
#
# fio runs with --thread (no SysV shared memory), psync for every queue depth (libaio/io_uring
# are tried once at QD32 and their failure reported, see below), --direct=1 for the throughput
# patterns (both guests: to the device every time, past the page cache, so the file's size
# against the guest's memory does not matter), buffered writes for fsync-per-write.
BB=${BB:-/bin/busybox}
DATA=${1:?usage: workload.sh DATA_DIR SIZE_MIB SECONDS SQLITE_INSERTS}
SIZE=${2:-128}
T=${3:-8}
N=${4:-500}
F=$DATA/fio.dat
# fio keeps its job table in SysV shared memory, which Nimbus lacks: shm_shim.c provides it from
# anonymous shared mappings, preloaded into fio in both guests alike.
SHIM=${SHIM:-/usr/lib/nimbus-bench/shm_shim.so}
[ -e "$SHIM" ] || { echo "fail fio_shim no $SHIM"; SHIM=""; }

[ -e /sys/block/vda/queue/write_cache ] && echo "info vda write_cache $($BB cat /sys/block/vda/queue/write_cache)"
[ -e /proc/mounts ] && $BB grep " $DATA " /proc/mounts | $BB sed 's/^/info mount /'

# fio_job KEY FIELD EXTRA... : one fio job, its terse (v3) output's FIELD recorded as KEY.
# Terse v3: field 7 read KiB/s, 8 read IOPS, 48 write KiB/s, 49 write IOPS.
fio_job() {
  key=$1 field=$2
  shift 2
  out=$(LD_PRELOAD=$SHIM fio --minimal --thread --group_reporting --filename="$F" --size="${SIZE}m" "$@" 2>&1)
  v=$(echo "$out" | $BB awk -F';' -v f="$field" '$1 == "3" { print $f; exit }')
  err=$(echo "$out" | $BB awk -F';' '$1 == "3" { print $5; exit }')
  if [ -z "$v" ] || [ "$err" != 0 ]; then
    echo "fail $key $(echo "$out" | $BB grep -v '^3;' | $BB tail -n 2 | $BB tr '\n' ' ' | $BB cut -c1-200)"
  else
    echo "result $key $v"
  fi
}

# 1 MiB sequential write lays the file out (and is measured: the whole file, then fsync).
fio_job seq_write_kibs 48 --name=seqw --rw=write --bs=1m --direct=1 --end_fsync=1 --ioengine=psync
fio_job seq_read_kibs 7 --name=seqr --rw=read --bs=1m --direct=1 --time_based --runtime="$T" --ioengine=psync
fio_job rand_read_qd1_iops 8 --name=rr1 --rw=randread --bs=4k --direct=1 --time_based --runtime="$T" --ioengine=psync
fio_job rand_write_qd1_iops 49 --name=rw1 --rw=randwrite --bs=4k --direct=1 --time_based --runtime="$T" --end_fsync=1 --ioengine=psync
# Queue depth 32 as 32 threads each with one synchronous request in flight: the same load in
# both guests, which Nimbus can run (it has no io_setup/io_submit nor io_uring).
fio_job rand_read_qd32_iops 8 --name=rr32 --rw=randread --bs=4k --direct=1 --time_based --runtime="$T" --ioengine=psync --numjobs=32
fio_job rand_write_qd32_iops 49 --name=rw32 --rw=randwrite --bs=4k --direct=1 --time_based --runtime="$T" --end_fsync=1 --ioengine=psync --numjobs=32
# The native asynchronous engines at iodepth 32, for the record (Nimbus: ENOSYS).
fio_job rand_read_qd32_libaio_iops 8 --name=rr32aio --rw=randread --bs=4k --direct=1 --time_based --runtime="$T" --ioengine=libaio --iodepth=32
fio_job rand_read_qd32_io_uring_iops 8 --name=rr32uring --rw=randread --bs=4k --direct=1 --time_based --runtime="$T" --ioengine=io_uring --iodepth=32
# fsync after every 4 KiB write, buffered, appending to a new file.
F=$DATA/fsync.dat
fio_job fsync_write_iops 49 --name=fsyncw --rw=write --bs=4k --fsync=1 --time_based --runtime="$T" --ioengine=psync
$BB rm -f "$DATA/fio.dat" "$DATA/fsync.dat"

# sqlite3: N inserts, each its own transaction (autocommit; Debian's defaults: rollback journal,
# synchronous=FULL), into a database on the volume.
$BB seq 1 "$N" | $BB awk 'BEGIN { print "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);" }
  { printf "INSERT INTO t(v) VALUES (%c%s row %d%c);\n", 39, "nimbus storage benchmark", $1, 39 }' > "${TMPDIR:-/tmp}/inserts.sql"
ms=$(timeit sqlite3 "$DATA/bench.db" < "${TMPDIR:-/tmp}/inserts.sql" | $BB awk '$1 == "elapsed_ms" { print $2 }')
rows=$(sqlite3 "$DATA/bench.db" 'SELECT count(*) FROM t;' 2>&1)
if [ "$rows" = "$N" ] && [ -n "$ms" ]; then
  echo "result sqlite_inserts_per_s $($BB awk -v n="$N" -v ms="$ms" 'BEGIN { printf "%.1f\n", n * 1000 / ms }')"
else
  echo "fail sqlite_inserts_per_s rows=$rows elapsed=$ms"
fi
$BB rm -f "$DATA/bench.db" "${TMPDIR:-/tmp}/inserts.sql"

# python3 -c pass: the first run reads the standard library from the disk; then three more.
for i in 1 2 3 4; do
  ms=$(timeit python3 -c pass | $BB awk '$1 == "elapsed_ms" { print $2 }')
  if [ -z "$ms" ]; then echo "fail python_pass_ms python3 -c pass failed"; break; fi
  [ $i = 1 ] && echo "result python_cold_ms $ms"
  [ $i -gt 1 ] && echo "result python_warm_ms $ms"
done
echo "info workload done"
