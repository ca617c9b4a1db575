#!/bin/bash
# Runs the gVisor syscall tests built by build.sh (bin/*_test) on the host and
# inside Nimbus, and prints a per-test table and totals.
#
#   ./run.sh [TEST...]          (default: every bin/*_test; TEST without _test)
# Needs: a built Nimbus, python3, util-linux (unshare) and iproute2 (ip).
# Environment:
#   NIMBUS_DIR   Nimbus checkout, the directory runs start from (default: the current directory)
#   GVISOR_BIN   the binaries build.sh made (default ./build/gvisor/bin)
#   NIMBUS       the nimbus CLI (default $NIMBUS_DIR/build/nimbus)
#   OUT          where logs and results go (default ./build/gvisor/results)
#   LIMIT        seconds allowed per run, host and Nimbus alike (default 300)
#   MAX_ATTEMPTS, MAX_TIMEOUTS   resume limits per test in Nimbus (default 100, 4)
#   SKIP_HOST=1  reuse the host logs already in $OUT/host
#   SKIP_NIMBUS=1  host runs only
#   NIMBUS_SKIP  gtest patterns (colon-separated) never run in Nimbus: cases known to hang
#                the VM forever (local addition; they count as host-passing cases that do
#                not pass in Nimbus, listed separately in the report)
#   HOST_PING=1  host runs may open ICMP echo sockets (see below; for ping_socket)
#   DIAG=1       also run each binary once with `nimbus run --verbose` (at most
#                DIAG_LIMIT s, default 60) and list the unimplemented system calls
#                it reached: $OUT/enosys.tsv (count, syscall, tests)
#
# Each binary runs whole, once on the host and once in a Nimbus VM
#   (cd $NIMBUS_DIR && timeout LIMIT nimbus run --memory 256M --timeout LIMIT BIN --gtest_color=no),
# one VM at a time. Per test case, gtest's "[       OK ]" lines decide "passed".
# When a Nimbus run stops before gtest's summary (crash, abort, hang, panic),
# the binary is run again with --gtest_filter skipping every case already
# started, so one fatal case does not hide the rest (logs NAME.2.log, ...; at
# most MAX_ATTEMPTS runs and MAX_TIMEOUTS timeouts per test). The case that was
# running when a run stopped counts as "lost" (listed in $OUT/lost.tsv).
# Nimbus status (of the first run; "+N": N resumed runs followed): ok (all ran,
# none failed), fail (all ran, some failed), crash(RC) (stopped before gtest's
# summary), timeout (124), panic (250: kernel panic), oom (251: the guest ran
# out of memory), stopped (guest stopped without an exit status).
# The headline share is: cases passing in Nimbus / cases passing on the host
# (cases passing in Nimbus but not on the host are not counted).
# Output: the table on stdout, plus $OUT/table.md, $OUT/results.tsv,
# $OUT/lost.tsv and the logs $OUT/{host,nimbus}/NAME[.N].log (last line
# "exit status RC, SECONDS s"). To group the cases that pass on the host but
# not in Nimbus by their first failure:
#   python3 results.py causes $OUT $(cd bin && ls *_test | sed 's/_test$//')
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# The shared runner's results.py does the tables; only this script differs from it.
SHARED=${GVISOR_SHARED:-$HERE/../../../shared/conformance/gvisor}
BIN=${GVISOR_BIN:-$PWD/build/gvisor/bin}
NIMBUS_DIR=${NIMBUS_DIR:-$PWD}
NIMBUS=${NIMBUS:-$NIMBUS_DIR/build/nimbus}
OUT=${OUT:-$PWD/build/gvisor/results}
LIMIT=${LIMIT:-300}
MAX_ATTEMPTS=${MAX_ATTEMPTS:-100}
MAX_TIMEOUTS=${MAX_TIMEOUTS:-4}
DIAG_LIMIT=${DIAG_LIMIT:-60}
mkdir -p "$OUT/host" "$OUT/nimbus" "$OUT/diag"
# On the host the tests run as they are (often as root), so each runs in its own
# PID, mount, UTS, IPC and network namespaces: uname's sethostname, kill's
# kill(-1, ...) and stat's bind mount stay inside, and the socket tests get a
# loopback device with Linux's default ephemeral port range (the machine's own
# range may be narrow enough to run out). A shell stays PID 1 there, so the test
# is an ordinary process (PID 1 would ignore default-action signals).
# HOST_PING=1 (local addition) opens ICMP echo sockets to every group inside that network
# namespace (net.ipv4.ping_group_range, per namespace; Linux's default "1 0" opens them to
# nobody, so ping_socket's cases all skip on the host), as Nimbus does.
HOST_PING_SETUP=':'
[ "${HOST_PING:-0}" = 1 ] && HOST_PING_SETUP='echo "0 2147483647" > /proc/sys/net/ipv4/ping_group_range || exit 125'
ISOLATE=(unshare --pid --fork --mount-proc --uts --ipc --net --propagation private --
  sh -c "ip link set lo up || exit 125; $HOST_PING_SETUP; \"\$@\"; exit \$?" sh)
if ! "${ISOLATE[@]}" true 2>/dev/null; then
  echo "warning: unshare unavailable; host runs are not isolated (uname's test sets the hostname)" >&2
  ISOLATE=()
fi

if [ $# -gt 0 ]; then tests="$*"
else tests=$(cd "$BIN" && ls -- *_test 2>/dev/null | sed 's/_test$//'); fi
[ -n "$tests" ] || { echo "no test binaries in $BIN: run build.sh first"; exit 2; }
[ "${SKIP_NIMBUS:-0}" = 1 ] || [ -x "$NIMBUS" ] || { echo "no nimbus CLI at $NIMBUS"; exit 2; }

nimbus_once() {  # LOG [FILTER]
  local start; start=$(date +%s.%N)
  (cd "$NIMBUS_DIR" && timeout -k 10 $((LIMIT + 30)) "$NIMBUS" run --memory 256M --timeout "$LIMIT" \
    "${PACK[@]}" "$b" --gtest_color=no ${2:+"--gtest_filter=$2"}) >"$1" 2>&1 </dev/null
  local rc=$?
  echo "exit status $rc, $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $start}") s" >>"$1"
}

for t in $tests; do
  b=$BIN/${t}_test
  [ -x "$b" ] || { echo "missing $b" >&2; continue; }
  # exec and sigaltstack run helper programs found beside the test (bin/helpers)
  PACK=(); case $t in exec|sigaltstack) PACK=(--add "$BIN/helpers" --env "RUNFILES_DIR=$BIN/helpers") ;; esac
  if [ "${SKIP_HOST:-0}" != 1 ] || [ ! -s "$OUT/host/$t.log" ]; then
    d=$(mktemp -d /tmp/gvisor-host.XXXXXX)
    start=$(date +%s.%N)
    (cd "$d" && TEST_TMPDIR=$d timeout -k 10 "$LIMIT" "${ISOLATE[@]}" "$b" --gtest_color=no) >"$OUT/host/$t.log" 2>&1 </dev/null
    rc=$?
    echo "exit status $rc, $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $start}") s" >>"$OUT/host/$t.log"
    rm -rf "$d"
  fi
  if [ "${SKIP_NIMBUS:-0}" != 1 ]; then
    rm -f "$OUT/nimbus/$t".[0-9]*.log
    logs=("$OUT/nimbus/$t.log")
    nimbus_once "${logs[0]}" "${NIMBUS_SKIP:+-$NIMBUS_SKIP}"
    timeouts=0
    # Resume after a crash or hang, skipping the cases already started.
    while [ ${#logs[@]} -lt "$MAX_ATTEMPTS" ] && ! grep -q '^\[==========\] .* ran\.' "${logs[-1]}"; do
      grep -q '^exit status 124' "${logs[-1]}" && timeouts=$((timeouts + 1))
      [ $timeouts -lt "$MAX_TIMEOUTS" ] || break
      filter=$(python3 "$SHARED/results.py" resume "${logs[@]}")
      [ -n "$filter" ] || break
      [ -n "${NIMBUS_SKIP:-}" ] && filter="$filter:$NIMBUS_SKIP"
      logs+=("$OUT/nimbus/$t.$((${#logs[@]} + 1)).log")
      nimbus_once "${logs[-1]}" "$filter"
    done
  fi
  if [ "${DIAG:-0}" = 1 ]; then
    # One more run with the kernel's boot log, which names each unimplemented
    # system call the first time it is called.
    (cd "$NIMBUS_DIR" && timeout -k 10 $((DIAG_LIMIT + 30)) "$NIMBUS" run --verbose --memory 256M \
      --timeout "$DIAG_LIMIT" "${PACK[@]}" "$b" --gtest_color=no) 2>&1 </dev/null |
      grep -o 'syscall [0-9]* ([a-z0-9_]*) is not implemented' | sed "s/^/$t\t/" >"$OUT/diag/$t.enosys"
  fi
  echo "$t done" >&2
done
if [ "${DIAG:-0}" = 1 ]; then
  cat "$OUT"/diag/*.enosys | awk -F'\t' '{split($2, w, " "); n[w[3]]++; t[w[3]] = t[w[3]] " " $1}
    END {for (s in n) {k = s; gsub(/[()]/, "", k); print n[s] "\t" k "\t" t[s]}}' | sort -rn >"$OUT/enosys.tsv"
fi

python3 "$SHARED/results.py" table "$OUT" $tests
