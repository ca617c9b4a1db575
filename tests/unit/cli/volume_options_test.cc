// Tests for `nimbus run --volume`: parsing, and the QEMU arguments and kernel words it becomes.
#include <gtest/gtest.h>

#include "volume_options.h"

namespace {

TEST(VolumeOptions, ParsesFileAndGuestDirectory) {
  auto volume = parse_volume_option("data.img:/data:ro");
  ASSERT_TRUE(volume);
  EXPECT_EQ(volume->file, "data.img");
  EXPECT_EQ(volume->guest_dir, "/data");
  auto colons = parse_volume_option("/tmp/a:b.img:/srv:ro");
  ASSERT_TRUE(colons);
  EXPECT_EQ(colons->file, "/tmp/a:b.img");
  EXPECT_EQ(colons->guest_dir, "/srv");
}

TEST(VolumeOptions, WritableVolumesAreRefusedWithTheReason) {
  for (const char* text : {"data.img:/data", "data.img:/data:rw"}) {
    auto volume = parse_volume_option(text);
    ASSERT_FALSE(volume) << text;
    EXPECT_EQ(volume.error().exit_status, 2);
    EXPECT_NE(volume.error().message.find("writing to ext4 is not implemented yet"), std::string::npos) << text;
  }
}

TEST(VolumeOptions, MalformedOnesAreUsageErrors) {
  for (const char* text : {"data.img", ":/data:ro", "data.img:data:ro", "data.img::ro", "data.img:/a b:ro"})
    EXPECT_FALSE(parse_volume_option(text)) << text;
}

TEST(VolumeOptions, QemuArgumentsAndKernelWordsNameTheDisksInOrder) {
  std::vector<VolumeOption> volumes{{"a,b.img", "/one"}, {"c.img", "/two"}};
  std::vector<std::string> mmio = qemu_volume_args(volumes, false);
  ASSERT_EQ(mmio.size(), 8u);
  EXPECT_EQ(mmio[1], "file=a,,b.img,format=raw,if=none,readonly=on,id=nimbus-volume0");
  EXPECT_EQ(mmio[3], "virtio-blk-device,drive=nimbus-volume0");
  EXPECT_EQ(qemu_volume_args(volumes, true)[3], "virtio-blk-pci-non-transitional,romfile=,drive=nimbus-volume0");
  EXPECT_EQ(volume_kernel_words(volumes), (std::vector<std::string>{"volume=vda:/one:ro", "volume=vdb:/two:ro"}));
}

TEST(VolumeOptions, AMissingImageIsAClearError) {
  auto checked = check_volume_file({"/nonexistent/volume.img", "/data"});
  ASSERT_FALSE(checked);
  EXPECT_NE(checked.error().message.find("mke2fs"), std::string::npos);
}

}  // namespace
