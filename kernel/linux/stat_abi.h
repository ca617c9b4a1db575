// The Linux x86-64 layouts of struct stat, struct statx and struct statfs, filled from the
// file layer's Stat and StatFs.
#pragma once

#include <cstdint>

#include "kernel/fs/vnode.h"

namespace nimbus::linux {

struct LinuxStat {
  uint64_t dev;
  uint64_t ino;
  uint64_t nlink;
  uint32_t mode;
  uint32_t uid;
  uint32_t gid;
  uint32_t pad0;
  uint64_t rdev;
  int64_t size;
  int64_t blksize;
  int64_t blocks;
  int64_t atime, atime_nsec;
  int64_t mtime, mtime_nsec;
  int64_t ctime, ctime_nsec;
  int64_t reserved[3];
};
static_assert(sizeof(LinuxStat) == 144);

struct StatxTimestamp {
  int64_t seconds;
  uint32_t nanoseconds;
  int32_t reserved;
};

struct LinuxStatx {
  uint32_t mask;
  uint32_t blksize;
  uint64_t attributes;
  uint32_t nlink;
  uint32_t uid;
  uint32_t gid;
  uint16_t mode;
  uint16_t pad0;
  uint64_t ino;
  uint64_t size;
  uint64_t blocks;
  uint64_t attributes_mask;
  StatxTimestamp atime, btime, ctime, mtime;
  uint32_t rdev_major, rdev_minor;
  uint32_t dev_major, dev_minor;
  uint64_t mnt_id;
  uint32_t dio_mem_align, dio_offset_align;
  uint64_t spare[12];
};
static_assert(sizeof(LinuxStatx) == 256);

struct LinuxStatfs {
  int64_t type;
  int64_t bsize;
  uint64_t blocks;
  uint64_t bfree;
  uint64_t bavail;
  uint64_t files;
  uint64_t ffree;
  int32_t fsid[2];
  int64_t namelen;
  int64_t frsize;
  int64_t flags;
  int64_t spare[4];
};
static_assert(sizeof(LinuxStatfs) == 120);

// new_encode_dev: the dev_t layout glibc's major()/minor() decode.
inline uint64_t encode_device(uint32_t major, uint32_t minor) {
  return (minor & 0xff) | ((major & 0xfff) << 8) | (static_cast<uint64_t>(minor & ~0xffu) << 12) |
         (static_cast<uint64_t>(major & ~0xfffu) << 32);
}

inline LinuxStat to_linux_stat(const fs::Stat& s) {
  constexpr int64_t kBillion = 1'000'000'000;
  LinuxStat out{};
  out.dev = encode_device(s.dev_major, s.dev_minor);
  out.ino = s.ino;
  out.nlink = s.nlink;
  out.mode = s.mode;
  out.uid = s.uid;
  out.gid = s.gid;
  out.rdev = encode_device(s.rdev_major, s.rdev_minor);
  out.size = static_cast<int64_t>(s.size);
  out.blksize = s.block_size;
  out.blocks = static_cast<int64_t>(s.blocks);
  out.atime = s.atime_ns / kBillion;
  out.atime_nsec = s.atime_ns % kBillion;
  out.mtime = s.mtime_ns / kBillion;
  out.mtime_nsec = s.mtime_ns % kBillion;
  out.ctime = s.ctime_ns / kBillion;
  out.ctime_nsec = s.ctime_ns % kBillion;
  return out;
}

inline LinuxStatx to_linux_statx(const fs::Stat& s) {
  constexpr int64_t kBillion = 1'000'000'000;
  auto stamp = [](int64_t ns) {
    return StatxTimestamp{ns / kBillion, static_cast<uint32_t>(ns % kBillion), 0};
  };
  LinuxStatx out{};
  out.mask = 0x7ff | 0x800;  // STATX_BASIC_STATS | STATX_BTIME
  out.blksize = s.block_size;
  out.nlink = s.nlink;
  out.uid = s.uid;
  out.gid = s.gid;
  out.mode = static_cast<uint16_t>(s.mode);
  out.ino = s.ino;
  out.size = s.size;
  out.blocks = s.blocks;
  out.atime = stamp(s.atime_ns);
  out.btime = stamp(s.btime_ns);
  out.ctime = stamp(s.ctime_ns);
  out.mtime = stamp(s.mtime_ns);
  out.rdev_major = s.rdev_major;
  out.rdev_minor = s.rdev_minor;
  out.dev_major = s.dev_major;
  out.dev_minor = s.dev_minor;
  return out;
}

inline LinuxStatfs to_linux_statfs(const fs::StatFs& s) {
  LinuxStatfs out{};
  out.type = static_cast<int64_t>(s.type);
  out.bsize = static_cast<int64_t>(s.block_size);
  out.blocks = s.blocks;
  out.bfree = s.blocks_free;
  out.bavail = s.blocks_available;
  out.files = s.files;
  out.ffree = s.files_free;
  out.fsid[0] = static_cast<int32_t>(s.dev_minor);
  out.namelen = static_cast<int64_t>(s.name_max);
  out.frsize = static_cast<int64_t>(s.block_size);
  out.flags = static_cast<int64_t>(s.flags);
  return out;
}

}  // namespace nimbus::linux
