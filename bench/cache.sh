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

# Debian's interpreters, with the libraries they load at run time packed explicitly.
PY_VERSION=$(/usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
PYTHON=(--add "/usr/lib/python$PY_VERSION" /usr/bin/python3 -c pass)
PERL=(--add /usr/share/perl --add /usr/lib/x86_64-linux-gnu/perl
      --add /usr/lib/x86_64-linux-gnu/perl-base /usr/bin/perl -e 1)
RUN=(run --accel tcg --memory 512M)

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

# Storage: python3 and perl images in one cache.
"$NIMBUS" cache clear > /dev/null
# (perl warns on stderr that C.UTF-8 is not packed: not this benchmark's business)
"$NIMBUS" "${RUN[@]}" "${PYTHON[@]}" > /dev/null
"$NIMBUS" "${RUN[@]}" "${PERL[@]}" > /dev/null 2>&1
"$NIMBUS" "${RUN[@]}" /bin/true > /dev/null
IMAGES=$XDG_CACHE_HOME/nimbus/images
APPARENT=$(find "$IMAGES" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
STORED=$(find "$XDG_CACHE_HOME/nimbus" -path "*/images/*" -type f -printf '%i %s\n' | sort -u | awk '{ s += $2 } END { print s }')
# What sharing each packed file (not only whole kernels and archives) would save on top.
OVERLAP=$(/usr/bin/python3 - "$IMAGES" <<'PYTHON'
import hashlib, os, sys
def files(archive):
    data, at, found = open(archive, "rb").read(), 0, {}
    while at + 110 <= len(data):
        if data[at:at + 6] != b"070701":
            at += 1
            continue
        fields = [int(data[at + 6 + 8 * i: at + 14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = fields[1], fields[6], fields[11]
        name_end = at + 110 + namesize
        start = (name_end + 3) & ~3
        if data[at + 110:name_end - 1] == b"TRAILER!!!":
            break
        if mode & 0o170000 == 0o100000:
            found[hashlib.sha256(data[start:start + size]).hexdigest()] = size
        at = (start + size + 3) & ~3
    return found
archives = [files(os.path.join(sys.argv[1], d, "initrd.cpio")) for d in sorted(os.listdir(sys.argv[1]))]
seen, duplicate = set(), 0
for archive in archives:
    for digest, size in archive.items():
        if digest in seen:
            duplicate += size
        seen.add(digest)
print(duplicate)
PYTHON
)
LISTING=$("$NIMBUS" cache ls | sed -e 's/ in \/.*$//' -e 's/^/    /')

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

**Storage.** python3, perl and true images in one cache: their files add up to $(mib "$APPARENT"),
the cache stores $(mib "$STORED") because every image hard-links one copy of the kernel from the
content store (\`store/<sha256>\`). Files packed in more than one image (libc and the other
common libraries) add up to a further $(mib "$OVERLAP") that is still stored once per image: an
image's initrd is one cpio archive, which QEMU loads from a single file.

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
