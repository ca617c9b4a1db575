#!/bin/bash
# cache.sh - the CLI's image cache: how fast a second `nimbus run PROGRAM` starts against
# `nimbus run IMAGE` (target: at most 1.2x), and what the content store saves; writes the "CLI"
# section of docs/benchmarks.md.
#
# usage: cache.sh BUILD_DIR [RUNS]        (normally through `nimbus bench cache [--runs N]`)
#
# Everything runs under TCG in a private cache (XDG_CACHE_HOME in a temporary directory). Each
# wall time is the median of RUNS runs of the whole nimbus process, from start to exit.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:?usage: cache.sh BUILD_DIR [RUNS]}" && pwd)
RUNS=${2:-11}
NIMBUS=$BUILD/nimbus
DOC=$SRC/docs/benchmarks.md
BEGIN_MARK='<!-- cli:begin -->'
END_MARK='<!-- cli:end -->'
TARGET_RATIO=1.2

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export XDG_CACHE_HOME=$WORK/cache

# Debian's interpreters, with no option: the runtime table packs what they load.
PYTHON=(/usr/bin/python3 -c pass)
PERL=(/usr/bin/perl -e 1)
RUN=(run --accel tcg)

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Milliseconds of one run of `nimbus ARGS...`, which must succeed.
time_once() {
  local start
  start=$(now_ms)
  "$NIMBUS" "$@" > /dev/null 2> "$WORK/err" || { echo "cache.sh: nimbus $* failed:" >&2; cat "$WORK/err" >&2; exit 1; }
  echo $(( $(now_ms) - start ))
}
# The median over RUNS runs; with "cold", every run starts from an empty image cache.
time_median() {
  local cold=$1
  shift
  for _ in $(seq "$RUNS"); do
    [ "$cold" = cold ] && "$NIMBUS" cache prune --all > /dev/null
    time_once "$@"
  done | median
}

ROWS=""
add_row() {  # NAME ARGS... (ARGS: the program and its packing options)
  local name=$1
  shift
  local image=$WORK/$name.nimbus
  "$NIMBUS" build -o "$image" "$@" > /dev/null
  local image_ms hit_ms cold_ms dry_image_ms dry_hit_ms
  time_once "${RUN[@]}" "$@" > /dev/null  # fills the cache and the host facts
  image_ms=$(time_median warm "${RUN[@]}" "$image")
  hit_ms=$(time_median warm "${RUN[@]}" "$@")
  cold_ms=$(time_median cold "${RUN[@]}" "$@")
  dry_image_ms=$(time_median warm "${RUN[@]}" --dry-run "$image")
  dry_hit_ms=$(time_median warm "${RUN[@]}" --dry-run "$@")
  local ratio verdict
  ratio=$(awk -v a="$hit_ms" -v b="$image_ms" 'BEGIN { printf "%.2f", a / b }')
  verdict=$(awk -v r="$ratio" -v t="$TARGET_RATIO" 'BEGIN { print (r <= t) ? "met" : "missed" }')
  ROWS+="| $name | $(stat -c %s "$image" | numfmt --to=iec) | $image_ms | $hit_ms | $ratio ($verdict) | $cold_ms | $dry_image_ms | $dry_hit_ms |"$'\n'
}

add_row true /bin/true
add_row python3 "${PYTHON[@]}"

# The issue's targets: each runtime's one-liner, with no option, from a scratch directory, prints
# what the host prints (stdout and exit status).
TARGETS=""
mkdir -p "$WORK/scratch"
target_row() {  # the command as a user types it
  local host guest host_status=0 guest_status=0
  host=$(cd "$WORK/scratch" && "$@" 2>&1) || host_status=$?
  guest=$(cd "$WORK/scratch" && "$NIMBUS" run --accel tcg "$@" 2>&1) || guest_status=$?
  local verdict="same"
  if [ "$host" != "$guest" ] || [ "$host_status" != "$guest_status" ]; then
    verdict="differs: $(printf '%s' "$guest" | head -c 120 | tr '\n|' ' /')"
  fi
  TARGETS+="| \`$*\` | $(printf '%s' "$host" | head -n1 | head -c 60 | tr '|' '/') | $verdict |"$'\n'
}
"$NIMBUS" cache clear > /dev/null
for command in "python3 -c print(1)" "perl -e print(1)" "ruby -e p(1)" "php -r echo(1);" \
               "node -e console.log(1)" "java -version"; do
  read -r -a words <<< "$command"
  if command -v "${words[0]}" > /dev/null; then
    target_row "${words[@]}"
  else
    TARGETS+="| \`$command\` | (not installed) | not measured |"$'\n'
  fi
done

# Storage: two Python programs, perl and true in one cache.
"$NIMBUS" cache clear > /dev/null
"$NIMBUS" "${RUN[@]}" "${PYTHON[@]}" > /dev/null
"$NIMBUS" "${RUN[@]}" /usr/bin/python3 -c 'print(2)' > /dev/null
"$NIMBUS" "${RUN[@]}" "${PERL[@]}" > /dev/null 2>&1
"$NIMBUS" "${RUN[@]}" /bin/true > /dev/null
CACHE=$XDG_CACHE_HOME/nimbus
IMAGES=$CACHE/images
# Every file under images/ as if each were its own copy; then each inode once (what is stored).
apparent() { find "$IMAGES" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }
stored() { find "$IMAGES" -type f -printf '%i %s\n' | sort -u | awk '{ s += $2 } END { print s + 0 }'; }
products() { find "$IMAGES" \( -name initrd.cpio -o -name rootfs.ext4 \) -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }
APPARENT=$(apparent)
STORED=$(stored)
PRODUCTS=$(products)
LISTING=$("$NIMBUS" cache ls | sed -e 's/ in \/.*$//' -e 's/^/    /')
# A limit below what is stored: eviction takes the products (packed archives) first.
SQUEEZE=$(( STORED - PRODUCTS + PRODUCTS / 4 ))
"$NIMBUS" cache --limit "$SQUEEZE" > /dev/null
SQUEEZED=$(stored)
SQUEEZED_LISTING=$("$NIMBUS" cache ls | sed -e 's/ in \/.*$//' -e 's/^/    /')
# Both Python images lost their product: the next run packs it again from the cached files.
REPACK_MS=$(time_once "${RUN[@]}" /usr/bin/python3 -c 'print(2)')
"$NIMBUS" cache --limit 4G > /dev/null

# The limit: new images under a 100 MiB limit; after each run the cache may exceed the limit by
# at most the image just added.
LIMIT=$(( 100 * 1048576 ))
"$NIMBUS" cache clear > /dev/null
"$NIMBUS" cache --limit "$LIMIT" > /dev/null
WORST=0
WORST_IMAGE=0
for program in "/usr/bin/python3 -c print(1)" "/usr/bin/perl -e print(1)" "/bin/true" \
               "/usr/bin/python3 -c print(3)" "/bin/echo hi" "/usr/bin/perl -e print(2)"; do
  read -r -a words <<< "$program"
  "$NIMBUS" "${RUN[@]}" "${words[@]}" > /dev/null 2>&1
  total=$(stored)
  newest=$(ls -td "$IMAGES"/*/ | head -1)
  newest_bytes=$(find "$newest" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
  over=$(( total - LIMIT ))
  [ "$over" -gt "$WORST" ] && { WORST=$over; WORST_IMAGE=$newest_bytes; }
  if [ "$over" -gt "$newest_bytes" ]; then
    echo "cache.sh: the cache is $over bytes over its limit after $program, more than its newest image ($newest_bytes)" >&2
    exit 1
  fi
done
"$NIMBUS" cache --limit 4G > /dev/null

mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
SECTION=$(cat <<MARKDOWN
$BEGIN_MARK
## CLI

Measured by \`nimbus bench cache --runs $RUNS\` on $(date -u +%Y-%m-%d): $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
($(nproc) cores), $(qemu-system-x86_64 --version | head -1), TCG. Wall times in ms are medians of
$RUNS runs of the whole \`nimbus\` process. *IMAGE* is \`nimbus run IMAGE\` (a file made by
\`nimbus build\`; it is verified by SHA-256 on every run), *hit* a second \`nimbus run PROGRAM\`
(planned again, then found in the cache), *cold* the first one (packed and stored); the dry-run
columns are the same two without booting, i.e. the CLI's own work. Target: hit <= $TARGET_RATIO x IMAGE.

| program | image | IMAGE | hit | hit / IMAGE | cold | IMAGE dry run | hit dry run |
|---|---|---|---|---|---|---|---|
$ROWS
Every run is \`${RUN[*]}\`; python3 is \`${PYTHON[*]}\`.

**Targets with no option**, from an empty scratch directory (\`nimbus run --accel tcg COMMAND\`
against \`COMMAND\` on the host; stdout, stderr and exit status):

| command | host prints | Nimbus |
|---|---|---|
$TARGETS
**Storage.** Two Python programs (\`python3 -c pass\`, \`python3 -c 'print(2)'\`), perl and true
in one cache: their files add up to $(mib "$APPARENT"), the cache stores $(mib "$STORED"): the
kernel and every packed file are one content-addressed copy (\`store/<sha256>\`) hard-linked into
each image, so the two Python images share their standard library and all four share libc. Of
that, $(mib "$PRODUCTS") are the products, the packed initrds and ext4 disks QEMU boots, each holding its own
copy of its files.

$LISTING

With the limit set below that (\`nimbus cache --limit $(mib "$SQUEEZE" | tr -d ' ')\`), eviction took
the least recently used products first and kept every image's files: the cache stores
$(mib "$SQUEEZED"), and a run of an image whose product was evicted took $REPACK_MS ms (packing
it again from the cached files, then booting), against the hit above.

$SQUEEZED_LISTING

**The limit.** Six new images in turn under a 100 MiB limit: the cache was at most
$(mib "$WORST") over the limit, within the newest image ($(mib "$WORST_IMAGE")), as the rule
says (the run fails otherwise).

$LISTING
$END_MARK
MARKDOWN
)

echo "$SECTION"
if grep -q "$BEGIN_MARK" "$DOC"; then
  python3 - "$DOC" "$BEGIN_MARK" "$END_MARK" "$SECTION" <<'PYTHON'
import sys
path, begin, end, section = sys.argv[1:]
text = open(path).read()
head, rest = text.split(begin, 1)
tail = rest.split(end, 1)[1]
open(path, "w").write(head + section + tail)
PYTHON
else
  printf '\n%s\n' "$SECTION" >> "$DOC"
fi
