// The Linux x86-64 file ABI constants the file layer speaks: open flags, *at flags, mode bits,
// dirent types, fcntl/ioctl numbers, statfs magics (values from include/uapi/ and asm-generic/).
// Lower-case names, as in errno.h, so they never collide with the host libc's macros.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nimbus::fs::linux_abi {

// open(2) flags (asm-generic/fcntl.h; x86-64 uses the generic values).
constexpr uint32_t o_rdonly = 0;
constexpr uint32_t o_wronly = 01;
constexpr uint32_t o_rdwr = 02;
constexpr uint32_t o_accmode = 03;
constexpr uint32_t o_creat = 0100;
constexpr uint32_t o_excl = 0200;
constexpr uint32_t o_noctty = 0400;
constexpr uint32_t o_trunc = 01000;
constexpr uint32_t o_append = 02000;
constexpr uint32_t o_nonblock = 04000;
constexpr uint32_t o_dsync = 010000;
constexpr uint32_t o_async = 020000;
constexpr uint32_t o_direct = 040000;
constexpr uint32_t o_largefile = 0100000;
constexpr uint32_t o_directory = 0200000;
constexpr uint32_t o_nofollow = 0400000;
constexpr uint32_t o_noatime = 01000000;
constexpr uint32_t o_cloexec = 02000000;
constexpr uint32_t o_sync = 04010000;
constexpr uint32_t o_path = 010000000;

// fallocate(2) modes (FALLOC_FL_*).
constexpr uint32_t falloc_keep_size = 0x01;
constexpr uint32_t falloc_punch_hole = 0x02;
constexpr uint32_t falloc_no_hide_stale = 0x04;
constexpr uint32_t falloc_collapse_range = 0x08;
constexpr uint32_t falloc_zero_range = 0x10;
constexpr uint32_t falloc_insert_range = 0x20;
constexpr uint32_t falloc_unshare_range = 0x40;

// setxattr(2) flags, and the limits of names and values (XATTR_NAME_MAX, XATTR_SIZE_MAX,
// XATTR_LIST_MAX).
constexpr uint32_t xattr_create = 1;
constexpr uint32_t xattr_replace = 2;
constexpr size_t xattr_name_max = 255;
constexpr size_t xattr_size_max = 65536;
constexpr size_t xattr_list_max = 65536;
constexpr uint32_t o_tmpfile = 020200000;  // __O_TMPFILE | o_directory

// The flags f_setfl may change (fs/fcntl.c SETFL_MASK).
constexpr uint32_t kSetflMask = o_append | o_nonblock | o_async | o_direct | o_noatime;

// *at(2) flags.
constexpr int at_fdcwd = -100;
constexpr uint32_t at_symlink_nofollow = 0x100;
constexpr uint32_t at_eaccess = 0x200;
constexpr uint32_t at_removedir = 0x200;
constexpr uint32_t at_symlink_follow = 0x400;
constexpr uint32_t at_no_automount = 0x800;
constexpr uint32_t at_empty_path = 0x1000;
constexpr uint32_t at_statx_sync_type = 0x6000;

// access(2) modes.
constexpr uint32_t f_ok = 0;
constexpr uint32_t x_ok = 1;
constexpr uint32_t w_ok = 2;
constexpr uint32_t r_ok = 4;

// st_mode.
constexpr uint32_t s_ifmt = 0170000;
constexpr uint32_t s_ifsock = 0140000;
constexpr uint32_t s_iflnk = 0120000;
constexpr uint32_t s_ifreg = 0100000;
constexpr uint32_t s_ifblk = 0060000;
constexpr uint32_t s_ifdir = 0040000;
constexpr uint32_t s_ifchr = 0020000;
constexpr uint32_t s_ififo = 0010000;
constexpr uint32_t s_isuid = 04000;
constexpr uint32_t s_isgid = 02000;
constexpr uint32_t s_isvtx = 01000;
constexpr uint32_t kPermissionMask = 07777;

// linux_dirent64.d_type.
constexpr uint8_t dt_unknown = 0;
constexpr uint8_t dt_fifo = 1;
constexpr uint8_t dt_chr = 2;
constexpr uint8_t dt_dir = 4;
constexpr uint8_t dt_blk = 6;
constexpr uint8_t dt_reg = 8;
constexpr uint8_t dt_lnk = 10;
constexpr uint8_t dt_sock = 12;

// lseek(2).
constexpr int seek_set = 0;
constexpr int seek_cur = 1;
constexpr int seek_end = 2;
constexpr int seek_data = 3;
constexpr int seek_hole = 4;

// fcntl(2).
constexpr int f_dupfd = 0;
constexpr int f_getfd = 1;
constexpr int f_setfd = 2;
constexpr int f_getfl = 3;
constexpr int f_setfl = 4;
constexpr int f_getlk = 5;
constexpr int f_setlk = 6;
constexpr int f_setlkw = 7;
constexpr int f_setown = 8;
constexpr int f_getown = 9;
constexpr int f_setsig = 10;
constexpr int f_getsig = 11;
constexpr int f_setown_ex = 15;
constexpr int f_getown_ex = 16;
// struct f_owner_ex's type.
constexpr int f_owner_tid = 0;
constexpr int f_owner_pid = 1;
constexpr int f_owner_pgrp = 2;
constexpr int f_dupfd_cloexec = 1030;
constexpr int f_setpipe_sz = 1031;
constexpr int f_getpipe_sz = 1032;
constexpr uint32_t fd_cloexec = 1;

// close_range(2).
constexpr uint32_t close_range_unshare = 1u << 1;
constexpr uint32_t close_range_cloexec = 1u << 2;

// renameat2(2).
constexpr uint32_t rename_noreplace = 1u << 0;
constexpr uint32_t rename_exchange = 1u << 1;
constexpr uint32_t rename_whiteout = 1u << 2;

// utimensat(2) tv_nsec values.
constexpr int64_t utime_now = (1l << 30) - 1;
constexpr int64_t utime_omit = (1l << 30) - 2;

// ioctl(2) requests (asm-generic/ioctls.h).
constexpr uint32_t tcgets = 0x5401;
constexpr uint32_t tcsets = 0x5402;
constexpr uint32_t tcsetsw = 0x5403;
constexpr uint32_t tcsetsf = 0x5404;
constexpr uint32_t tiocsctty = 0x540e;
constexpr uint32_t tiocgpgrp = 0x540f;
constexpr uint32_t tiocspgrp = 0x5410;
constexpr uint32_t tiocgwinsz = 0x5413;
constexpr uint32_t tiocswinsz = 0x5414;
constexpr uint32_t tiocoutq = 0x5411;  // SIOCOUTQ on sockets
constexpr uint32_t siocoutqnsd = 0x894b;
constexpr uint32_t fionread = 0x541b;
constexpr uint32_t fionbio = 0x5421;
constexpr uint32_t fionclex = 0x5450;
constexpr uint32_t fioclex = 0x5451;
constexpr uint32_t fioasync = 0x5452;

// poll(2) events.
constexpr uint32_t pollin = 0x001;
constexpr uint32_t pollpri = 0x002;
constexpr uint32_t pollout = 0x004;
constexpr uint32_t pollerr = 0x008;
constexpr uint32_t pollhup = 0x010;
constexpr uint32_t pollnval = 0x020;
constexpr uint32_t pollrdnorm = 0x040;
constexpr uint32_t pollwrnorm = 0x100;
constexpr uint32_t pollrdband = 0x080;
constexpr uint32_t pollwrband = 0x200;
constexpr uint32_t pollmsg = 0x400;

// statfs(2) f_type values (include/uapi/linux/magic.h).
constexpr uint64_t tmpfs_magic = 0x01021994;
constexpr uint64_t pipefs_magic = 0x50495045;

// Limits.
constexpr size_t path_max = 4096;  // including the terminating NUL
constexpr size_t name_max = 255;
constexpr size_t pipe_buf = 4096;
constexpr int maxsymlinks = 40;

// The kernel's struct termios (asm-generic/termbits.h), what tcgets/tcsets transfer; glibc
// converts it to its own larger struct.
struct Termios {
  uint32_t c_iflag;
  uint32_t c_oflag;
  uint32_t c_cflag;
  uint32_t c_lflag;
  uint8_t c_line;
  uint8_t c_cc[19];
};
static_assert(sizeof(Termios) == 36);

struct Winsize {
  uint16_t ws_row;
  uint16_t ws_col;
  uint16_t ws_xpixel;
  uint16_t ws_ypixel;
};
static_assert(sizeof(Winsize) == 8);

// struct linux_dirent64 as getdents64(2) writes it: d_ino, d_off, d_reclen, d_type, d_name.
constexpr size_t kDirent64NameOffset = 19;
// struct linux_dirent as getdents(2) writes it: d_ino, d_off, d_reclen, d_name, ..., d_type last.
constexpr size_t kDirentNameOffset = 18;

// new_encode_dev(): the 32-bit dev_t layout stat(2) reports.
constexpr uint64_t encode_dev(uint32_t major, uint32_t minor) {
  return (minor & 0xff) | (static_cast<uint64_t>(major & 0xfff) << 8) |
         (static_cast<uint64_t>(minor & ~0xffu) << 12);
}

}  // namespace nimbus::fs::linux_abi
