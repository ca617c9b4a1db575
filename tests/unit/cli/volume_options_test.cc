// Tests for `nimbus run --volume`: parsing, and the QEMU arguments and kernel words it becomes.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "share_options.h"
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

TEST(VolumeOptions, VolumesAreWritableUnlessRo) {
  EXPECT_TRUE(parse_volume_option("data.img:/data:ro")->read_only);
  for (const char* text : {"data.img:/data", "data.img:/data:rw"}) {
    auto volume = parse_volume_option(text);
    ASSERT_TRUE(volume) << text;
    EXPECT_FALSE(volume->read_only) << text;
    EXPECT_EQ(volume->guest_dir, "/data");
  }
}

TEST(VolumeOptions, MalformedOnesAreUsageErrors) {
  for (const char* text : {"data.img", ":/data:ro", "data.img:data:ro", "data.img::ro", "data.img:/a b:ro"})
    EXPECT_FALSE(parse_volume_option(text)) << text;
}

TEST(VolumeOptions, QemuArgumentsAndKernelWordsNameTheDisksInOrder) {
  std::vector<VolumeOption> volumes{{"a,b.img", "/one", true}, {"c.img", "/two", false}};
  std::vector<std::string> mmio = qemu_volume_args(volumes, DiskDevice::VirtioMmio);
  ASSERT_EQ(mmio.size(), 8u);
  EXPECT_EQ(mmio[1], "file=a,,b.img,format=raw,if=none,readonly=on,id=nimbus-volume0");
  EXPECT_EQ(mmio[3], "virtio-blk-device,drive=nimbus-volume0");
  EXPECT_EQ(mmio[5], "file=c.img,format=raw,if=none,id=nimbus-volume1");
  EXPECT_EQ(qemu_volume_args(volumes, DiskDevice::VirtioPci)[3],
            "virtio-blk-pci-non-transitional,romfile=,drive=nimbus-volume0");
  EXPECT_EQ(volume_kernel_words(volumes, DiskDevice::VirtioMmio),
            (std::vector<std::string>{"volume=vda:/one:ro", "volume=vdb:/two:rw"}));
  EXPECT_EQ(root_disk_kernel_word(DiskDevice::VirtioPci, 2), "root=vdc");
}

TEST(VolumeOptions, NvmeDisksAreOneControllerEachNamedAsLinuxDoes) {
  std::vector<VolumeOption> volumes{{"a.img", "/one", true}, {"c.img", "/two", false}};
  std::vector<std::string> nvme = qemu_volume_args(volumes, DiskDevice::Nvme);
  ASSERT_EQ(nvme.size(), 8u);
  EXPECT_EQ(nvme[1], "file=a.img,format=raw,if=none,readonly=on,id=nimbus-volume0");
  EXPECT_EQ(nvme[3], "nvme,romfile=,serial=nimbus-volume0,drive=nimbus-volume0");
  EXPECT_EQ(nvme[7], "nvme,romfile=,serial=nimbus-volume1,drive=nimbus-volume1");
  EXPECT_EQ(volume_kernel_words(volumes, DiskDevice::Nvme),
            (std::vector<std::string>{"volume=nvme0n1:/one:ro", "volume=nvme1n1:/two:rw"}));
  EXPECT_EQ(qemu_root_disk_args("root.img", DiskDevice::Nvme, 2)[3], "nvme,romfile=,serial=nimbus-root,drive=nimbus-root");
  EXPECT_EQ(root_disk_kernel_word(DiskDevice::Nvme, 2), "root=nvme2n1");
}

TEST(ShareOptions, ParsedWithTheirTagsAndDevices) {
  auto share = parse_share_option("/home/me/a:b:/src:ro");
  ASSERT_TRUE(share) << share.error().message;
  EXPECT_EQ(*share, (ShareOption{"/home/me/a:b", "/src", true}));
  share = parse_share_option("dir:/src");
  ASSERT_TRUE(share);
  EXPECT_FALSE(share->read_only);
  for (const char* text : {"dir", ":/src", "dir:src", "dir:/a b"}) EXPECT_FALSE(parse_share_option(text)) << text;
  std::vector<ShareOption> shares{{"/h,1", "/one", true}, {"/h2", "/two", false}};
  std::vector<std::string> args = qemu_share_args(shares, false);
  ASSERT_EQ(args.size(), 8u);
  EXPECT_EQ(args[1], "local,id=nimbus-share0,path=/h,,1,security_model=none,readonly=on");
  EXPECT_EQ(args[3], "virtio-9p-device,fsdev=nimbus-share0,mount_tag=nimbus-share0");
  EXPECT_EQ(qemu_share_args(shares, true)[7],
            "virtio-9p-pci-non-transitional,romfile=,fsdev=nimbus-share1,mount_tag=nimbus-share1");
  EXPECT_EQ(share_kernel_words(shares),
            (std::vector<std::string>{"share=nimbus-share0:/one:ro", "share=nimbus-share1:/two:rw"}));
  auto missing = check_share_directory({"/nonexistent/dir", "/src", false});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("--share /nonexistent/dir: No such file or directory"), std::string::npos);
}

TEST(VolumeOptions, AMissingReadOnlyImageIsAClearError) {
  auto checked = prepare_volume_file({"/nonexistent/volume.img", "/data", true}, kDefaultVolumeMib, false);
  ASSERT_FALSE(checked);
  EXPECT_NE(checked.error().message.find("must exist"), std::string::npos);
}

TEST(VolumeOptions, AMissingWritableImageIsMadeSparse) {
  char pattern[] = "/tmp/nimbus-volume-XXXXXX";
  ASSERT_TRUE(mkdtemp(pattern));
  std::string image = std::string(pattern) + "/new.img";
  ASSERT_TRUE(prepare_volume_file({image, "/data", false}, 64, false));
  struct stat info;
  ASSERT_EQ(stat(image.c_str(), &info), 0);
  EXPECT_EQ(info.st_size, 64 << 20);
  EXPECT_LT(info.st_blocks * 512, 16 << 20);  // sparse: mke2fs wrote only metadata
  EXPECT_EQ(std::system(("e2fsck -fn '" + image + "' >/dev/null 2>&1").c_str()), 0);
  // An existing one is used as it is.
  ASSERT_TRUE(prepare_volume_file({image, "/data", false}, 128, false));
  ASSERT_EQ(stat(image.c_str(), &info), 0);
  EXPECT_EQ(info.st_size, 64 << 20);
  std::remove(image.c_str());
  rmdir(pattern);
}

}  // namespace
