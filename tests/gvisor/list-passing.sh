#!/bin/bash
# list-passing.sh HOST_LOG NIMBUS_LOG...: prints the gtest cases that passed in both runs of one
# gVisor binary (logs of tools/gvisor-conformance/run.sh: $OUT/host/NAME.log and
# $OUT/nimbus/NAME[.N].log), the content of expected/NAME.txt. Make a list from a full run at a
# known commit and say which in the list's first line (# ...).
set -eu
[ $# -ge 2 ] || { echo "usage: $0 HOST_LOG NIMBUS_LOG..." >&2; exit 2; }
passed() { sed -n 's/^\[       OK \] \([^ ]*\).*/\1/p' "$@" | sort -u; }
host=$1; shift
comm -12 <(passed "$host") <(passed "$@")
