// VM tests of NVMe disks (`nimbus run --disk-bus nvme`, QEMU's -device nvme on q35): the
// image's root disk and a writable volume both on NVMe controllers, files (multi-page
// transfers through PRP lists) written in one VM and read in the next, on two vCPUs (one I/O
// queue pair each), with e2fsck -fn clean on the volume afterwards; the same volume read back
// over virtio-blk, so both drivers see one file system.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "nimbus_runner.h"
#include "temp_dir.h"

namespace {

using Args = std::vector<std::string>;
constexpr std::chrono::seconds kLimit{200};
constexpr const char* kTimeout = "170";
constexpr const char* kBusybox = "/bin/busybox";

std::string host_output(const std::string& command) {
  std::string output;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return "popen failed";
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), n);
  int status = pclose(pipe);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) output += "\n(exit status " + std::to_string(status) + ")";
  return output;
}

class Nvme : public testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kBusybox)) GTEST_FAIL() << "busybox-static is not installed";
  }
};

TEST_F(Nvme, RootDiskAndVolumeKeepDataAcrossTwoVms) {
  TempDir dir;
  std::string image = (dir.path() / "nvme.img").string();
  // 20 MiB of random bytes make the image's root a disk (more than 16 MiB of files), read
  // whole through the page cache: multi-page reads with PRP lists.
  std::filesystem::path big = dir.path() / "big.bin";
  {
    std::ofstream out(big, std::ios::binary);
    std::mt19937_64 random(11);
    std::vector<uint64_t> chunk(1 << 17);
    for (int i = 0; i < 20; i++) {
      for (uint64_t& word : chunk) word = random();
      out.write(reinterpret_cast<const char*>(chunk.data()), static_cast<std::streamsize>(chunk.size() * 8));
    }
  }
  std::string big_md5 = host_output("md5sum < '" + big.string() + "'").substr(0, 32);
  // Two vCPUs: the kernel gives each its own I/O queue pair on every controller.
  Args first{"run", "--timeout", kTimeout, "--verbose", "--cpus", "2", "--disk-bus", "nvme", "--volume-size", "64M",
             "--volume", image + ":/rw", "--add", big.string() + ":/big.bin", kBusybox, "sh", "-c",
             "md5sum < /big.bin && mkdir -p /rw/d && echo written > /rw/d/f && seq 1 50000 > /rw/d/numbers && "
             "cp /bin/busybox /rw/bb && dd if=/rw/bb of=/rw/big bs=1M count=1 2>/dev/null && "
             "for i in $(seq 1 200); do echo $i > /rw/d/file-$i; done && rm /rw/d/file-9 && "
             "mv /rw/d /rw/moved && sync && echo done"};
  NimbusRun write = run_nimbus(first, {kLimit});
  ASSERT_EQ(write.status, 0) << write.output();
  EXPECT_EQ(write.out, big_md5 + "  -\ndone\n") << write.output();
  // The root disk was nvme1n1 (after the volume) and the volume nvme0n1, both with MSI-X.
  EXPECT_NE(write.err.find("nvme: nvme0n1,"), std::string::npos) << write.err;
  EXPECT_NE(write.err.find("root: nvme1n1 (ext4, read-only)"), std::string::npos) << write.err;
  EXPECT_NE(write.err.find("volume: nvme0n1 (ext4, read-write) on /rw"), std::string::npos) << write.err;
  EXPECT_NE(write.err.find("2 I/O queues, MSI-X"), std::string::npos) << write.err;
  EXPECT_EQ(host_output("e2fsck -fn '" + image + "' >/dev/null"), "");

  std::string md5 = host_output("md5sum < /bin/busybox").substr(0, 32);
  std::string check = "cat /rw/moved/f && wc -l < /rw/moved/numbers && md5sum < /rw/bb && "
                      "ls /rw/moved | wc -l && cat /rw/moved/file-200 && "
                      "dd if=/rw/bb bs=1M count=1 2>/dev/null | cmp - /rw/big && echo same";
  std::string expected = "written\n50000\n" + md5 + "  -\n201\n200\nsame\n";  // 199 files, f, numbers
  NimbusRun read = run_nimbus({"run", "--timeout", kTimeout, "--disk-bus", "nvme", "--volume", image + ":/rw:ro",
                               kBusybox, "sh", "-c", check},
                              {kLimit});
  EXPECT_EQ(read.status, 0) << read.output();
  EXPECT_EQ(read.out, expected) << read.output();
  // The same file system through virtio-blk.
  NimbusRun virtio = run_nimbus({"run", "--timeout", kTimeout, "--machine", "q35", "--volume", image + ":/rw:ro",
                                 kBusybox, "sh", "-c", check},
                                {kLimit});
  EXPECT_EQ(virtio.status, 0) << virtio.output();
  EXPECT_EQ(virtio.out, expected) << virtio.output();
  EXPECT_EQ(host_output("e2fsck -fn '" + image + "' >/dev/null"), "");
}

TEST_F(Nvme, AReadOnlyVolumeRefusesWrites) {
  TempDir dir;
  std::string image = (dir.path() / "ro.img").string();
  ASSERT_EQ(host_output("mke2fs -q -F -t ext4 '" + image + "' 16M >/dev/null"), "");
  NimbusRun run = run_nimbus({"run", "--timeout", kTimeout, "--disk-bus", "nvme", "--volume", image + ":/data:ro",
                              kBusybox, "sh", "-c", "echo x > /data/new; echo status $?"},
                             {kLimit});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_NE(run.out.find("status 1"), std::string::npos) << run.output();
  EXPECT_NE(run.err.find("Read-only file system"), std::string::npos) << run.output();
  EXPECT_EQ(host_output("e2fsck -fn '" + image + "' >/dev/null"), "");
}

TEST_F(Nvme, MicrovmHasNoBusForNvme) {
  NimbusRun run = run_nimbus({"run", "--machine", "microvm", "--disk-bus", "nvme", kBusybox, "true"}, {kLimit});
  EXPECT_EQ(run.status, 2) << run.output();
  EXPECT_NE(run.err.find("--disk-bus nvme needs --machine q35"), std::string::npos) << run.output();
}

}  // namespace
