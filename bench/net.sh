#!/bin/bash
# net.sh - network benchmark: redis, nginx, memcached and iperf3 served by Nimbus and by the
# Linux-guest baseline, side by side, writing the "Network" section of docs/benchmarks.md.
#
# usage: net.sh BUILD_DIR [RUNS] [--quick]     (normally `nimbus bench net [--runs N] [--quick]`)
#   NET_APPS  only these servers (of redis nginx memcached iperf3); the section is then only printed
#   --quick   one short pass (small request counts, 2 s load phases, no memory bisection and no
#             doc update): a smoke test that prints the table on stdout
#   NIMBUS_LINUX_GUEST  the shared Linux-guest baseline (default ../shared/bench/linux-guest)
#
# Both guests run in ONE invocation, on the same QEMU, under TCG with -cpu max, -smp 1, with the
# same --memory, each attached to tap0 in a private network namespace this script creates and
# always deletes; the guest is 192.168.250.2, the load generators run in that namespace on
# 192.168.250.1. Nothing here touches the host's own network. Every wait has a timeout: a guest
# that does not answer in time is reported ("nimbus: did not serve") and the script carries on;
# one that stops answering during a load is booted again and the load repeated once (said on
# stderr and under "Guests restarted" in the section).
set -uo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:?usage: net.sh BUILD_DIR [RUNS] [--quick]}" && pwd)
shift
RUNS=3 QUICK=0
for a in "$@"; do
  case $a in
    --quick) QUICK=1 ;;
    *[!0-9]* | '') echo "net.sh: bad argument '$a'" >&2; exit 2 ;;
    *) RUNS=$a ;;
  esac
done
NIMBUS=${NIMBUS_BIN:-$BUILD/nimbus}   # NIMBUS_BIN: another nimbus to measure (e.g. a test double)
# The shared baseline sits in shared/ beside the checkout (or beside the checkout's parent, for a
# git worktree one level further down).
LINUX_GUEST=${NIMBUS_LINUX_GUEST:-}
if [ -z "$LINUX_GUEST" ]; then
  for d in "$SRC/.." "$SRC/../.." "$SRC/../../.."; do
    [ -f "$d/shared/bench/linux-guest/common.sh" ] && { LINUX_GUEST=$(cd "$d/shared/bench/linux-guest" && pwd); break; }
  done
fi
[ -f "${LINUX_GUEST:-/nonexistent}/common.sh" ] \
  || { echo "net.sh: no Linux-guest baseline (shared/bench/linux-guest); set NIMBUS_LINUX_GUEST" >&2; exit 1; }
LG=/tmp/linux-guest
LGN=/tmp/linux-guest-net
DOC=$SRC/docs/benchmarks.md
BEGIN_MARK='<!-- net:begin -->'
END_MARK='<!-- net:end -->'

# Load sizes. Fixed request counts (redis-benchmark -n) make the instruction counts comparable;
# wrk, memaslap and iperf3 run for a fixed time.
MEM=256M                    # both guests; the Linux guest needs ~112 MiB for redis
# -P 16 runs ten times as many requests as -P 1, so that both last a few seconds.
REDIS_N=20000 LOAD_S=10 IPERF_S=5 CONNS=10000 ICOUNT_N=5000
if [ $QUICK = 1 ]; then
  RUNS=1 REDIS_N=2000 LOAD_S=2 IPERF_S=2 CONNS=1000 ICOUNT_N=500
fi
READY_LINUX_S=120           # QEMU start to first answer; ~5 s on an idle machine under TCG
READY_NIMBUS_S=60

# Targets from issue 7 (ratios Nimbus / Linux guest in the same run).
TARGET_REDIS=2.5 TARGET_NGINX_SMALL=2.9 TARGET_BULK=1.0 TARGET_P99=0.5 TARGET_MEM_MIB=16

NS=nimbus-bench-$$
GUEST_IP=192.168.250.2 HOST_IP=192.168.250.1
IN=(ip netns exec "$NS")
export ACCEL=tcg TCG_CPU=max   # the baseline's common.sh: the CPU model nimbus gives TCG guests
. "$LINUX_GUEST/common.sh"

WORK=$(mktemp -d /tmp/nimbus-bench-net.XXXXXX)
GPID="" QPID=""
cleanup() {
  [ -n "${SAMPLER:-}" ] && kill "$SAMPLER" 2>/dev/null
  stop_guest
  ip netns del "$NS" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "== $(date +%T) $*" >&2; }
[ "$(id -u)" = 0 ] || { echo "net.sh: needs root (network namespace, tap device)" >&2; exit 1; }
[ -x "$NIMBUS" ] || { echo "net.sh: $NIMBUS is missing; build it first (ninja -C $BUILD nimbus nimbus-kernel)" >&2; exit 1; }

# ---- host tools and the Linux guest's images --------------------------------------------------
need=""
for p in redis-tools wrk iperf3 memcached libmemcached-tools nginx-light curl iproute2 qemu-system-x86; do
  dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"
done
if [ -n "$need" ]; then
  say "installing$need"
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $need; } >&2 \
    || { echo "net.sh: cannot install$need" >&2; exit 1; }
fi
say "building the Linux guest's images (bench/linux-guest-net/build.sh)"
if ! NIMBUS_LINUX_GUEST=$LINUX_GUEST LG=$LG OUT=$LGN "$SRC/bench/linux-guest-net/build.sh" > "$WORK/build.log" 2>&1; then
  cat "$WORK/build.log" >&2; echo "net.sh: the Linux guest's images did not build" >&2; exit 1
fi
SITE=$LGN/site
# The instruction counter: a TCG plugin (bench/insn_count/insn_count.c), loaded into both guests'
# QEMU; for Nimbus through a --qemu wrapper that appends the -plugin option.
HAVE_PLUGIN=0
if cc -O2 -shared -fPIC -o "$WORK/insn_count.so" "$SRC/bench/insn_count/insn_count.c" -lpthread 2>"$WORK/cc.log"; then
  HAVE_PLUGIN=1
  mkfifo "$WORK/insn.ctl"
  PLUGIN_OPT="file=$WORK/insn_count.so,ctl=$WORK/insn.ctl,out=$WORK/insn.out"
  printf '#!/bin/sh\nexec qemu-system-x86_64 "$@" -plugin %s\n' "$PLUGIN_OPT" > "$WORK/qemu-counting"
  chmod +x "$WORK/qemu-counting"
fi

# Files for the Nimbus side: the same configuration and programs as in the Linux images.
cp "$(readlink -f /usr/bin/redis-check-rdb)" "$WORK/redis-server"   # argv[0] picks redis' mode
cp "$SRC/bench/linux-guest-net/redis.conf" "$WORK/redis.conf"
cp "$SRC/bench/linux-guest-net/nginx.conf" "$WORK/nginx.conf"
cp "$LGN/root-nginx/etc/passwd" "$LGN/root-nginx/etc/group" "$WORK/"
mkdir -p "$WORK/tmp"

# ---- the network namespace --------------------------------------------------------------------
ip netns add "$NS" || exit 1
ip -n "$NS" link set lo up
ip -n "$NS" tuntap add dev tap0 mode tap
ip -n "$NS" addr add "$HOST_IP/24" dev tap0
ip -n "$NS" link set tap0 up
# The connection test opens 2 x CONNS client connections in a few minutes; their TIME_WAIT
# entries must not run the namespace out of ports (these settings exist only in the namespace).
"${IN[@]}" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="10000 65000"

# ---- guests -----------------------------------------------------------------------------------
# qemu_pid PID -> the QEMU process among PID and its descendants (nimbus may fork it).
qemu_pid() {
  local p=$1 c
  case $(cat "/proc/$p/comm" 2>/dev/null) in qemu-system*) echo "$p"; return ;; esac
  for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do
    c=$(qemu_pid "$c"); [ -n "$c" ] && { echo "$c"; return; }
  done
}
rss_mib() { awk '/^VmRSS/ { printf "%.1f\n", $2 / 1024 }' "/proc/$1/status" 2>/dev/null; }

# start_guest KIND APP MEMORY [counting] : boots the guest in the background (GPID, QPID, GLOG).
start_guest() {
  local kind=$1 app=$2 mem=$3 counting=${4:-}
  GLOG=$WORK/$kind-$app.log
  rm -f "$GLOG"   # readiness may be read from it: never from an earlier boot's log
  ip -n "$NS" neigh flush dev tap0 2>/dev/null
  if [ "$kind" = linux ]; then
    local args extra=""
    mapfile -t args < <(qemu_args microvm pvh "$LGN/initrd-$app.cpio" "$mem" \
                          "lg.ip=$GUEST_IP/24 lg.gw=$HOST_IP panic_on_oom=1")
    [ -n "$counting" ] && args+=(-plugin "$PLUGIN_OPT")
    "${IN[@]}" timeout 1800 qemu-system-x86_64 "${args[@]}" \
      -netdev tap,id=n0,ifname=tap0,script=no,downscript=no,vhost=off \
      -device virtio-net-device,netdev=n0 -serial "file:$GLOG" </dev/null >/dev/null 2>&1 &
  else
    local run=("$NIMBUS" run --memory "$mem" --timeout 1800
               --net tap=tap0 --ip "$GUEST_IP/24" --gateway "$HOST_IP")
    run+=(--accel tcg)
    [ -n "$counting" ] && run+=(--qemu "$WORK/qemu-counting")
    case $app in
      redis) run+=(--add "$WORK/redis.conf:/etc/redis.conf" "$WORK/redis-server" /etc/redis.conf) ;;
      nginx) run+=(--add "$WORK/nginx.conf:/etc/nginx/nginx.conf" --add "$SITE:/srv/www"
                   --add "$WORK/passwd:/etc/passwd" --add "$WORK/group:/etc/group" --add "$WORK/tmp:/tmp"
                   /usr/sbin/nginx -c /etc/nginx/nginx.conf) ;;
      memcached) run+=(--add "$WORK/passwd:/etc/passwd" --add "$WORK/group:/etc/group"
                       /usr/bin/memcached -u root -l 0.0.0.0 -p 11211 -U 0 -m 64 -c 1024) ;;
      # --forceflush: Nimbus' stdout is a pipe, not the Linux guest's console, and iperf3
      # would hold its "Server listening" line (the readiness sign) in its buffer.
      iperf3) run+=(--add "$WORK/tmp:/tmp" /usr/bin/iperf3 -s -p 5201 --forceflush) ;;
    esac
    "${IN[@]}" "${run[@]}" </dev/null >"$GLOG" 2>&1 &
  fi
  GPID=$!
  QPID=""
}

stop_guest() {
  [ -n "$GPID" ] || return 0
  local q; q=${QPID:-$(qemu_pid "$GPID")}
  kill "$GPID" $q 2>/dev/null
  for _ in $(seq 50); do kill -0 "$GPID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$GPID" $q 2>/dev/null
  wait "$GPID" 2>/dev/null
  GPID="" QPID=""
}

# answers APP -> true when the server in the guest answers its protocol's simplest request.
answers() {
  case $1 in
    redis) [ "$("${IN[@]}" timeout 3 redis-cli -h $GUEST_IP ping 2>/dev/null)" = PONG ] ;;
    nginx) [ "$("${IN[@]}" curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://$GUEST_IP/index.html")" = 200 ] ;;
    memcached) "${IN[@]}" timeout 3 bash -c "exec 3<>/dev/tcp/$GUEST_IP/11211; printf 'version\r\n' >&3; head -c 7 <&3" \
                 2>/dev/null | grep -q VERSION ;;
    # the server logs this once it listens; a probe connection would count as a failed test
    iperf3) grep -aq 'Server listening' "$GLOG" 2>/dev/null ;;
  esac
}

# wait_ready KIND APP -> 0 once the app answers; 1 if the guest died or the timeout passed.
wait_ready() {
  local limit=$READY_LINUX_S t0=$SECONDS ns0
  ns0=$(date +%s%N)
  [ "$1" = nimbus ] && limit=$READY_NIMBUS_S
  while [ $((SECONDS - t0)) -lt "$limit" ]; do
    kill -0 "$GPID" 2>/dev/null || return 1
    if answers "$2"; then
      QPID=$(qemu_pid "$GPID")
      READY_S=$(awk -v a="$ns0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f\n", (b - a) / 1e9 }')
      return 0
    fi
    sleep 0.3
  done
  return 1
}

# why_not KIND APP -> a short reason for a guest that did not serve, from its log.
why_not() {
  local line
  line=$(tr -d '\r' < "$GLOG" 2>/dev/null | grep -av '^ *$' | tail -n 1 | cut -c1-100)
  if kill -0 "$GPID" 2>/dev/null; then echo "no answer within the timeout${line:+; last output: $line}"
  else echo "exited${line:+: $line}"; fi
}

# ---- results: $WORK/res/KIND.MEASURE, one value per run ----------------------------------------
mkdir -p "$WORK/res"
rec() { [ -n "$3" ] && [ "$3" != - ] && echo "$3" >> "$WORK/res/$1.$2"; }
median() { sort -g | awk '{a[NR]=$1} END {if (!NR) {print "-"; exit}
  m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; if (m >= 1000 || m <= -1000) printf "%.0f\n", m; else printf "%.4g\n", m}'; }
med() { if [ -s "$WORK/res/$1.$2" ]; then median < "$WORK/res/$1.$2"; else echo -; fi; }
declare -A NOTE=()   # NOTE[kind.app] = why that guest did not serve that app

# to_ms VALUE_WITH_UNIT (wrk: 812.00us, 1.23ms, 2.01s) -> milliseconds
to_ms() { awk -v v="$1" 'BEGIN { u = v; sub(/^[0-9.]+/, "", u); n = v + 0
  if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000; printf "%.3f\n", n }'; }

# rss sampler: the largest QEMU VmRSS seen while a load runs.
sample_start() { ( m=$(cat "$WORK/rss.max" 2>/dev/null || echo 0); while :; do r=$(awk '/^VmRSS/ {print $2}' "/proc/$QPID/status" 2>/dev/null) || break
                   [ -n "$r" ] && [ "$r" -gt "$m" ] && { m=$r; echo "$m" > "$WORK/rss.max"; }; sleep 0.2; done ) &
                 SAMPLER=$!; }
sample_stop() { kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null
                awk '{ printf "%.1f\n", $1 / 1024 }' "$WORK/rss.max" 2>/dev/null; rm -f "$WORK/rss.max"; }

# redis_bench KIND TEST PIPELINE N EXTRA... -> records rps, p50, p99 (ms)
redis_bench() {
  local kind=$1 t=$2 p=$3 n=$4; shift 4
  local out line
  out=$("${IN[@]}" timeout 60 redis-benchmark -h $GUEST_IP -p 6379 -c 50 -n "$n" -P "$p" -t "$t" --csv "$@" 2>/dev/null \
        | tr -d '\r')
  # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  line=$(grep -i "^\"$t\"" <<<"$out" | tail -1 | tr -d '"')
  if [ -z "$line" ]; then say "   $kind redis $t -P $p: no result"; return 1; fi
  IFS=, read -r _ rps _ _ p50 _ p99 _ <<<"$line"
  rec "$kind" "redis_${t}_p$p" "$rps"; rec "$kind" "redis_${t}_p${p}_p50" "$p50"; rec "$kind" "redis_${t}_p${p}_p99" "$p99"
  say "   $kind redis $t -P $p: $rps req/s, p50 $p50 ms, p99 $p99 ms"
}

# wrk_bench KIND NAME PATH CONNECTIONS -> records rps, p50, p99 (ms), MB/s
wrk_bench() {
  local kind=$1 name=$2 path=$3 c=$4 out rps p50 p99 xfer
  out=$("${IN[@]}" timeout $((LOAD_S + 60)) wrk -t 2 -c "$c" -d "${LOAD_S}s" --timeout 10s --latency \
        "http://$GUEST_IP$path" 2>&1)
  rps=$(awk '$1 == "Requests/sec:" {print $2}' <<<"$out")
  if [ -z "$rps" ]; then say "   $kind wrk $path: no result: $(tail -1 <<<"$out")"; return 1; fi
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
  xfer=$(awk '$1 == "Transfer/sec:" { v = $2 + 0; u = $2; sub(/^[0-9.]+/, "", u)
           if (u == "KB") v /= 1024; else if (u == "GB") v *= 1024; else if (u == "B") v /= 1048576; printf "%.2f\n", v }' <<<"$out")
  grep -q 'Non-2xx' <<<"$out" && say "   $kind wrk $path: non-2xx answers: $(grep Non-2xx <<<"$out")"
  rec "$kind" "nginx_${name}" "$rps"; rec "$kind" "nginx_${name}_p50" "$p50"; rec "$kind" "nginx_${name}_p99" "$p99"
  rec "$kind" "nginx_${name}_mbs" "$xfer"
  say "   $kind wrk $path ($c connections): $rps req/s, $xfer MiB/s, p50 $p50 ms, p99 $p99 ms"
}

# answers_within APP SECONDS -> true once the server answers, probing for up to SECONDS: a guest
# that has just closed 50 connections under TCG may take a few seconds to answer again.
answers_within() {
  local t0=$SECONDS
  while :; do
    answers "$1" && return 0
    [ $((SECONDS - t0)) -ge "$2" ] && return 1
    sleep 1
  done
}

# restart_guest KIND APP WHAT -> true when the guest, which stopped answering during WHAT, was
# booted again and answers; says so on stderr and in the section ("Guests restarted"). False,
# with a note (the rest of that guest's loads for APP are then skipped), when it does not.
declare -a RESTARTS=()
restart_guest() {
  local kind=$1 app=$2 what=$3 why
  why=$(why_not)
  say "   $kind: stopped answering $app during $what ($why): restarting the guest"
  [ -n "${SAMPLER:-}" ] && { kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null; SAMPLER=""; }
  # its last words, for finding out why (the work directory goes at the end)
  tr -d '\r' < "$GLOG" 2>/dev/null | grep -av '^ *$' | tail -n 8 | sed 's/^/      | /' >&2
  stop_guest
  start_guest "$kind" "$app" "$MEM"
  if ! wait_ready "$kind" "$app"; then
    NOTE[$kind.$app]="stopped answering during $what ($why), and did not serve after a restart ($(why_not))"
    say "   $kind: ${NOTE[$kind.$app]}"
    return 1
  fi
  RESTARTS+=("run $RUN: $kind $app stopped answering during $what ($why); restarted, it answered again after $READY_S s and the load was run again")
  say "   $kind $app: answers again after a restart ($READY_S s)"
  sample_start
  return 0
}

# run_load KIND APP WHAT COMMAND... -> runs the load COMMAND; when it gives no result and the guest
# no longer answers, restarts the guest and runs COMMAND once more. False (and a note) when the
# guest cannot be brought back or stops answering again.
run_load() {
  local kind=$1 app=$2 what=$3
  shift 3
  "$@" && return 0
  answers_within "$app" 15 && return 0   # it answers: only that load had no result
  restart_guest "$kind" "$app" "$what" || return 1
  "$@" && return 0
  answers_within "$app" 15 && return 0
  NOTE[$kind.$app]="stopped answering during $what, again after a restart ($(why_not))"
  say "   $kind: ${NOTE[$kind.$app]}"
  return 1
}

# ---- one server, one guest ----------------------------------------------------------------------
bench_app() {
  local kind=$1 app=$2 rest load
  if [ -n "${NOTE[$kind.$app]:-}" ]; then return; fi   # it did not serve in an earlier run
  say "$kind $app: booting (load $(cut -d' ' -f1 /proc/loadavg))"
  start_guest "$kind" "$app" "$MEM"
  if ! wait_ready "$kind" "$app"; then
    NOTE[$kind.$app]="$(why_not)"
    say "$kind: did not serve $app (${NOTE[$kind.$app]})"
    stop_guest; return
  fi
  sleep 1
  rest=$(rss_mib "$QPID")
  say "   $kind $app ready after ${READY_S} s; QEMU VmRSS at rest $rest MiB"
  rec "$kind" "ready_$app" "$READY_S"; rec "$kind" "rss_rest_$app" "$rest"
  sample_start
  case $app in
    redis)
      for p in 1 16; do for t in set get; do
        run_load "$kind" redis "redis-benchmark -t $t -P $p" \
          redis_bench "$kind" "$t" "$p" $((p == 1 ? REDIS_N : 10 * REDIS_N)) || break 2
      done; done ;;
    nginx)
      run_load "$kind" nginx "wrk on index.html" wrk_bench "$kind" small /index.html 50 &&
        run_load "$kind" nginx "wrk on 1m.bin" wrk_bench "$kind" 1m /1m.bin 10 ;;
    memcached)
      local out tps
      out=$("${IN[@]}" timeout $((LOAD_S + 60)) memcaslap -s "$GUEST_IP:11211" -T 2 -c 50 -t "${LOAD_S}s" 2>&1)
      tps=$(grep -a 'TPS:' <<<"$out" | tail -1 | sed -E 's/.*TPS: *([0-9.]+).*/\1/')
      rec "$kind" memcached_tps "$tps"
      say "   $kind memaslap: ${tps:-no result} ops/s" ;;
    iperf3)
      local dir flag out mbit
      for dir in up down; do
        flag=""; [ $dir = down ] && flag=-R
        out=$("${IN[@]}" timeout $((IPERF_S + 60)) iperf3 -c $GUEST_IP -p 5201 -t "$IPERF_S" $flag 2>&1)
        mbit=$(awk '/receiver$/ { v = $(NF-2); u = $(NF-1)
                 if (u ~ /^K/) v /= 1000; else if (u ~ /^G/) v *= 1000; else if (u ~ /^bits/) v /= 1e6; print v }' <<<"$out" | tail -1)
        rec "$kind" "iperf_$dir" "$mbit"
        say "   $kind iperf3 $dir ($([ $dir = up ] && echo host to guest || echo guest to host)): ${mbit:-no result} Mbit/s"
      done ;;
  esac
  load=$(sample_stop)
  rec "$kind" "rss_load_$app" "$load"
  say "   $kind $app: QEMU VmRSS under load (max) ${load:--} MiB"
  stop_guest
}

# ---- connections: 10,000 short connections, twice; what grows in the second round is a leak -----
bench_conns() {
  local kind=$1 r0 r1 r2 c
  [ -n "${NOTE[$kind.redis]:-}" ] && return
  say "$kind: $CONNS short connections, twice (redis-benchmark -k 0)"
  start_guest "$kind" redis "$MEM"
  if ! wait_ready "$kind" redis; then NOTE[$kind.conns]="$(why_not)"; stop_guest; return; fi
  sleep 1; r0=$(rss_mib "$QPID")
  local round ok=1
  for round in 1 2; do
    "${IN[@]}" timeout 300 redis-benchmark -h $GUEST_IP -c 50 -n "$CONNS" -k 0 -t ping_inline -q >/dev/null 2>&1 || ok=0
    sleep 2
    if [ $round = 1 ]; then r1=$(rss_mib "$QPID"); else r2=$(rss_mib "$QPID"); fi
  done
  [ $ok = 1 ] || { NOTE[$kind.conns]="a round of $CONNS connections did not finish ($(why_not))"; stop_guest; return; }
  c=$("${IN[@]}" timeout 5 redis-cli -h $GUEST_IP info clients 2>/dev/null | tr -d '\r' | awk -F: '$1 == "connected_clients" {print $2}')
  if [ -n "$c" ]; then
    rec "$kind" conns_growth "$(awk -v a="$r1" -v b="$r2" 'BEGIN { printf "%.1f\n", b - a }')"
    rec "$kind" conns_clients "$c"
    say "   $kind: QEMU VmRSS $r0 -> $r1 -> $r2 MiB; redis connected_clients afterwards: $c (1 = this query)"
  else
    NOTE[$kind.conns]="no answer after the connection rounds: $(why_not)"
  fi
  stop_guest
}

# ---- instructions per request: redis GET with the counting plugin (see the doc text below) -----
insn_now() {
  rm -f "$WORK/insn.out"
  timeout 5 bash -c "echo > '$WORK/insn.ctl'" || return 1
  for _ in $(seq 50); do [ -s "$WORK/insn.out" ] && { cat "$WORK/insn.out"; return 0; }; sleep 0.1; done
  return 1
}
bench_icount() {
  local kind=$1 p c0 c1 i0 i1
  [ $HAVE_PLUGIN = 1 ] || { NOTE[$kind.icount]="the counting plugin did not compile: $(head -1 "$WORK/cc.log")"; return; }
  [ -n "${NOTE[$kind.redis]:-}" ] && return
  say "$kind: instructions per request (counting plugin)"
  start_guest "$kind" redis "$MEM" counting
  if ! wait_ready "$kind" redis; then NOTE[$kind.icount]="$(why_not)"; stop_guest; return; fi
  sleep 1
  i0=$(insn_now); sleep 2; i1=$(insn_now)
  [ -n "$i0" ] && [ -n "$i1" ] && rec "$kind" insn_idle_per_s "$(( (i1 - i0) / 2 ))"
  # One client, one request at a time: the whole cost of a request, independent of how many
  # requests the load lets the guest batch per wake-up. Then 50 clients with 16 pipelined, where
  # batching is the point (and the figure depends on it).
  local mode c p
  for mode in c1p1 c50p16; do
    c=${mode#c}; c=${c%p*}; p=${mode#*p}
    c0=$(insn_now) || { NOTE[$kind.icount]="the plugin did not answer"; break; }
    if ! "${IN[@]}" timeout 300 redis-benchmark -h $GUEST_IP -c "$c" -n "$ICOUNT_N" -P "$p" -t get -q >/dev/null 2>&1; then
      NOTE[$kind.icount]="redis-benchmark -c $c -P $p did not finish"; break
    fi
    c1=$(insn_now) || { NOTE[$kind.icount]="the plugin did not answer"; break; }
    rec "$kind" "insn_get_$mode" "$(( (c1 - c0) / ICOUNT_N ))"
    say "   $kind: GET -c $c -P $p: $(( (c1 - c0) / ICOUNT_N )) guest instructions per request"
  done
  stop_guest
}

# ---- smallest memory that serves redis (bisection; assumes more memory never hurts) ------------
serves_in() {  # serves_in KIND MIB
  local saved=$READY_LINUX_S ok=1
  READY_LINUX_S=60
  start_guest "$1" redis "${2}M"
  wait_ready "$1" redis && ok=0
  READY_LINUX_S=$saved
  stop_guest
  say "   $1 --memory ${2}M: $([ $ok = 0 ] && echo PONG || echo 'no PONG')"
  return $ok
}
smallest_mib() {  # smallest_mib KIND LO HI STEP -> MiB, or ">HI"
  local kind=$1 lo=$2 hi=$3 step=$4 mid
  serves_in "$kind" "$hi" || { echo ">$hi"; return; }
  lo=$((lo / step)) hi=$((hi / step))
  while [ $lo -lt $hi ]; do
    mid=$(( (lo + hi) / 2 ))
    if serves_in "$kind" $((mid * step)); then hi=$mid; else lo=$((mid + 1)); fi
  done
  echo $((lo * step))
}

# ---- the runs ---------------------------------------------------------------------------------
say "net.sh: $RUNS run(s)$([ $QUICK = 1 ] && echo ', quick'), accel $(detect_accel), load $(cut -d' ' -f1-3 /proc/loadavg)"
START_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
ALL_APPS="redis nginx memcached iperf3"
# NET_APPS: a subset of the servers (e.g. NET_APPS=redis); the section is then printed, not
# written to the doc, since the other rows would be empty.
APPS=${NET_APPS:-$ALL_APPS}
for app in $APPS; do
  case " $ALL_APPS " in *" $app "*) ;; *) echo "net.sh: NET_APPS: unknown server '$app' (of: $ALL_APPS)" >&2; exit 2 ;; esac
done
for RUN in $(seq "$RUNS"); do
  say "run $RUN of $RUNS"
  for app in $APPS; do
    for kind in linux nimbus; do bench_app "$kind" "$app"; done
  done
done
WITH_REDIS=0; case " $APPS " in *" redis "*) WITH_REDIS=1 ;; esac
[ $WITH_REDIS = 1 ] && for kind in linux nimbus; do bench_conns "$kind"; bench_icount "$kind"; done
MIN_LINUX=- MIN_NIMBUS=-
if [ $WITH_REDIS = 0 ]; then
  :
elif [ $QUICK = 1 ]; then
  # the target alone: does Nimbus serve redis in 16 MiB?
  if [ -z "${NOTE[nimbus.redis]:-}" ]; then
    if serves_in nimbus $TARGET_MEM_MIB; then MIN_NIMBUS="<=$TARGET_MEM_MIB"; else MIN_NIMBUS=">$TARGET_MEM_MIB"; fi
  fi
else
  say "smallest memory that serves redis"
  MIN_LINUX=$(smallest_mib linux 48 256 8)
  [ -z "${NOTE[nimbus.redis]:-}" ] && MIN_NIMBUS=$(smallest_mib nimbus 4 256 1)
fi
END_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the section ------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.3g\n", a / b }'; }
# range KIND MEASURE -> "min-max" over the runs, or nothing with fewer than two
range() {
  [ -s "$WORK/res/$1.$2" ] || return 0
  sort -g "$WORK/res/$1.$2" | awk '{a[NR]=$1} END { if (NR < 2) exit
    f = (a[NR] >= 1000) ? "%.0f" : "%.4g"; printf " (" f "-" f ")", a[1], a[NR] }'
}
# why_missing APP -> why a figure is absent
why_missing() {
  if [ -n "${NOTE[nimbus.$1]:-}" ]; then echo "Nimbus did not serve $1"
  elif [ -n "${NOTE[linux.$1]:-}" ]; then echo "the Linux guest did not serve $1"
  else echo "no result"; fi
}
# row LABEL MEASURE UNIT APP -> one row of the figures table: medians, ranges and the ratio
row() {
  local label=$1 m=$2 unit=$3 app=$4 l n r lshow nshow
  l=$(med linux "$m"); n=$(med nimbus "$m"); r=$(ratio "$n" "$l")
  unit=${unit:+ $unit}
  lshow="$l$([ "$l" != - ] && echo "$unit$(range linux "$m")")"
  nshow="$n$([ "$n" != - ] && echo "$unit$(range nimbus "$m")")"
  [ "$n" = - ] && [ -n "${NOTE[nimbus.$app]:-}" ] && nshow="did not serve"
  [ "$l" = - ] && [ -n "${NOTE[linux.$app]:-}" ] && lshow="did not serve"
  echo "| $label | $lshow | $nshow | $([ "$r" = - ] && echo - || echo "${r}x") |"
}
# target LABEL OP TARGET APP MEASURE... -> one row of the targets table, held by the worst of
# the measures' ratios (all must meet the target)
target() {
  local label=$1 op=$2 t=$3 app=$4 m r shown="" worst="" missing=0
  shift 4
  for m in "$@"; do
    r=$(ratio "$(med nimbus "$m")" "$(med linux "$m")")
    if [ "$r" = - ]; then missing=1; continue; fi
    shown="$shown${shown:+, }${r}x"
    worst=$(awk -v w="$worst" -v r="$r" -v op="$op" 'BEGIN { if (w == "" || (op == ">=" ? r < w : r > w)) print r; else print w }')
  done
  local v
  if [ -z "$worst" ]; then v="not measured ($(why_missing "$app"))"
  elif awk -v r="$worst" -v t="$t" -v op="$op" 'BEGIN { exit !((op == ">=") ? (r >= t) : (r <= t)) }'; then
    v=met; [ $missing = 1 ] && v="met where measured ($(why_missing "$app") for some)"
  else v=missed; fi
  echo "| $label | $op ${t}x | ${shown:--} | $v |"
}
mem_target() {
  local v
  case $MIN_NIMBUS in
    -) v="not measured ($(why_missing redis))" ;;
    ">"*) v="missed (no PONG at ${MIN_NIMBUS#>} MiB)" ;;
    "<="*) v="met" ;;
    *) if [ "$MIN_NIMBUS" -le $TARGET_MEM_MIB ]; then v=met; else v=missed; fi ;;
  esac
  echo "| redis serves in a $TARGET_MEM_MIB MiB VM | <= $TARGET_MEM_MIB MiB | smallest: $MIN_NIMBUS$([ "$MIN_NIMBUS" != - ] && echo ' MiB') | $v |"
}
leak_target() {
  local g c v
  g=$(med nimbus conns_growth); c=$(med nimbus conns_clients)
  if [ "$g" = - ]; then
    v="not measured ($(if [ -n "${NOTE[nimbus.redis]:-}" ]; then why_missing redis; else echo "${NOTE[nimbus.conns]:-no result}"; fi))"
  else
    # QEMU's RSS never shrinks, so growth in the second round is memory the guest touched anew.
    v=$(awk -v g="$g" -v c="$c" 'BEGIN { print (g <= 0.5 && c == 1) ? "met (by QEMU RSS and redis client count; the kernel reports no socket count yet)" : "missed" }')
  fi
  echo "| no leak after $CONNS connections | back to baseline | ${g}$([ "$g" != - ] && echo " MiB RSS growth, $c redis clients after") | $v |"
}

QEMU_VERSION=$(qemu-system-x86_64 --version | head -1 | sed 's/^QEMU emulator version //')
HOST_CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
KVER=$(ls "$LG/kpkg/lib/modules" 2>/dev/null | head -1)

{
  echo "$BEGIN_MARK"
  echo "## Network"
  echo
  echo "Measured by \`nimbus bench net --runs $RUNS$([ $QUICK = 1 ] && echo ' --quick')\` on $(date -u +%Y-%m-%d): host CPU $HOST_CPU ($(nproc) cores,"
  echo "shared; load average $START_LOAD at the start, $END_LOAD at the end), QEMU $QEMU_VERSION,"
  echo "TCG with \`-cpu max\`, \`-smp 1\`, \`-m $MEM\` for both guests, in the same run. The Linux guest is"
  echo "the shared baseline (Debian 12 kernel ${KVER:-?}, microvm, PVH vmlinux, busybox init) with one"
  echo "server per initramfs (\`bench/linux-guest-net/build.sh\`); Nimbus runs the same Debian binaries"
  echo "with \`nimbus run --net tap=tap0 --ip $GUEST_IP/24 --gateway $HOST_IP\`. Each guest is"
  echo "attached to \`tap0\` in a private network namespace that the script creates and deletes; the load"
  echo "generators run on the host inside that namespace ($HOST_IP)."
  if [ -n "${NIMBUS_BIN:-}" ]; then
    echo
    # NIMBUS_BIN_NOTE: what that nimbus is, when its commit alone does not say
    nimbus_src=${NIMBUS_BIN_NOTE:-$(cd "$(dirname "$NIMBUS_BIN")/.." 2>/dev/null && git log -1 --format='commit %h, %s' 2>/dev/null)}
    echo "**The Nimbus column was measured with NIMBUS_BIN=$NIMBUS_BIN, not with this build's"
    echo "nimbus**${nimbus_src:+ ($nimbus_src)}."
  fi
  echo
  echo "Loads: \`redis-benchmark -c 50 -t set|get\` with \`-P 1 -n $REDIS_N\` and \`-P 16 -n $((10 * REDIS_N))\`; \`wrk -t 2 -c 50 -d ${LOAD_S}s --latency\`"
  echo "on a 612-byte \`index.html\` and \`-c 10\` on a 1 MiB file (nginx-light, one process:"
  echo "\`master_process off; daemon off;\`, \`sendfile off\`); \`memaslap -T 2 -c 50 -t ${LOAD_S}s\` (Debian's"
  echo "\`memcaslap\`, default mix of 90 % get / 10 % set); \`iperf3 -t $IPERF_S\`, up = host to guest, down ="
  echo "\`-R\`. Latencies are those reported by redis-benchmark and wrk (whole request, client side)."
  echo
  echo "| target (issue 7) | | Nimbus / Linux guest | |"
  echo "| --- | --- | --- | --- |"
  target "redis GET and SET, -P 1 and -P 16, requests/s" ">=" $TARGET_REDIS redis redis_set_p1 redis_get_p1 redis_set_p16 redis_get_p16
  target "nginx, 612-byte page, requests/s" ">=" $TARGET_NGINX_SMALL nginx nginx_small
  target "nginx, 1 MiB file, requests/s" ">=" $TARGET_BULK nginx nginx_1m
  target "iperf3 TCP, both directions" ">=" $TARGET_BULK iperf3 iperf_up iperf_down
  target "p99 latency at -P 1 (redis GET, SET)" "<=" $TARGET_P99 redis redis_get_p1_p99 redis_set_p1_p99
  mem_target
  leak_target
  echo
  echo "Figures: medians of $RUNS run(s), the range over the runs in brackets. Throughput and latency"
  echo "under TCG on a shared 2-core machine are noisy: an A/A check on 2026-12-07 (\`NIMBUS_BIN\` set"
  echo "to a test double that boots the Linux guest, so both columns ran the same guest, \`--quick\`,"
  echo "load average 6-8) gave single-run ratios from 0.67x to 2.2x. Ratios far from the targets mean"
  echo "something; a ratio near one needs more runs at low load. Memory figures repeat to 1 %;"
  echo "instructions per request moved by up to 15 % between runs of the same guest."
  echo
  echo "| measure | Linux guest | Nimbus | Nimbus / Linux |"
  echo "| --- | --- | --- | --- |"
  row "redis SET, -P 1" redis_set_p1 req/s redis
  row "redis GET, -P 1" redis_get_p1 req/s redis
  row "redis SET, -P 16" redis_set_p16 req/s redis
  row "redis GET, -P 16" redis_get_p16 req/s redis
  row "redis GET -P 1, p50 latency" redis_get_p1_p50 ms redis
  row "redis GET -P 1, p99 latency" redis_get_p1_p99 ms redis
  row "redis SET -P 1, p50 latency" redis_set_p1_p50 ms redis
  row "redis SET -P 1, p99 latency" redis_set_p1_p99 ms redis
  row "nginx 612-byte page" nginx_small req/s nginx
  row "nginx 612-byte page, p50 latency" nginx_small_p50 ms nginx
  row "nginx 612-byte page, p99 latency" nginx_small_p99 ms nginx
  row "nginx 1 MiB file" nginx_1m req/s nginx
  row "nginx 1 MiB file, throughput" nginx_1m_mbs MiB/s nginx
  row "memcached (memaslap), get/set" memcached_tps ops/s memcached
  row "iperf3 TCP, host to guest" iperf_up Mbit/s iperf3
  row "iperf3 TCP, guest to host" iperf_down Mbit/s iperf3
  row "QEMU start to first answer, redis" ready_redis s redis
  row "QEMU VmRSS at rest, redis" rss_rest_redis MiB redis
  row "QEMU VmRSS under load (max), redis" rss_load_redis MiB redis
  row "QEMU VmRSS at rest, nginx" rss_rest_nginx MiB nginx
  row "QEMU VmRSS under load (max), nginx" rss_load_nginx MiB nginx
  row "QEMU VmRSS at rest, memcached" rss_rest_memcached MiB memcached
  row "QEMU VmRSS under load (max), memcached" rss_load_memcached MiB memcached
  row "guest instructions per GET, 1 client, -P 1" insn_get_c1p1 "" redis
  row "guest instructions per GET, 50 clients, -P 16" insn_get_c50p16 "" redis
  row "guest instructions per second, idle (redis)" insn_idle_per_s "" redis
  echo "| smallest \`--memory\` that serves redis (PONG) | $MIN_LINUX$([ "$MIN_LINUX" != - ] && echo ' MiB') | $MIN_NIMBUS$([ "$MIN_NIMBUS" != - ] && echo ' MiB') | |"
  echo "| $CONNS connections, twice: RSS growth in the 2nd round | $(med linux conns_growth) MiB | $(med nimbus conns_growth)$([ "$(med nimbus conns_growth)" != - ] && echo ' MiB') | |"
  echo "| ... redis connected_clients afterwards (1 = the query itself) | $(med linux conns_clients) | $(med nimbus conns_clients) | |"
  echo
  echo "Guest memory is QEMU's resident set (VmRSS), which counts the guest pages the guest has touched"
  echo "plus QEMU itself, sampled every 0.2 s during the loads; the Nimbus kernel prints no memory figure"
  echo "of its own yet. The smallest memory is a bisection over \`-m\` (Linux guest, 8 MiB steps from 48 to"
  echo "256 MiB) and \`--memory\` (Nimbus, 1 MiB steps from 4 to 256 MiB), one boot per size, each"
  echo "tested with \`redis-cli ping\` (60 s limit). The connection test runs \`redis-benchmark -c 50 -k 0"
  echo "-n $CONNS -t ping_inline\` (a new TCP connection per request) twice in one guest: growth of the"
  echo "resident set in the second round is memory the guest did not reuse."
  echo
  echo "Instructions per request: each guest runs redis under TCG with a small QEMU plugin,"
  echo "\`bench/insn_count/insn_count.c\` (for Nimbus through \`nimbus run --qemu\` and a wrapper that adds"
  echo "\`-plugin\`), which counts every guest instruction QEMU executes and reports the running total on"
  echo "request. The figure is (count after - count before) / $ICOUNT_N around \`redis-benchmark -n $ICOUNT_N"
  echo "-t get\`, with one client and no pipelining (one request at a time: the whole cost of a request)"
  echo "and with 50 clients and 16 pipelined (where the guest batches requests per wake-up, so the"
  echo "figure moves with the load): everything the guest executes for a request, in the driver, the"
  echo "network stack, the system calls and redis, plus the timer interrupts that fall in the run (the"
  echo "idle row gives their rate). This replaces the guest-TSC method of \`--icount\` / \`ICOUNT=1\` (\`-icount"
  echo "shift=0,sleep=off\`) used for boot and ABI: a network server spends most of its time waiting for"
  echo "the client, and under \`sleep=off\` the virtual clock jumps to the next timer at every idle"
  echo "moment, so a TSC delta counts waiting as well as instructions, and the Linux guest, its timers"
  echo "racing, ran about 33 million instructions per idle second that way. The plugin counts the same"
  echo "instructions with or without \`-icount\`, so it runs without."
  echo
  if [ ${#RESTARTS[@]} != 0 ]; then
    echo "Guests restarted in this run (a guest that stops answering during a load is booted again and"
    echo "the load repeated once; its other figures stand):"
    for r in "${RESTARTS[@]}"; do echo "- $r"; done
    echo
  fi
  echo "Not served in this run:"
  for k in "${!NOTE[@]}"; do echo "- ${k/./ }: ${NOTE[$k]}"; done | sort
  [ ${#NOTE[@]} = 0 ] && echo "- nothing: both guests served every program."
  echo "$END_MARK"
} > "$WORK/section.md"

cat "$WORK/section.md"
if [ $QUICK = 1 ] || [ "$APPS" != "$ALL_APPS" ]; then
  echo "net.sh: $([ $QUICK = 1 ] && echo "--quick" || echo "NET_APPS=$APPS"), $DOC left as it is" >&2
  exit 0
fi
mkdir -p "$(dirname "$DOC")"
[ -e "$DOC" ] || printf '# Nimbus benchmarks\n\nWritten by the drivers in `bench/` (run them with `nimbus bench ...`); each\nsection is replaced as a whole by its driver.\n' > "$DOC"
if grep -qF "$BEGIN_MARK" "$DOC" && grep -qF "$END_MARK" "$DOC"; then
  awk -v begin="$BEGIN_MARK" -v end="$END_MARK" -v section="$WORK/section.md" '
    $0 == begin { while ((getline line < section) > 0) print line; skipping = 1; next }
    $0 == end { skipping = 0; next }
    !skipping' "$DOC" > "$WORK/doc.md"
else
  { cat "$DOC"; echo; cat "$WORK/section.md"; } > "$WORK/doc.md"
fi
cp "$WORK/doc.md" "$DOC"
echo "net.sh: updated $DOC" >&2
