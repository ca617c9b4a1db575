// Tests of the PCI logic against a fake configuration space: BAR decoding, capability
// walking, MSI-X parsing and messages, enumeration, and the virtio-pci capabilities.
#include <gtest/gtest.h>

#include <vector>

#include "kernel/drivers/pci/enumerate.h"
#include "kernel/drivers/pci/msix.h"
#include "kernel/drivers/pci/pci_function.h"
#include "kernel/drivers/virtio/pci_capabilities.h"
#include "tests/unit/fakes/fake_pci_config.h"

namespace nimbus {
namespace {

using pci::Address;
using pci::BarKind;
using testing::FakePciConfig;

constexpr Address kFunction{0, 1, 0};

// A capability with `id` at `offset` whose next pointer is `next`.
void add_capability(FakePciConfig& config, Address address, uint16_t offset, uint8_t id,
                    uint8_t next) {
  config.set8(address, offset, id);
  config.set8(address, offset + 1, next);
}

void enable_capabilities(FakePciConfig& config, Address address, uint8_t first) {
  config.set16(address, pci::config::kStatus, pci::config::kStatusCapabilities);
  config.set8(address, pci::config::kCapabilitiesPointer, first);
}

TEST(PciBar, DecodesMemoryIoAnd64BitBars) {
  FakePciConfig config;
  config.add(kFunction, 0x1af4, 0x1043);
  config.set16(kFunction, pci::config::kCommand,
               pci::config::kCommandMemory | pci::config::kCommandIo);
  config.set_memory_bar(kFunction, 0, 0xfebf0000, 0x1000, false);
  config.set_io_bar(kFunction, 1, 0xc040, 0x20);
  config.set_memory_bar(kFunction, 2, 0x800000000ull, 0x4000, true, true);
  config.set_unimplemented_bar(kFunction, 4);
  config.set_unimplemented_bar(kFunction, 5);

  pci::Bar memory = pci::decode_bar(config, kFunction, 0);
  EXPECT_EQ(memory.kind, BarKind::memory32);
  EXPECT_EQ(memory.address, 0xfebf0000u);
  EXPECT_EQ(memory.size, 0x1000u);
  EXPECT_FALSE(memory.prefetchable);

  pci::Bar io = pci::decode_bar(config, kFunction, 1);
  EXPECT_EQ(io.kind, BarKind::io);
  EXPECT_EQ(io.address, 0xc040u);
  EXPECT_EQ(io.size, 0x20u);

  pci::Bar wide = pci::decode_bar(config, kFunction, 2);
  EXPECT_EQ(wide.kind, BarKind::memory64);
  EXPECT_EQ(wide.address, 0x800000000ull);
  EXPECT_EQ(wide.size, 0x4000u);
  EXPECT_TRUE(wide.prefetchable);

  EXPECT_EQ(pci::decode_bar(config, kFunction, 3).kind, BarKind::none);  // the upper half of BAR 2
  EXPECT_EQ(pci::decode_bar(config, kFunction, 4).kind, BarKind::none);  // unimplemented
  EXPECT_EQ(pci::decode_bar(config, kFunction, 6).kind, BarKind::none);  // past the header's BARs

  // Sizing left everything as it was, and never with decoding on.
  EXPECT_EQ(config.bars_probed_while_decoding, 0u);
  EXPECT_EQ(config.get16(kFunction, pci::config::kCommand),
            pci::config::kCommandMemory | pci::config::kCommandIo);
  EXPECT_EQ(pci::decode_bar(config, kFunction, 0).address, 0xfebf0000u);
  EXPECT_EQ(pci::decode_bar(config, kFunction, 2).address, 0x800000000ull);
}

TEST(PciBar, UnassignedBarsHaveASizeButNoAddress) {
  FakePciConfig config;
  config.add(kFunction, 0x1af4, 0x1043);
  config.set_memory_bar(kFunction, 4, 0, 0x4000, true, true);  // what qboot leaves
  pci::Bar bar = pci::decode_bar(config, kFunction, 4);
  EXPECT_EQ(bar.kind, BarKind::memory64);
  EXPECT_EQ(bar.address, 0u);
  EXPECT_EQ(bar.size, 0x4000u);
}

TEST(PciBar, A64BitBarInTheLastSlotIsRefused) {
  FakePciConfig config;
  config.add(kFunction, 0x1af4, 0x1043);
  config.set_memory_bar(kFunction, 5, 0xfe000000, 0x1000, false);
  config.set32(kFunction, pci::config::kBar0 + 20, 0xfe000004);  // claims 64 bits with no room
  EXPECT_EQ(pci::decode_bar(config, kFunction, 5).kind, BarKind::none);
}

TEST(PciBar, BridgesHaveTwoBars) {
  FakePciConfig config;
  Address bridge{0, 2, 0};
  config.add(bridge, 0x8086, 0x1234);
  config.set8(bridge, pci::config::kHeaderType, pci::config::kHeaderBridge);
  config.set_memory_bar(bridge, 1, 0xfe000000, 0x1000, false);
  EXPECT_EQ(pci::bar_count(config, bridge), 2u);
  EXPECT_EQ(pci::decode_bar(config, bridge, 1).size, 0x1000u);
  EXPECT_EQ(pci::decode_bar(config, bridge, 2).kind, BarKind::none);  // the bus numbers, not a BAR
}

TEST(PciCapabilities, WalksTheListAndResumesAfterAGivenOne) {
  FakePciConfig config;
  config.add(kFunction, 0x1af4, 0x1043);
  enable_capabilities(config, kFunction, 0x98);
  add_capability(config, kFunction, 0x98, pci::capability::kMsix, 0x84);
  add_capability(config, kFunction, 0x84, pci::capability::kVendor, 0x70);
  add_capability(config, kFunction, 0x70, pci::capability::kVendor, 0x40);
  add_capability(config, kFunction, 0x40, pci::capability::kPciExpress, 0x00);

  EXPECT_EQ(pci::find_capability(config, kFunction, pci::capability::kMsix), 0x98);
  EXPECT_EQ(pci::find_capability(config, kFunction, pci::capability::kVendor), 0x84);
  EXPECT_EQ(pci::find_capability(config, kFunction, pci::capability::kVendor, 0x84), 0x70);
  EXPECT_EQ(pci::find_capability(config, kFunction, pci::capability::kVendor, 0x70), 0);
  EXPECT_EQ(pci::find_capability(config, kFunction, pci::capability::kPciExpress), 0x40);
  EXPECT_EQ(pci::find_capability(config, kFunction, pci::capability::kMsi), 0);
}

TEST(PciCapabilities, NoneWithoutTheStatusBit) {
  FakePciConfig config;
  config.add(kFunction, 0x1af4, 0x1043);
  config.set8(kFunction, pci::config::kCapabilitiesPointer, 0x40);
  add_capability(config, kFunction, 0x40, pci::capability::kMsix, 0);
  EXPECT_EQ(pci::find_capability(config, kFunction, pci::capability::kMsix), 0);
}

TEST(PciCapabilities, MalformedListsEnd) {
  FakePciConfig config;
  config.add(kFunction, 0x1af4, 0x1043);
  enable_capabilities(config, kFunction, 0x40);
  add_capability(config, kFunction, 0x40, pci::capability::kVendor, 0x50);
  add_capability(config, kFunction, 0x50, pci::capability::kVendor, 0x40);  // a loop
  size_t reads_before = config.reads;
  EXPECT_EQ(pci::find_capability(config, kFunction, pci::capability::kMsix), 0);
  EXPECT_LT(config.reads - reads_before, 200u);

  add_capability(config, kFunction, 0x50, pci::capability::kVendor, 0x10);  // into the header
  EXPECT_EQ(pci::find_capability(config, kFunction, pci::capability::kVendor, 0x50), 0);
  enable_capabilities(config, kFunction, 0x3c);
  EXPECT_EQ(pci::find_capability(config, kFunction, pci::capability::kVendor), 0);
}

TEST(Msix, ParsesTheCapabilityAndEnablesIt) {
  FakePciConfig config;
  config.add(kFunction, 0x1af4, 0x1043);
  enable_capabilities(config, kFunction, 0x98);
  add_capability(config, kFunction, 0x98, pci::capability::kMsix, 0);
  config.set16(kFunction, 0x98 + 2, 0x4000 | 10);  // function masked, 11 entries
  config.set32(kFunction, 0x98 + 4, 0x3000 | 4);
  config.set32(kFunction, 0x98 + 8, 0x3800 | 4);
  auto msix = pci::find_msix(config, kFunction);
  ASSERT_TRUE(msix);
  EXPECT_EQ(msix->offset, 0x98);
  EXPECT_EQ(msix->table_size, 11);
  EXPECT_EQ(msix->table_bar, 4);
  EXPECT_EQ(msix->table_offset, 0x3000u);
  EXPECT_EQ(msix->pba_bar, 4);
  EXPECT_EQ(msix->pba_offset, 0x3800u);
  EXPECT_EQ(msix->table_bytes(), 11u * 16);

  pci::enable_msix(config, kFunction, *msix);
  EXPECT_EQ(config.get16(kFunction, 0x98 + 2), 0x8000 | 10);  // enabled, function mask clear
  EXPECT_TRUE(config.get16(kFunction, pci::config::kCommand) &
              pci::config::kCommandInterruptDisable);
  pci::disable_msix(config, kFunction, *msix);
  EXPECT_EQ(config.get16(kFunction, 0x98 + 2), 10);
}

TEST(Msix, RefusesATableInABarThatDoesNotExist) {
  FakePciConfig config;
  config.add(kFunction, 0x1af4, 0x1043);
  enable_capabilities(config, kFunction, 0x40);
  add_capability(config, kFunction, 0x40, pci::capability::kMsix, 0);
  config.set32(kFunction, 0x40 + 4, 0x3000 | 6);
  EXPECT_FALSE(pci::find_msix(config, kFunction));
}

TEST(Msix, MessagesAddressOneLocalApic) {
  EXPECT_EQ(pci::compose_msi_message(0, 0x41), (pci::MsiMessage{0xfee00000, 0x41}));
  EXPECT_EQ(pci::compose_msi_message(3, 0x50), (pci::MsiMessage{0xfee03000, 0x50}));
  EXPECT_EQ(pci::compose_msi_message(255, 0xef), (pci::MsiMessage{0xfeeff000, 0xef}));
  EXPECT_FALSE(pci::compose_msi_message(256, 0x41));  // needs interrupt remapping
}

TEST(Msix, ProgramsAndUnmasksOneEntry) {
  std::vector<uint32_t> table(4 * 4, 0);
  for (size_t entry = 0; entry < 4; entry++) table[entry * 4 + 3] = 1;  // masked at reset
  pci::MsixTable msix(table.data(), 4);
  ASSERT_TRUE(msix.program(2, pci::MsiMessage{0x1fee01000ull, 0x42}));
  EXPECT_EQ(table[8], 0xfee01000u);
  EXPECT_EQ(table[9], 1u);
  EXPECT_EQ(table[10], 0x42u);
  EXPECT_FALSE(msix.masked(2));
  EXPECT_TRUE(msix.masked(1));
  EXPECT_TRUE(msix.mask(2));
  EXPECT_TRUE(msix.masked(2));
  EXPECT_FALSE(msix.program(4, pci::MsiMessage{0xfee00000, 0x42}));  // past the table
  EXPECT_FALSE(msix.mask(4));
}

struct Seen {
  std::vector<pci::Function> functions;
  static void visit(void* context, const pci::Function& function) {
    static_cast<Seen*>(context)->functions.push_back(function);
  }
};

void add_bridge(FakePciConfig& config, Address address, uint8_t secondary) {
  config.add(address, 0x1b36, 0x000c);
  config.set8(address, pci::config::kHeaderType, pci::config::kHeaderBridge);
  config.set8(address, pci::config::kClassCode + 2, 0x06);
  config.set8(address, pci::config::kClassCode + 1, 0x04);
  config.set8(address, pci::config::kSecondaryBus, secondary);
}

TEST(PciEnumeration, FindsFunctionsAndFollowsBridges) {
  FakePciConfig config;
  config.add({0, 0, 0}, 0x8086, 0x29c0);
  config.add({0, 2, 0}, 0x8086, 0x2918);
  config.set8({0, 2, 0}, pci::config::kHeaderType, pci::config::kHeaderMultiFunction);
  config.add({0, 2, 3}, 0x8086, 0x2930);
  config.add({0, 3, 0}, 0x8086, 0x2922);
  config.add({0, 3, 1}, 0x8086, 0x9999);  // function 1 of a single-function device: not looked at
  add_bridge(config, {0, 4, 0}, 1);
  config.add({1, 0, 0}, 0x1af4, 0x1041);
  config.set8({1, 0, 0}, pci::config::kClassCode + 2, 0x02);
  add_bridge(config, {1, 1, 0}, 0);  // unconfigured: not entered
  add_bridge(config, {1, 2, 0}, 1);  // back to its own bus: not entered twice

  Seen seen;
  EXPECT_EQ(pci::enumerate(config, 0, Seen::visit, &seen), 8u);
  std::vector<Address> addresses;
  for (const auto& function : seen.functions) addresses.push_back(function.address);
  std::vector<Address> expected{{0, 0, 0}, {0, 2, 0}, {0, 2, 3}, {0, 3, 0},
                                {0, 4, 0}, {1, 0, 0}, {1, 1, 0}, {1, 2, 0}};
  EXPECT_EQ(addresses, expected);
  EXPECT_EQ(seen.functions[5].vendor_id, 0x1af4);
  EXPECT_EQ(seen.functions[5].device_id, 0x1041);
  EXPECT_EQ(seen.functions[5].class_code, 0x02);
  EXPECT_EQ(seen.functions[4].header_type, pci::config::kHeaderBridge);
}

// QEMU's virtio-pci capabilities: common, ISR, device, notify (multiplier 4), all in BAR 4.
void add_virtio_capability(FakePciConfig& config, uint16_t at, uint8_t next, uint8_t length,
                           uint8_t type, uint8_t bar, uint32_t offset, uint32_t size) {
  add_capability(config, kFunction, at, pci::capability::kVendor, next);
  config.set8(kFunction, at + 2, length);
  config.set8(kFunction, at + 3, type);
  config.set8(kFunction, at + 4, bar);
  config.set32(kFunction, at + 8, offset);
  config.set32(kFunction, at + 12, size);
}

TEST(VirtioPciCapabilities, FindsEachStructureAndTheNotifyMultiplier) {
  FakePciConfig config;
  config.add(kFunction, 0x1af4, 0x1043);
  enable_capabilities(config, kFunction, 0x98);
  add_capability(config, kFunction, 0x98, pci::capability::kMsix, 0x84);
  add_virtio_capability(config, 0x84, 0x74, 20, 2, 4, 0x3000, 0x1000);  // notify
  config.set32(kFunction, 0x84 + 16, 4);
  add_virtio_capability(config, 0x74, 0x64, 16, 4, 4, 0x2000, 0x1000);  // device
  add_virtio_capability(config, 0x64, 0x54, 16, 3, 4, 0x1000, 0x1000);  // ISR
  add_virtio_capability(config, 0x54, 0x44, 16, 1, 7, 0x0000, 0x1000);  // common in no BAR: skipped
  add_virtio_capability(config, 0x44, 0x00, 16, 1, 4, 0x0000, 0x1000);  // common

  virtio::PciLayout layout = virtio::find_virtio_regions(config, kFunction);
  ASSERT_TRUE(layout.common.present);
  EXPECT_EQ(layout.common.bar, 4);
  EXPECT_EQ(layout.common.offset, 0u);
  ASSERT_TRUE(layout.notify.present);
  EXPECT_EQ(layout.notify.offset, 0x3000u);
  EXPECT_EQ(layout.notify_off_multiplier, 4u);
  ASSERT_TRUE(layout.isr.present);
  EXPECT_EQ(layout.isr.offset, 0x1000u);
  ASSERT_TRUE(layout.device.present);
  EXPECT_EQ(layout.device.offset, 0x2000u);
  EXPECT_EQ(layout.device.length, 0x1000u);
}

TEST(VirtioPciCapabilities, SkipsShortAndOverflowingOnesAndKeepsTheFirst) {
  FakePciConfig config;
  config.add(kFunction, 0x1af4, 0x1043);
  enable_capabilities(config, kFunction, 0x40);
  add_virtio_capability(config, 0x40, 0x50, 16, 2, 4, 0x3000,
                        0x1000);  // notify without a multiplier
  add_virtio_capability(config, 0x50, 0x60, 16, 4, 4, 0xfffff000, 0x2000);  // device: wraps around
  add_virtio_capability(config, 0x60, 0x70, 16, 4, 2, 0x100, 0x10);         // device
  add_virtio_capability(config, 0x70, 0x00, 16, 4, 3, 0x200, 0x20);  // a second device one: ignored
  virtio::PciLayout layout = virtio::find_virtio_regions(config, kFunction);
  EXPECT_FALSE(layout.notify.present);
  EXPECT_FALSE(layout.common.present);
  ASSERT_TRUE(layout.device.present);
  EXPECT_EQ(layout.device.bar, 2);
  EXPECT_EQ(layout.device.offset, 0x100u);
}

TEST(VirtioPciCapabilities, DeviceIds) {
  FakePciConfig config;
  config.add(kFunction, 0x1af4, 0x1043);
  EXPECT_EQ(virtio::virtio_pci_device_id(config, kFunction), 3u);
  Address transitional{0, 2, 0};
  config.add(transitional, 0x1af4, 0x1000);
  config.set16(transitional, pci::config::kSubsystemId, 1);
  EXPECT_EQ(virtio::virtio_pci_device_id(config, transitional), 1u);
  Address other{0, 3, 0};
  config.add(other, 0x8086, 0x1043);
  EXPECT_FALSE(virtio::virtio_pci_device_id(config, other));
  Address not_virtio{0, 4, 0};
  config.add(not_virtio, 0x1af4, 0x1110);  // ivshmem
  EXPECT_FALSE(virtio::virtio_pci_device_id(config, not_virtio));
}

}  // namespace
}  // namespace nimbus
