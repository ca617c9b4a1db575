// Devfs: registering the devices and creating /dev's nodes.
#include "kernel/fs/devfs.h"

namespace nimbus::fs {

using namespace device_numbers;

Result<> Devfs::populate(Vnode& directory, DeviceRegistry& registry) {
  struct Node {
    const char* name;
    uint32_t major;
    uint32_t minor;
    uint32_t permissions;
    FileOps* ops;
  };
  const Node nodes[] = {
      {"null", kMemMajor, kNullMinor, 0666, &m_null},
      {"zero", kMemMajor, kZeroMinor, 0666, &m_zero},
      {"full", kMemMajor, kFullMinor, 0666, &m_full},
      {"random", kMemMajor, kRandomMinor, 0666, &m_random},
      {"urandom", kMemMajor, kUrandomMinor, 0666, &m_random},
      {"tty", kTtyMajor, kTtyMinor, 0666, &m_tty},
      {"console", kTtyMajor, kConsoleMinor, 0600, &m_tty},
  };
  for (const Node& node : nodes) {
    TRY(registry.add(node.major, node.minor, *node.ops));
    NewNode special{VnodeType::character_device, node.permissions};
    special.rdev_major = node.major;
    special.rdev_minor = node.minor;
    TRY(directory.create(node.name, special));
  }
  const char* const links[][2] = {
      {"stdin", "/proc/self/fd/0"},
      {"stdout", "/proc/self/fd/1"},
      {"stderr", "/proc/self/fd/2"},
      {"fd", "/proc/self/fd"},
  };
  for (const auto& link : links) TRY(directory.symlink(link[0], link[1], 0, 0));
  TRY(directory.create("shm", NewNode{VnodeType::directory, 01777}));
  TRY(directory.create("pts", NewNode{VnodeType::directory, 0755}));
  return {};
}

}  // namespace nimbus::fs
