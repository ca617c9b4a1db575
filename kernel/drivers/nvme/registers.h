// NVMe controller registers (NVM Express Base 2.0, 3.1.3): their offsets in BAR 0, the
// fields of CAP, CC and CSTS used here, and the interface the register logic goes through,
// so the reset and enable sequence runs against a fake controller in host unit tests.
#pragma once

#include <cstdint>

namespace nimbus::nvme {

namespace reg {
constexpr uint32_t kCapabilities = 0x00;         // CAP, 64 bits
constexpr uint32_t kVersion = 0x08;              // VS
constexpr uint32_t kConfiguration = 0x14;        // CC
constexpr uint32_t kStatus = 0x1c;               // CSTS
constexpr uint32_t kAdminQueueAttributes = 0x24; // AQA
constexpr uint32_t kAdminSubmissionQueue = 0x28; // ASQ, 64 bits
constexpr uint32_t kAdminCompletionQueue = 0x30; // ACQ, 64 bits
constexpr uint32_t kDoorbells = 0x1000;
}  // namespace reg

// 3.1.3.1: CAP.
struct Capabilities {
  uint32_t max_queue_entries = 0;  // MQES + 1
  uint32_t timeout_ms = 0;         // TO: the worst time to become ready or not ready
  uint32_t doorbell_stride = 4;    // 4 << DSTRD bytes
  bool nvm_command_set = false;    // CSS bit 0
  uint32_t min_page_shift = 12;    // 12 + MPSMIN
  uint32_t max_page_shift = 12;    // 12 + MPSMAX

  static Capabilities decode(uint64_t cap) {
    Capabilities c;
    c.max_queue_entries = static_cast<uint32_t>(cap & 0xffff) + 1;
    // TO counts 500 ms units; a controller that says 0 still gets one unit.
    uint32_t units = static_cast<uint32_t>((cap >> 24) & 0xff);
    c.timeout_ms = (units ? units : 1) * 500;
    c.doorbell_stride = 4u << ((cap >> 32) & 0xf);
    c.nvm_command_set = (cap >> 37) & 1;
    c.min_page_shift = 12 + static_cast<uint32_t>((cap >> 48) & 0xf);
    c.max_page_shift = 12 + static_cast<uint32_t>((cap >> 52) & 0xf);
    return c;
  }
};

// 3.1.3.5: CC.
namespace cc {
constexpr uint32_t kEnable = 1u << 0;
constexpr uint32_t kCommandSetNvm = 0u << 4;
constexpr uint32_t kPageSize4k = 0u << 7;           // MPS: 2^(12 + 0)
constexpr uint32_t kArbitrationRoundRobin = 0u << 11;
constexpr uint32_t kSubmissionEntry64 = 6u << 16;   // IOSQES: 2^6 bytes
constexpr uint32_t kCompletionEntry16 = 4u << 20;   // IOCQES: 2^4 bytes
}  // namespace cc

// 3.1.3.6: CSTS.
namespace csts {
constexpr uint32_t kReady = 1u << 0;
constexpr uint32_t kFatal = 1u << 1;
}  // namespace csts

class Registers {
 public:
  virtual uint32_t read32(uint32_t offset) = 0;
  virtual void write32(uint32_t offset, uint32_t value) = 0;
  // 64-bit registers as two 32-bit halves, low first (3.1.2: a controller accepts both).
  uint64_t read64(uint32_t offset) { return read32(offset) | uint64_t{read32(offset + 4)} << 32; }
  void write64(uint32_t offset, uint64_t value) {
    write32(offset, static_cast<uint32_t>(value));
    write32(offset + 4, static_cast<uint32_t>(value >> 32));
  }

 protected:
  ~Registers() = default;
};

// Time for the waits of the enable sequence: the monotonic clock and a CPU relax in the
// kernel, a fake that advances on each relax in the tests.
class WaitClock {
 public:
  virtual uint64_t now_ns() = 0;
  virtual void relax() = 0;

 protected:
  ~WaitClock() = default;
};

}  // namespace nimbus::nvme
