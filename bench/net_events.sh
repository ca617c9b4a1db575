#!/bin/bash
# net_events.sh - what a redis request costs in emulator events, for Nimbus and the Linux guest:
# device kicks, device interrupts, local APIC writes (EOI, timer), I/O APIC EOIs and all MMIO
# writes per request, counted by QEMU's own trace events (log back end) around redis-benchmark
# GET loads. Under TCG each of these leaves translated code for QEMU's device emulation, and an
# interrupt also ends the current translation block chain: their number per request, not only
# the instruction count, decides how many requests a guest serves.
#
# usage: net_events.sh BUILD_DIR [linux|nimbus]... [-n REQUESTS] [-m MEMORY] [--rates]
#   --rates  no tracing: redis-benchmark SET and GET at -P 1 and -P 16 (50 clients), requests/s
#            and p99, for quick comparisons of kernels (bench/net.sh is the benchmark of record)
#   NIMBUS_LINUX_GUEST  the shared Linux-guest baseline (default ../shared/bench/linux-guest)
#   NIMBUS_BIN          another nimbus to measure; NIMBUS_ARGS  more `nimbus run` options
# Needs root (a private network namespace with a tap device, deleted at the end) and the Linux
# guest's images from bench/linux-guest-net/build.sh (bench/net.sh builds them in
# /tmp/linux-guest-net). Prints one table per guest: events per request for 1 client -P 1,
# 50 clients -P 1 and 50 clients -P 16, and their request rates (slowed by the tracing).
set -uo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:?usage: net_events.sh BUILD_DIR [linux|nimbus]... [-n REQUESTS]}" && pwd)
shift
KINDS=() N=20000 MEM=256M RATES=0
while [ $# -gt 0 ]; do
  case $1 in
    --rates) RATES=1 ;;
    linux|nimbus) KINDS+=("$1") ;;
    -n) N=$2; shift ;;
    -m) MEM=$2; shift ;;
    *) echo "net_events.sh: bad argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
[ ${#KINDS[@]} = 0 ] && KINDS=(linux nimbus)
NIMBUS=${NIMBUS_BIN:-$BUILD/nimbus}
LINUX_GUEST=${NIMBUS_LINUX_GUEST:-}
if [ -z "$LINUX_GUEST" ]; then
  for d in "$SRC/.." "$SRC/../.." "$SRC/../../.."; do
    [ -f "$d/shared/bench/linux-guest/common.sh" ] && { LINUX_GUEST=$(cd "$d/shared/bench/linux-guest" && pwd); break; }
  done
fi
LG=/tmp/linux-guest LGN=/tmp/linux-guest-net
export ACCEL=tcg TCG_CPU=max
. "$LINUX_GUEST/common.sh"
[ "$(id -u)" = 0 ] || { echo "net_events.sh: needs root" >&2; exit 1; }

NS=nimbus-events-$$ GUEST_IP=192.168.250.2 HOST_IP=192.168.250.1
IN=(ip netns exec "$NS")
WORK=$(mktemp -d /tmp/nimbus-net-events.XXXXXX)
GPID=""
cleanup() { [ -n "$GPID" ] && { pkill -P "$GPID" 2>/dev/null; kill "$GPID" 2>/dev/null; wait "$GPID" 2>/dev/null; }
            ip netns del "$NS" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$NS" || exit 1
ip -n "$NS" link set lo up
ip -n "$NS" tuntap add dev tap0 mode tap
ip -n "$NS" addr add "$HOST_IP/24" dev tap0
ip -n "$NS" link set tap0 up

EVENTS="virtio_queue_notify virtio_notify virtio_mmio_setting_irq virtio_pci_notify apic_mem_writel
        apic_local_deliver apic_deliver_irq ioapic_eoi_broadcast memory_region_ops_write"
printf '%s\n' $EVENTS > "$WORK/events"
TRACE=(-trace "events=$WORK/events" -D "$WORK/trace.log")
QEMU_OPT=(--qemu "$WORK/qemu-tracing")
[ $RATES = 1 ] && TRACE=() QEMU_OPT=()
printf '#!/bin/sh\nexec qemu-system-x86_64 "$@" -trace events=%s -D %s\n' "$WORK/events" "$WORK/trace.log" > "$WORK/qemu-tracing"
chmod +x "$WORK/qemu-tracing"
cp "$(readlink -f /usr/bin/redis-check-rdb)" "$WORK/redis-server"
cp "$SRC/bench/linux-guest-net/redis.conf" "$WORK/redis.conf"

start() {
  rm -f "$WORK/trace.log"
  if [ "$1" = linux ]; then
    local args; mapfile -t args < <(qemu_args microvm pvh "$LGN/initrd-redis.cpio" "$MEM" \
                                     "lg.ip=$GUEST_IP/24 lg.gw=$HOST_IP panic_on_oom=1")
    "${IN[@]}" qemu-system-x86_64 "${args[@]}" "${TRACE[@]}" \
      -netdev tap,id=n0,ifname=tap0,script=no,downscript=no,vhost=off \
      -device virtio-net-device,netdev=n0 -serial "file:$WORK/guest.log" </dev/null >/dev/null 2>&1 &
  else
    "${IN[@]}" "$NIMBUS" run --memory "$MEM" --timeout 1800 --net tap=tap0 --ip "$GUEST_IP/24" \
      --gateway "$HOST_IP" --accel tcg "${QEMU_OPT[@]}" ${NIMBUS_ARGS:-} \
      --add "$WORK/redis.conf:/etc/redis.conf" "$WORK/redis-server" /etc/redis.conf </dev/null >"$WORK/guest.log" 2>&1 &
  fi
  GPID=$!
  for _ in $(seq 400); do
    [ "$("${IN[@]}" timeout 3 redis-cli -h $GUEST_IP ping 2>/dev/null)" = PONG ] && return 0
    sleep 0.3
  done
  echo "net_events.sh: $1 did not answer; the end of its output:" >&2
  tr -d '\r' < "$WORK/guest.log" | grep -av '^ *$' | tail -n 12 | sed 's/^/   | /' >&2
  return 1
}
stop() { pkill -P "$GPID" 2>/dev/null; kill "$GPID" 2>/dev/null; wait "$GPID" 2>/dev/null; GPID=""; }

# count FROM_LINE -> "event count" lines for trace.log from line FROM_LINE on; LAPIC writes split
# by register offset (0xb0 EOI, 0x380 timer count, 0x300 ICR), MMIO writes by region name
# ('apic-msi' is the local APIC; a TSC-deadline timer is an MSR write, not traced).
count() {
  tail -n +"$1" "$WORK/trace.log" | awk '
    { ev = $1; sub(/^[0-9]+@[0-9.]+:/, "", ev) }
    ev ~ /^apic_mem_writel/ { r = $0; sub(/^[^ ]* /, "", r); match(r, /0x[0-9a-f]+/); ev = "apic_mem_writel " substr(r, RSTART, RLENGTH) }
    ev ~ /^memory_region_ops_write/ { n = $0; sub(/.* name /, "", n); ev = "mmio_write " n }
    { c[ev]++ }
    END { for (e in c) print e, c[e] }'
}

for kind in "${KINDS[@]}"; do
  echo "== $kind ${NIMBUS_BIN:-} ${NIMBUS_ARGS:-}"
  start "$kind" || { stop; continue; }
  sleep 2
  grep -a "memory:" "$WORK/guest.log" | tr -d "\r" | sed "s/^/   /"   # Nimbus with --verbose: free at boot
  if [ $RATES = 1 ]; then
    for p in 1 16; do
      "${IN[@]}" timeout 300 redis-benchmark -h $GUEST_IP -c 50 -n $((p == 1 ? N : 10 * N)) -P $p -t set,get --csv 2>/dev/null \
        | tr -d '"\r' | awk -F, -v p=$p -v k=$kind '$1 == "SET" || $1 == "GET" { printf "   %s %s -P %s: %s req/s, p50 %s ms, p99 %s ms\n", k, $1, p, $2, $5, $7 }'
    done
    stop
    continue
  fi
  for mode in "1 1" "50 1" "50 16"; do
    set -- $mode
    from=$(($(wc -l < "$WORK/trace.log") + 1))
    n=$N; [ "$1" = 1 ] && n=$((N / 4))
    rps=$("${IN[@]}" timeout 600 redis-benchmark -h $GUEST_IP -c "$1" -n "$n" -P "$2" -t get --csv 2>/dev/null \
          | tr -d '"\r' | awk -F, '$1 == "GET" { print $2 }')
    echo "-- $kind: GET -c $1 -P $2, $n requests, ${rps:-?} req/s (traced); events per request:"
    count "$from" | awk -v n="$n" '{ printf "   %-50s %8.3f\n", $1 " " $2 (NF > 3 ? " " $3 : ""), $NF / n }' | sort
  done
  stop
done
