// Tests for parsing virtio_mmio.device= values and for the boot options that collect them.
#include "kernel/platform/kvm/virtio_mmio_devices.h"

#include <gtest/gtest.h>

#include <string>

#include "kernel/boot/boot_options.h"

namespace nimbus {
namespace {

TEST(VirtioMmioDevice, ParsesQemuMicrovmWords) {
  auto device = parse_virtio_mmio_device("512@0xfeb02e00:47");
  ASSERT_TRUE(device);
  EXPECT_EQ(device->size, 512u);
  EXPECT_EQ(device->base, 0xfeb02e00u);
  EXPECT_EQ(device->irq, 47u);
}

TEST(VirtioMmioDevice, ParsesSizeSuffixesAndThePlatformId) {
  auto firecracker = parse_virtio_mmio_device("4K@0xd0000000:5:2");
  ASSERT_TRUE(firecracker);
  EXPECT_EQ(firecracker->size, 4096u);
  EXPECT_EQ(firecracker->base, 0xd0000000u);
  EXPECT_EQ(firecracker->irq, 5u);
  auto mega = parse_virtio_mmio_device("1M@4096:0");
  ASSERT_TRUE(mega);
  EXPECT_EQ(mega->size, 1u << 20);
  EXPECT_EQ(mega->base, 4096u);
  EXPECT_EQ(parse_virtio_mmio_device("0x200@0xFEB02E00:16")->base, 0xfeb02e00u);
}

TEST(VirtioMmioDevice, RejectsMalformedValues) {
  for (const char* text : {"", "512", "512@", "512@0x1000", "512@0x1000:", "@0x1000:5", "0@0x1000:5",
                           "512@0x1000:5:", "512@0x1000:5x", "512@0xg:5", "512 @0x1000:5", "512@0x1000:4294967296",
                           "99999999999999999999@0:1", "17179869184G@0:1"}) {
    EXPECT_FALSE(parse_virtio_mmio_device(text)) << text;
  }
}

TEST(BootOptions, CollectVirtioMmioDevicesInOrder) {
  BootOptions options;
  ASSERT_EQ(parse_boot_options("verbose virtio_mmio.device=512@0xfeb00000:16 virtio_mmio.device=4K@0xd0000000:5",
                               options),
            nullptr);
  ASSERT_EQ(options.virtio_mmio().size(), 2u);
  EXPECT_EQ(options.virtio_mmio()[0].base, 0xfeb00000u);
  EXPECT_EQ(options.virtio_mmio()[1].irq, 5u);
  EXPECT_TRUE(options.verbose);
}

TEST(BootOptions, RejectBadOrTooManyVirtioMmioDevices) {
  BootOptions bad;
  EXPECT_NE(parse_boot_options("virtio_mmio.device=512@0xfeb00000", bad), nullptr);
  BootOptions flag;
  EXPECT_NE(parse_boot_options("virtio_mmio.device", flag), nullptr);
  std::string many;
  for (size_t i = 0; i <= BootOptions::kMaxVirtioMmioDevices; i++) many += " virtio_mmio.device=512@4096:5";
  BootOptions too_many;
  EXPECT_NE(parse_boot_options(many.c_str(), too_many), nullptr);
}

}  // namespace
}  // namespace nimbus
