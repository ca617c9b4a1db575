// DeviceRegistry: an append-only table.
#include "kernel/fs/device_registry.h"

namespace nimbus::fs {

Result<> DeviceRegistry::add(uint32_t major, uint32_t minor, FileOps& ops) {
  MutexGuard guard(m_lock);
  size_t count = m_count.load(std::memory_order_relaxed);
  if (find(major, minor)) return error(Errno::eexist);
  if (count == kMaxDevices) return error(Errno::enospc);
  m_devices[count] = Device{major, minor, &ops};
  m_count.store(count + 1, std::memory_order_release);
  return {};
}

FileOps* DeviceRegistry::find(uint32_t major, uint32_t minor) const {
  size_t count = m_count.load(std::memory_order_acquire);
  for (size_t i = 0; i < count; i++) {
    if (m_devices[i].major == major && m_devices[i].minor == minor) return m_devices[i].ops;
  }
  return nullptr;
}

}  // namespace nimbus::fs
