// Devfs: the device objects behind /dev, and the nodes that name them.
#pragma once

#include "kernel/fs/console.h"
#include "kernel/fs/device_registry.h"
#include "kernel/fs/memory_devices.h"
#include "kernel/fs/random_source.h"
#include "kernel/fs/tty_device.h"
#include "kernel/fs/vnode.h"
#include "kernel/lib/result.h"

namespace nimbus::fs {

// /dev is a ramfs of its own (so /dev/shm and friends can be created), mounted by the Vfs.
// Its device nodes are ordinary character device nodes; opening one finds its FileOps in
// the DeviceRegistry by number, as mknod'ed nodes elsewhere would.
class Devfs {
 public:
  Devfs(RandomSource& random, Console& console) : m_random(random), m_tty(console) {}

  // Registers the devices and creates, in `directory`:
  //   null zero full random urandom (0666), tty (0666), console (0600),
  //   stdin stdout stderr -> /proc/self/fd/0..2, fd -> /proc/self/fd,
  //   shm/ (1777) and pts/ (0755).
  Result<> populate(Vnode& directory, DeviceRegistry& registry);

 private:
  NullDevice m_null;
  ZeroDevice m_zero;
  FullDevice m_full;
  RandomDevice m_random;
  TtyDevice m_tty;
};

}  // namespace nimbus::fs
