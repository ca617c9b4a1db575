// print_help(): the text of `nimbus --help`.
#include "help.h"

#include <string_view>

namespace {

constexpr std::string_view kHelp = R"(usage: nimbus <command> [options]

Commands:
  run [options] [PROGRAM [ARGS...]]
                         pack PROGRAM (a path, or a name on PATH) with its ELF interpreter and
                         shared libraries, and boot it; the image is built once and cached
  run [options] IMAGE    boot an image made by `nimbus build`
  run [options] [-- kernel args]
                         boot the Nimbus kernel's own job (the self-test)
                         The guest console is this terminal; nimbus exits with the guest's status.
  build [options] PROGRAM [ARGS...] [-o IMAGE]
                         pack PROGRAM, its arguments, libraries and --add files, the kernel and
                         the launch description into one image file (default: PROGRAM.nimbus)
  bench boot [--runs N]  measure boot time against the floor and a Linux guest
                         (default 11 runs) and update docs/benchmarks.md
  bench abi [--runs N]   measure system calls, futexes, threads, page faults and program
                         start against the Linux guest; update docs/benchmarks.md
  bench net [--runs N] [--quick]
                         serve redis, nginx, memcached and iperf3 from Nimbus and from a Linux
                         guest on a tap in a private network namespace (default 3 runs, needs
                         root) and update docs/benchmarks.md; --quick: one short smoke pass
                         that only prints its table
  bench storage [--runs N] [--quick]
                         fio (sequential 1 MiB, random 4 KiB at QD1 and 32 threads, fsync per
                         write), sqlite3 inserts and python3 -c pass on an ext4 volume, in Nimbus
                         and in a Linux guest on the same virtio-blk disks (default 3 runs) and
                         update docs/benchmarks.md; --quick: one short smoke pass, table only
  bench cache [--runs N] time a cached `nimbus run PROGRAM` against `nimbus run IMAGE` and
                         measure what the content store saves; update docs/benchmarks.md
  cache ls               list the cached images: size, bytes shared with other images, last use
  cache prune [--all]    evict least recently used images down to the limit (--all: every
                         image no running nimbus is using)
  cache clear            prune --all, and forget build records and host facts (host.conf)
  cache --limit SIZE     keep the cache within SIZE (4G, 500M, 0; default 4G), stored in the
                         cache; NIMBUS_CACHE_SIZE=SIZE overrides it. The cache is
                         ${XDG_CACHE_HOME:-$HOME/.cache}/nimbus; each run evicts the least
                         recently used images beyond the limit, and images share one copy of
                         identical kernels and archives
  --help                 show this help
  --version              show the version

Options come before PROGRAM; every word after PROGRAM is the program's argument.

Options for run:
  --accel auto|kvm|tcg   accelerator (default auto: KVM only if a probe guest shows it runs
                         ring-0 SSE code at native speed, else TCG; the verdict is cached in
                         ${XDG_CACHE_HOME:-$HOME/.cache}/nimbus/host.conf)
  --memory SIZE          guest memory: 128M, 1G, 16G, or a plain number of MiB (default 128M,
                         or the image's initrd plus 96M when that is more; a size that cannot
                         hold the initrd (/etc and /tmp for images with a root disk) is refused)
  --cpus N               virtual CPUs, 1 to 255 (default 1)
  --machine microvm|q35  microvm (default, virtio-mmio, no firmware) or q35 (PCI, qboot)
  --timeout SECONDS      kill the guest after this long and exit 124 (default 0 = never)
  --verbose              kernel prints its boot log and notices (on stderr); nimbus explains
                         its choices
  --strace[=NAME,...]    print each system call of the program on stderr as strace does
                         (decoded arguments, results, errno names; "[pid N]" once it has
                         threads), apart from its own stderr; with names, only those calls
  --bootchart            kernel prints a boot-time breakdown ("bootchart:" lines)
  --boot-only            kernel exits with status 0 as soon as it has booted
  --icount               count instructions (-icount shift=0): the guest TSC ticks once per
                         instruction; implies TCG and --no-aslr, so counts repeat exactly
  --no-aslr              no address-space layout randomization (kernel word norandmaps, as
                         Linux's): the program, its libraries, stack, heap and vDSO land at
                         the same addresses on every run
  --kernel PATH          kernel (default: nimbus-kernel.elf beside this executable); with an
                         IMAGE, boots this kernel instead of the image's
  --initrd ARCHIVE       boot with this cpio archive as the root file system, as it is (for
                         kernel development; docs/image-format.md describes what it holds)
  --qemu PATH            QEMU binary (default: qemu-system-x86_64 on PATH)
  --kernel-arg WORD      add WORD to the kernel command line (repeatable)
  --kernel-log FILE      write the kernel's whole log (its boot lines and notices such as an
                         unimplemented system call) to FILE instead of stderr
  --dry-run              print the QEMU command line instead of running it (a PROGRAM is
                         still packed, so the command line names real files)
  --volume FILE:GUESTDIR[:ro]
                         attach the ext4 image FILE as a disk (virtio-blk, or NVMe with
                         --disk-bus nvme) and mount it at
                         GUESTDIR, read-write (read-only with :ro); a missing FILE is made
                         (sparse, mke2fs -t ext4); repeatable. Writes reach FILE on fsync, when
                         the cache fills, and when the program ends (no journal yet: a killed
                         VM can leave it needing e2fsck)
  --volume-size SIZE     size of the volumes made for missing FILEs (default 1G)
  --share HOSTDIR:GUESTDIR[:ro]
                         share the host directory HOSTDIR with the program at GUESTDIR through
                         virtio-9p (QEMU's own 9p server, no daemon), read-write (read-only
                         with :ro); reads and writes go to the host files at once, with no
                         guest cache; repeatable. For development, not speed
  --disk-bus virtio|nvme
                         how the volumes and the image's root disk are attached: virtio-blk
                         (default; virtio-mmio on microvm, virtio-pci on q35) or one NVMe
                         controller each (nvme0n1, nvme1n1, ...; as EC2 and GCE give disks),
                         which needs and implies --machine q35
  -- ARGS...             passed verbatim on the kernel command line (e.g. -- test=threads)
  and the packing options below, with a PROGRAM.

Network options (run, and build: an image keeps them as defaults that run's options override):
  -p, --publish [HOSTIP:]HOSTPORT:GUESTPORT[/tcp|/udp]
                         forward a host port to a guest port, as docker run -p (repeatable;
                         default tcp, every host address); implies --net user
  --net user|none|tap=IFNAME
                         user: QEMU user networking (NAT; the guest is 10.0.2.15, gateway
                         10.0.2.2, DNS 10.0.2.3), the default for a PROGRAM or IMAGE so outgoing
                         connections work; none: loopback only (the default for the kernel's
                         own job); tap=IFNAME: an existing tap device (microvm only)
  --ip ADDR/PREFIX       the guest's static address (kernel word ip=); otherwise DHCP (the
                         program starts once leased, or after 5 s without a lease)
  --gateway ADDR         the guest's default gateway (kernel word gateway=)
  --mac MAC              the guest's MAC address (default 52:54:00:12:34:56)

Options for build (and for run with a PROGRAM):
  -o, --output IMAGE     the image file to write (build only)
  --add HOST[:GUEST]     also pack a host file or directory (recursively), at GUEST or at the
                         same path as on the host; ELF files inside bring their libraries
  --env KEY=VALUE        set a guest environment variable (defaults: PATH, HOME=/, and TERM,
                         LANG and LC_* from this host; LANG=C.UTF-8 when it has none)
  --workdir DIR          the program's working directory in the guest (default: see below)
  --argv0 NAME           the program's argv[0] (default: its path)
  --manifest FILE        read the program, arguments and options from FILE (format in
                         docs/image-format.md); the command line adds to it
  --kernel PATH          the kernel to pack
  --kernel-arg WORD      a kernel command-line word kept in the image (build only)
  --no-auto              pack only PROGRAM, its libraries and the --add files (none of the
                         below), and start the program in /
  --verbose              list what is packed and why

What comes along without being asked (unless --no-auto; --verbose lists each path and why):
  - a known runtime's module directories, found by reading files (never by running it):
    python3 (standard library, lib-dynload, dist-packages), perl (@INC), ruby ($LOAD_PATH,
    gems), php (php.ini, conf.d, extension_dir), lua (package.path/cpath), node, java
    ($JAVA_HOME/lib and conf, /etc/java-N), and glibc's iconv modules with them;
  - for every program: the locale LANG and LC_* name (C.UTF-8), /etc/nsswitch.conf and the
    modules it names, the CA certificates (/etc/ssl/certs), the time zone TZ names;
  - arguments that name an existing host file or directory (app.py, -c nginx.conf,
    --config=app.toml) as a copy at the same path: what the guest writes stays in the guest.
    Not packed: /, top-level directories (/usr, /home), /proc, /sys, /dev, the guest's own
    /etc/hosts, hostname, resolv.conf, passwd and group, special files,
    directories over 256 MiB (--add them), and paths inside other words (a=b:c/d.txt);
  - the program starts in the current directory when the image holds it (an argument in it
    was packed, or a file below it), else in /, so `nimbus run python3 app.py` finds app.py.
  - a script's "#!/usr/bin/env NAME" line runs NAME from the guest's PATH directly (found
    when the script is packed, so NAME and what it needs come along).

Exit status of run:
  the guest's status (0 ok, 1 self-test failure, 250 kernel panic, 251 out of memory,
  252 bad kernel command line; a program's own exit status), 2 bad usage, 65 IMAGE is
  truncated or corrupt, 66 PROGRAM or a file to pack is missing or cannot run (not an x86-64
  ELF executable or #! script, malformed, a library not found), 124 timeout, 125 QEMU failed,
  the guest stopped without a status, the cache could not be written, a published host port is
  in use or a tap device is missing, 127 QEMU not found,
  128+N killed by signal N
Exit status of build: 0, or 2, 66 and 125 as for run
)";

}  // namespace

void print_help(std::ostream& out) {
  out << kHelp;
}
