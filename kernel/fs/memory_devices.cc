// The memory devices' reads and writes.
#include "kernel/fs/memory_devices.h"

#include <cstring>

namespace nimbus::fs {

Result<size_t> ZeroDevice::read(File&, std::span<std::byte> buffer, IoFlags) {
  memset(buffer.data(), 0, buffer.size());
  return buffer.size();
}

Result<size_t> FullDevice::read(File&, std::span<std::byte> buffer, IoFlags) {
  memset(buffer.data(), 0, buffer.size());
  return buffer.size();
}

Result<size_t> RandomDevice::read(File&, std::span<std::byte> buffer, IoFlags) {
  m_source.fill(buffer);
  return buffer.size();
}

Result<size_t> RandomDevice::write(File&, std::span<const std::byte> data, IoFlags) {
  m_source.add_entropy(data);
  return data.size();
}

}  // namespace nimbus::fs
