// NVMe queue entries and the commands this driver sends (NVM Express Base 2.0, 4.2, 4.6,
// 5; NVM Command Set 1.0, 3): the 64-byte submission entry, the 16-byte completion entry,
// opcodes, and the Identify fields read.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nimbus::nvme {

// 4.2: submission queue entry.
struct Command {
  uint32_t dword0;  // opcode 7:0, PSDT 15:14 (0: PRPs), command identifier 31:16
  uint32_t namespace_id;
  uint32_t dword2;
  uint32_t dword3;
  uint64_t metadata;
  uint64_t prp1;
  uint64_t prp2;
  uint32_t dword10, dword11, dword12, dword13, dword14, dword15;
};
static_assert(sizeof(Command) == 64);

// 4.6: completion queue entry.
struct Completion {
  uint32_t result;  // command specific
  uint32_t reserved;
  uint16_t submission_head;
  uint16_t submission_queue;
  uint16_t command_id;
  uint16_t status;  // bit 0: phase tag; 8:1 status code; 11:9 status code type; 15: DNR
  bool failed() const { return (status >> 1) & 0x7ff; }
  uint16_t status_code() const { return static_cast<uint16_t>((status >> 1) & 0x7ff); }
};
static_assert(sizeof(Completion) == 16);

inline uint32_t command_dword0(uint8_t opcode, uint16_t id) { return opcode | uint32_t{id} << 16; }

// 5: admin commands.
namespace admin {
constexpr uint8_t kDeleteSubmissionQueue = 0x00, kCreateSubmissionQueue = 0x01, kDeleteCompletionQueue = 0x04,
                  kCreateCompletionQueue = 0x05, kIdentify = 0x06, kSetFeatures = 0x09;
// 5.17.1: Identify's CNS values.
constexpr uint32_t kIdentifyNamespace = 0x00, kIdentifyController = 0x01;
// 5.27.1.5: Number of Queues.
constexpr uint32_t kFeatureNumberOfQueues = 0x07;
// 5.4/5.5: Create I/O queue flags in dword 11.
constexpr uint32_t kPhysicallyContiguous = 1u << 0, kInterruptsEnabled = 1u << 1;
}  // namespace admin

// NVM Command Set 3: I/O commands.
namespace io {
constexpr uint8_t kFlush = 0x00, kWrite = 0x01, kRead = 0x02, kWriteZeroes = 0x08, kDatasetManagement = 0x09;
constexpr uint32_t kDeallocate = 1u << 2;  // Dataset Management dword 11
// 3.2.3: one Dataset Management range.
struct Range {
  uint32_t attributes;
  uint32_t block_count;
  uint64_t first_block;
};
static_assert(sizeof(Range) == 16);
}  // namespace io

// 5.17.2.1: Identify Controller fields.
namespace identify_controller {
constexpr size_t kSerial = 4, kSerialLength = 20, kModel = 24, kModelLength = 40;
constexpr size_t kMaxTransferShift = 77;     // MDTS: 2^n minimum pages, 0: no limit
constexpr size_t kOptionalCommands = 520;    // ONCS (16 bits)
constexpr size_t kVolatileWriteCache = 525;  // VWC bit 0
constexpr size_t kNamespaceCount = 516;      // NN (32 bits)
constexpr uint16_t kOncsDatasetManagement = 1u << 2;
}  // namespace identify_controller

// NVM Command Set 4.1.5.1: Identify Namespace fields.
namespace identify_namespace {
constexpr size_t kSize = 0;                // NSZE (64 bits), in logical blocks
constexpr size_t kFormattedLbaSize = 26;   // FLBAS: format index in bits 3:0
constexpr size_t kAttributes = 99;         // NSATTR bit 0: write protected
constexpr size_t kLbaFormats = 128;        // 4 bytes each: LBADS in bits 23:16
}  // namespace identify_namespace

}  // namespace nimbus::nvme
