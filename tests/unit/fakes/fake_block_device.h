// FakeBlockDevice: a block::BlockDevice over bytes in memory that completes each request
// before submit() returns; counts requests and can be told to fail reads.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include "kernel/block/block_device.h"

namespace nimbus::testing {

class FakeBlockDevice final : public block::BlockDevice {
 public:
  explicit FakeBlockDevice(std::vector<std::byte> bytes, bool read_only = true) : m_bytes(std::move(bytes)) {
    m_info.sector_count = m_bytes.size() / block::kSectorSize;
    m_info.read_only = read_only;
    m_info.flush = true;
    m_info.max_segments = 8;
  }
  const char* name() const override { return "fake0"; }
  const block::DeviceInfo& info() const override { return m_info; }
  block::DeviceInfo& mutable_info() { return m_info; }

  void submit(block::Request& request) override {
    m_requests++;
    if (auto checked = block::check(m_info, request); !checked) {
      block::complete(request, checked);
      return;
    }
    size_t offset = request.sector * block::kSectorSize;
    switch (request.operation) {
      case block::Operation::read:
        m_reads++;
        if (m_fail_reads) {
          block::complete(request, error(Errno::eio));
          return;
        }
        memcpy(request.buffer, m_bytes.data() + offset, request.byte_count());
        break;
      case block::Operation::write: memcpy(m_bytes.data() + offset, request.buffer, request.byte_count()); break;
      case block::Operation::write_zeroes:
      case block::Operation::discard: memset(m_bytes.data() + offset, 0, request.byte_count()); break;
      case block::Operation::flush: m_flushes++; break;
    }
    block::complete(request, {});
  }

  std::vector<std::byte>& bytes() { return m_bytes; }
  size_t reads() const { return m_reads; }
  size_t requests() const { return m_requests; }
  size_t flushes() const { return m_flushes; }
  void set_fail_reads(bool fail) { m_fail_reads = fail; }

 private:
  std::vector<std::byte> m_bytes;
  block::DeviceInfo m_info;
  size_t m_reads = 0, m_requests = 0, m_flushes = 0;
  bool m_fail_reads = false;
};

}  // namespace nimbus::testing
