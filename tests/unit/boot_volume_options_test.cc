// Tests for the volume=, root= and share= words of the kernel command line.
#include <gtest/gtest.h>

#include "kernel/boot/boot_options.h"

namespace nimbus {
namespace {

TEST(BootVolumeOptions, DevicesDirectoriesInOrder) {
  BootOptions options;
  ASSERT_EQ(parse_boot_options("volume=vda:/data:ro volume=/dev/vdb:/srv/my:dir:ro", options), nullptr);
  ASSERT_EQ(options.volumes().size(), 2u);
  EXPECT_EQ(options.volumes()[0].device, "vda");
  EXPECT_EQ(options.volumes()[0].directory, "/data");
  EXPECT_EQ(options.volumes()[1].device, "vdb");
  EXPECT_EQ(options.volumes()[1].directory, "/srv/my:dir");
  EXPECT_TRUE(options.volumes()[0].read_only);
}

TEST(BootVolumeOptions, WritableVolumesSayRw) {
  BootOptions options;
  ASSERT_EQ(parse_boot_options("volume=vda:/data:rw", options), nullptr);
  ASSERT_EQ(options.volumes().size(), 1u);
  EXPECT_FALSE(options.volumes()[0].read_only);
  EXPECT_EQ(options.volumes()[0].directory, "/data");
  BootOptions without_mode;
  EXPECT_NE(parse_boot_options("volume=vda:/data", without_mode), nullptr);  // the mode is always given
}

TEST(BootVolumeOptions, MalformedWords) {
  for (const char* line : {"volume", "volume=", "volume=vda", "volume=:/data:ro", "volume=vda:data:ro",
                           "volume=vda:/data:xx", "volume=v/da:/data:ro"}) {
    BootOptions options;
    EXPECT_NE(parse_boot_options(line, options), nullptr) << line;
  }
}

TEST(BootVolumeOptions, NvmeDeviceNames) {
  BootOptions options;
  ASSERT_EQ(parse_boot_options("volume=nvme0n1:/data:rw root=nvme1n1", options), nullptr);
  EXPECT_EQ(options.volumes()[0].device, "nvme0n1");
  EXPECT_EQ(options.root_device, "nvme1n1");
}

TEST(BootVolumeOptions, SharesByMountTag) {
  BootOptions options;
  ASSERT_EQ(parse_boot_options("share=nimbus-share0:/src:rw share=nimbus-share1:/ro:dir:ro", options), nullptr);
  ASSERT_EQ(options.shares().size(), 2u);
  EXPECT_EQ(options.shares()[0].device, "nimbus-share0");
  EXPECT_EQ(options.shares()[0].directory, "/src");
  EXPECT_FALSE(options.shares()[0].read_only);
  EXPECT_EQ(options.shares()[1].directory, "/ro:dir");
  EXPECT_TRUE(options.shares()[1].read_only);
  for (const char* line : {"share", "share=tag", "share=tag:/x", "share=:/x:rw", "share=t/g:/x:rw", "share=tag:x:rw"}) {
    BootOptions bad;
    EXPECT_NE(parse_boot_options(line, bad), nullptr) << line;
  }
}

}  // namespace
}  // namespace nimbus
