#!/bin/bash
# check.sh NAME BIN_DIR NIMBUS: runs gVisor's NAME_test whole in a Nimbus VM and fails unless
# every case listed in expected/NAME.txt passed (cases that pass on a Linux host and passed in
# Nimbus when the list was made; see README.md). A case missing from the run's "[ OK ]" lines,
# a crash, a hang or a kernel panic of the VM all fail the test, and the missing cases are
# printed. Cases not in the list (failing on the host, or known not to pass in Nimbus and named
# in docs/conformance.md) may do anything that does not stop the VM.
set -u
name=$1 bin_dir=$2 nimbus=$3
here=$(cd "$(dirname "$0")" && pwd)
list=$here/expected/$name.txt
limit=${GVISOR_CI_LIMIT:-300}
binary=$bin_dir/${name}_test
[ -x "$binary" ] || { echo "no $binary: GvisorSubset.Build did not build it"; exit 1; }
[ -s "$list" ] || { echo "no expected cases in $list"; exit 1; }

pack=()
case $name in exec|sigaltstack) pack=(--add "$bin_dir/helpers" --env "RUNFILES_DIR=$bin_dir/helpers") ;; esac
log=$(mktemp /tmp/gvisor-ci.XXXXXX)
trap 'rm -f "$log"' EXIT
start=$(date +%s)
timeout -k 10 $((limit + 30)) "$nimbus" run --memory 256M --timeout "$limit" "${pack[@]}" \
  "$binary" --gtest_color=no >"$log" 2>&1 </dev/null
rc=$?
seconds=$(($(date +%s) - start))

expected=$(grep -v -e '^#' -e '^$' "$list" | sort -u)
passed=$(sed -n 's/^\[       OK \] \([^ ]*\).*/\1/p' "$log" | sort -u)
missing=$(comm -23 <(echo "$expected") <(echo "$passed"))
total=$(echo "$expected" | wc -l)
if [ -z "$missing" ]; then
  echo "$name: all $total expected cases passed in Nimbus (VM exit status $rc, ${seconds} s)"
  exit 0
fi
echo "$name: $(echo "$missing" | wc -l) of $total expected cases did not pass in Nimbus (VM exit status $rc, ${seconds} s):"
echo "$missing" | sed 's/^/  /'
echo "--- last lines of the VM's output:"
tail -n 40 "$log"
exit 1
