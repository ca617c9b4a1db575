// Ext4Fs: an ext4 volume mounted read-only as a FileSystem, its inodes as Vnodes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "kernel/block/block_device.h"
#include "kernel/fs/ext4/volume.h"
#include "kernel/fs/page_cache.h"
#include "kernel/fs/vnode.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/lib/result.h"
#include "kernel/sync/mutex.h"

namespace nimbus::fs::ext4 {

class Ext4Fs final : public FileSystem {
 public:
  // Mounts the ext4 file system on `device` read-only. On failure `*problem` says why:
  // EINVAL (not ext4, or inconsistent), EBADMSG (a checksum), EOPNOTSUPP (a feature this
  // implementation does not handle), EIO (the device), ENOMEM.
  // With `page_cache`, file data is read and mapped through it; without (host tests), reads
  // go through the block cache and files cannot be mapped shared.
  static Result<Ext4Fs*> try_mount(block::BlockDevice& device, ClockFunction clock, const char** problem,
                                   PageCache* page_cache = nullptr);

  // The kernel never unmounts (file systems live as long as it); tests do, once every vnode
  // but the root is gone.
  ~Ext4Fs() override;

  RefPtr<Vnode> root() override { return m_root; }
  StatFs statfs() override;
  bool read_only() const override { return true; }

  Result<> keep_mount_point(const RefPtr<Vnode>& point) override;

  Volume& volume() { return *m_volume; }
  PageCache* page_cache() { return m_page_cache; }
  // The vnode of inode `ino` (the root's own object for the root).
  Result<RefPtr<Vnode>> vnode_for(uint32_t ino);

 private:
  Ext4Fs(ClockFunction clock, Volume* volume, PageCache* page_cache)
      : FileSystem(clock), m_volume(volume), m_page_cache(page_cache) {}

  Volume* m_volume;
  PageCache* m_page_cache;
  RefPtr<Vnode> m_root;
  // Directories something is mounted on: lookups return these objects (others are made afresh).
  static constexpr size_t kMaxMountPoints = 16;
  Mutex m_mount_points_lock;  // guards the two below; taken alone
  std::array<RefPtr<Vnode>, kMaxMountPoints> m_mount_points;
  size_t m_mount_point_count = 0;
};

}  // namespace nimbus::fs::ext4
