// DeviceRegistry: which FileOps serve which character device number (major, minor).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "kernel/fs/file.h"
#include "kernel/lib/result.h"
#include "kernel/sync/mutex.h"

namespace nimbus::fs {

// Opening a character device node (whatever file system it is on) looks its rdev up here;
// a number nobody registered is ENXIO, as on Linux. Registrations are only ever added, so
// lookups take no lock.
class DeviceRegistry {
 public:
  static constexpr size_t kMaxDevices = 32;

  // EEXIST if the number is taken, ENOSPC when the table is full. `ops` must outlive the
  // registry.
  Result<> add(uint32_t major, uint32_t minor, FileOps& ops);
  FileOps* find(uint32_t major, uint32_t minor) const;

 private:
  struct Device {
    uint32_t major;
    uint32_t minor;
    FileOps* ops;
  };
  Mutex m_lock;  // serializes add()
  std::array<Device, kMaxDevices> m_devices{};
  std::atomic<size_t> m_count{0};
};

}  // namespace nimbus::fs
