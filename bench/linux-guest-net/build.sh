#!/bin/bash
# build.sh - Linux-guest initramfs images for the network benchmark (bench/net.sh): redis, nginx,
# memcached and iperf3, each the guest's only application, on the Debian kernel and busybox that
# the shared baseline (../shared/bench/linux-guest/setup.sh) unpacks into /tmp/linux-guest.
#
# usage: build.sh
#   LG   the shared baseline's artefacts (default /tmp/linux-guest; setup.sh runs if missing)
#   OUT  where the images go (default /tmp/linux-guest-net)
# The init script brings eth0 up from "lg.ip=" / "lg.gw=" on the kernel command line (the same
# convention as the shared redis image), prints APP-STARTING and execs /app, so every image
# differs only in its application. Needs root (mknod) and apt (the Debian packages below).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
LINUX_GUEST=${NIMBUS_LINUX_GUEST:-$SRC/../shared/bench/linux-guest}   # net.sh passes its own
LG=${LG:-/tmp/linux-guest}
OUT=${OUT:-/tmp/linux-guest-net}
export DEBIAN_FRONTEND=noninteractive

# The server programs come from Debian, like the rest of the baseline. The policy-rc.d shipped on
# these machines (or none, without systemd) keeps apt from starting them on the host.
need=""
for p in nginx-light redis-tools memcached iperf3 cpio; do dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"; done
if [ -n "$need" ]; then
  apt-get update -q >&2 && apt-get install -y --no-install-recommends $need >&2
fi
if [ ! -f "$LG/vmlinux" ] || [ ! -x "$LG/bb/bin/busybox" ]; then
  (cd "$LINUX_GUEST" && ./setup.sh >&2)
fi
KVER=$(ls "$LG/kpkg/lib/modules" | head -1)
MODDIR="$LG/kpkg/lib/modules/$KVER"
mkdir -p "$OUT"

# mkroot DIR: busybox, device nodes, virtio modules in load order, passwd/group (nginx and
# memcached look users up when started as root), the network-up init.
mkroot() {
  local R=$1 a m f
  rm -rf "$R"; mkdir -p "$R"/{bin,sbin,dev,proc,sys,tmp,etc,lib/modules,lib64,usr/bin,usr/sbin,data,run}
  cp "$LG/bb/bin/busybox" "$R/bin/busybox"
  for a in sh mount echo cat poweroff ip insmod sleep ls free ps; do ln -s busybox "$R/bin/$a"; done
  mknod -m 600 "$R/dev/console" c 5 1
  mknod -m 666 "$R/dev/null" c 1 3
  for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_mmio failover net_failover virtio_net; do
    f=$(find "$MODDIR" -name "$m.ko*" | head -1)
    [ -n "$f" ] || { echo "build.sh: module $m missing in $MODDIR" >&2; exit 1; }
    cp "$f" "$R/lib/modules/"; basename "$f" >> "$R/lib/modules/order"
  done
  printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' > "$R/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$R/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files\n' > "$R/etc/nsswitch.conf"
  cat > "$R/init" <<'EOI'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
for m in $(cat /lib/modules/order); do insmod /lib/modules/$m; done
ip link set lo up
i=0; while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
IP=10.0.2.15/24; GW=10.0.2.2
for a in $(cat /proc/cmdline); do case $a in lg.ip=*) IP=${a#lg.ip=};; lg.gw=*) GW=${a#lg.gw=};; esac; done
ip addr add $IP dev eth0
ip link set eth0 up
ip route add default via $GW
echo "GUEST-NET-UP $IP"
echo "APP-STARTING"
exec /app
EOI
  chmod +x "$R/init"
}

# add_prog ROOT HOSTPATH [GUESTPATH]: a program and the shared libraries it needs.
add_prog() {
  local R=$1 p=$2 g=${3:-$2} lib
  mkdir -p "$R$(dirname "$g")"; cp -L "$p" "$R$g"
  for lib in $(ldd "$p" | awk '/=>/ {print $3} /ld-linux/ {print $1}'); do
    mkdir -p "$R$(dirname "$lib")"; cp -L "$lib" "$R$lib"
  done
}

app() { printf '#!/bin/sh\n%s\n' "$2" > "$1/app"; chmod +x "$1/app"; }

# ---- redis: Debian's redis-server (shipped in redis-tools as redis-check-rdb; argv[0] picks the mode)
R=$OUT/root-redis; mkroot "$R"
add_prog "$R" "$(readlink -f /usr/bin/redis-check-rdb)" /usr/bin/redis-server
cp "$HERE/redis.conf" "$R/etc/redis.conf"
app "$R" 'exec /usr/bin/redis-server /etc/redis.conf'

# ---- the site nginx serves (net.sh packs the same files into Nimbus): a 612-byte index.html, the
# size of nginx's classic welcome page, and a 1 MiB file of repeated text.
mkdir -p "$OUT/site"
{ printf '<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome</title>\n</head>\n<body>\n<p>'
  head -c 1000 /dev/zero | tr '\0' 'n'; } | head -c 591 > "$OUT/site/index.html"
printf '</p>\n</body>\n</html>\n' >> "$OUT/site/index.html"
head -c 1048576 < <(yes "nimbus network benchmark payload") > "$OUT/site/1m.bin"
[ "$(stat -c %s "$OUT/site/index.html")" = 612 ] || { echo "build.sh: index.html is not 612 bytes" >&2; exit 1; }

# ---- nginx (nginx-light), one process: master_process off, daemon off
R=$OUT/root-nginx; mkroot "$R"
add_prog "$R" /usr/sbin/nginx
mkdir -p "$R/etc/nginx" "$R/srv/www" "$R/var/log/nginx" "$R/var/lib/nginx"
cp "$HERE/nginx.conf" "$R/etc/nginx/nginx.conf"
cp -a "$OUT/site/." "$R/srv/www/"
app "$R" 'exec /usr/sbin/nginx -c /etc/nginx/nginx.conf'

# ---- memcached
R=$OUT/root-memcached; mkroot "$R"
add_prog "$R" /usr/bin/memcached
# -l 0.0.0.0: IPv4 only, like the rest of the benchmark (by default memcached also binds :: with
# IPV6_V6ONLY; net.sh gives Nimbus the same arguments)
app "$R" 'exec /usr/bin/memcached -u root -l 0.0.0.0 -p 11211 -U 0 -m 64 -c 1024'

# ---- iperf3 server
R=$OUT/root-iperf3; mkroot "$R"
add_prog "$R" /usr/bin/iperf3
app "$R" 'exec /usr/bin/iperf3 -s -p 5201'

for n in redis nginx memcached iperf3; do
  (cd "$OUT/root-$n" && find . -print0 | cpio --null -o -H newc --quiet) > "$OUT/initrd-$n.cpio"
done
ls -la "$OUT"/initrd-*.cpio >&2
