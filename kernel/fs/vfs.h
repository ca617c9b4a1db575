// Vfs: the whole file system tree (root ramfs, /dev, mounts, devices, pipes) and Services,
// what it needs from the kernel.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "kernel/fs/console.h"
#include "kernel/fs/cpio.h"
#include "kernel/fs/devfs.h"
#include "kernel/fs/device_registry.h"
#include "kernel/fs/growable_array.h"
#include "kernel/fs/mount_table.h"
#include "kernel/fs/page_allocator.h"
#include "kernel/fs/pipe.h"
#include "kernel/fs/ramfs.h"
#include "kernel/fs/random_source.h"
#include "kernel/fs/vnode.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/lib/result.h"
#include "kernel/sync/mutex.h"

namespace nimbus::fs {

// Everything the file layer takes from outside: in the kernel the heap, the wall clock,
// KernelRandom and the serial/virtio console; in tests, fakes.
struct Services {
  PageAllocator& pages;
  ClockFunction clock;
  RandomSource& random;
  Console& console;
};

class Vfs {
 public:
  explicit Vfs(const Services& services);
  Vfs(const Vfs&) = delete;
  Vfs& operator=(const Vfs&) = delete;

  // Builds the tree: unpacks `initrd` (a cpio newc archive, possibly empty) into the root
  // ramfs, creates /dev /tmp (1777) /proc /sys /etc if missing, and mounts the devfs on
  // /dev. Once, before anything else.
  //
  // With `disk_root` (the root of a read-only file system from a disk), that is the tree's
  // root instead, and what must be writable is mounted over its directories of the same
  // names, which must exist: the devfs on /dev, and the ramfs's /tmp and /etc (the initrd
  // then holds only etc/, copied into RAM so that the boot and the program can write there).
  Result<> init(std::span<const std::byte> initrd, CpioError* cpio_error = nullptr,
                RefPtr<Vnode> disk_root = nullptr);

  // On a disk root, mounts the ramfs's copy of the directory at `path` (absolute; the initrd
  // brought it) over the disk's, so the program can write in its working directory as it
  // could on an initrd root. Nothing without a disk root, or for "/", /tmp and /etc (already
  // RAM) or a directory the initrd does not hold.
  Result<> mount_ram_copy(std::string_view path);

  RefPtr<Vnode> root() { return m_disk_root ? m_disk_root : m_root_fs.root(); }
  MountTable& mounts() { return m_mounts; }
  DeviceRegistry& devices() { return m_devices; }
  PipeFs& pipe_fs() { return m_pipe_fs; }
  RamFs& root_fs() { return m_root_fs; }
  RamFs& dev_fs() { return m_dev_fs; }
  ClockFunction clock() const { return m_clock; }

  // Mounts the file system whose root is `root` on the directory at `path` (absolute, from
  // the tree's root), e.g. a procfs on /proc.
  Result<> mount(std::string_view path, RefPtr<Vnode> root);

  // The pipe behind a named FIFO, shared by everyone who opens it; a FIFO that nobody has
  // open gets a fresh one (its old contents are gone, as on Linux).
  Result<RefPtr<Pipe>> fifo_pipe(Vnode& fifo);

 private:
  ClockFunction m_clock;
  RefPtr<Vnode> m_disk_root;  // set once, by init()
  RamFs m_root_fs;
  RamFs m_dev_fs;
  PipeFs m_pipe_fs;
  MountTable m_mounts;
  DeviceRegistry m_devices;
  Devfs m_devfs;

  struct Fifo {
    const Vnode* vnode;
    RefPtr<Pipe> pipe;
  };
  Mutex m_fifo_lock;
  GrowableArray<Fifo> m_fifos;
};

}  // namespace nimbus::fs
