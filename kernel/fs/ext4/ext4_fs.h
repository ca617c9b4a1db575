// Ext4Fs: an ext4 volume mounted read-only as a FileSystem, its inodes as Vnodes.
#pragma once

#include <cstdint>

#include "kernel/block/block_device.h"
#include "kernel/fs/ext4/volume.h"
#include "kernel/fs/vnode.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/lib/result.h"

namespace nimbus::fs::ext4 {

class Ext4Fs final : public FileSystem {
 public:
  // Mounts the ext4 file system on `device` read-only. On failure `*problem` says why:
  // EINVAL (not ext4, or inconsistent), EBADMSG (a checksum), EOPNOTSUPP (a feature this
  // implementation does not handle), EIO (the device), ENOMEM.
  static Result<Ext4Fs*> try_mount(block::BlockDevice& device, ClockFunction clock, const char** problem);

  // The kernel never unmounts (file systems live as long as it); tests do, once every vnode
  // but the root is gone.
  ~Ext4Fs() override;

  RefPtr<Vnode> root() override { return m_root; }
  StatFs statfs() override;
  bool read_only() const override { return true; }

  Volume& volume() { return *m_volume; }
  // The vnode of inode `ino` (the root's own object for the root).
  Result<RefPtr<Vnode>> vnode_for(uint32_t ino);

 private:
  Ext4Fs(ClockFunction clock, Volume* volume) : FileSystem(clock), m_volume(volume) {}

  Volume* m_volume;
  RefPtr<Vnode> m_root;
};

}  // namespace nimbus::fs::ext4
