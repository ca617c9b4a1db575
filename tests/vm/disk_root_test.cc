// VM tests of images whose root file system is an ext4 disk read on demand through the page
// cache: Python in a small VM, a file larger than the VM's RAM read whole (its MD5 against the
// host's), mmap of disk files (private with copy-on-write, and shared), and the writable places
// (/tmp, /etc, /dev/shm) on an otherwise read-only root.
#include <gtest/gtest.h>

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
constexpr const char* kBusybox = "/bin/busybox";
constexpr const char* kPython = "/usr/bin/python3";

std::string host_output(const std::string& command) {
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return "popen failed";
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), n);
  pclose(pipe);
  return output;
}

NimbusRun run(const Args& args, int seconds = 240) {
  Args all{"run", "--timeout", std::to_string(seconds)};
  all.insert(all.end(), args.begin(), args.end());
  return run_nimbus(all, RunLimits{std::chrono::seconds(seconds + 60)});
}

class ImageDiskRoot : public testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kBusybox)) GTEST_FAIL() << "busybox-static is not installed";
  }
};

// The whole standard library is packed, and read from the disk as Python imports it: the VM
// needs far less memory than the library's size (about 40 MiB with its .pyc files).
TEST_F(ImageDiskRoot, PythonRunsInTwentyFourMebibytes) {
  if (!std::filesystem::exists(kPython)) GTEST_FAIL() << "Debian's python3 is not installed";
  NimbusRun result = run({"--memory", "24M", kPython, "-c",
                          "import json, email.parser, xml.dom.minidom, decimal\n"
                          "print(json.dumps([decimal.Decimal('1.5') * 2], default=str))"});
  EXPECT_EQ(result.status, 0) << result.output();
  EXPECT_EQ(result.out, "[\"3.0\"]\n") << result.output();
}

// 96 MiB of random bytes in a 40 MiB VM: the page cache gives pages back as it reads.
TEST_F(ImageDiskRoot, FileLargerThanMemoryReadsWhole) {
  TempDir dir;
  std::filesystem::path big = dir.path() / "big.bin";
  {
    std::ofstream out(big, std::ios::binary);
    std::mt19937_64 random(42);
    std::vector<uint64_t> chunk(1 << 17);
    for (int i = 0; i < 96; i++) {
      for (uint64_t& word : chunk) word = random();
      out.write(reinterpret_cast<const char*>(chunk.data()), static_cast<std::streamsize>(chunk.size() * 8));
    }
  }
  std::string expected = host_output("md5sum < '" + big.string() + "'");
  NimbusRun result = run({"--memory", "40M", "--add", big.string() + ":/big.bin", kBusybox, "md5sum", "/big.bin"}, 400);
  EXPECT_EQ(result.status, 0) << result.output();
  ASSERT_GE(expected.size(), 32u);
  EXPECT_EQ(result.out.substr(0, 32), expected.substr(0, 32)) << result.output();
}

TEST_F(ImageDiskRoot, MappingsOfDiskFiles) {
  if (!std::filesystem::exists(kPython)) GTEST_FAIL() << "Debian's python3 is not installed";
  TempDir dir;
  std::string data = dir.write_file("data.txt", std::string(5000, 'a') + "tail\n");
  NimbusRun result = run({"--memory", "64M", "--add", data + ":/data.txt", kPython, "-c",
                          "import mmap\n"
                          "f = open('/data.txt', 'rb')\n"
                          "shared = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)\n"
                          "private = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)\n"
                          "private[0:5] = b'bbbbb'\n"
                          "print(shared[0:5], private[0:5], shared[-5:], len(shared))\n"
                          "print(open('/data.txt', 'rb').read(5), mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)[0:5])\n"});
  EXPECT_EQ(result.status, 0) << result.output();
  EXPECT_EQ(result.out, "b'aaaaa' b'bbbbb' b'tail\\n' 5005\nb'aaaaa' b'aaaaa'\n") << result.output();
}

// The disk is read-only; /tmp, /dev/shm and /etc (a RAM copy of the image's) take writes.
// (Python's image is large enough to get a disk; a small one such as busybox's stays an initrd.)
TEST_F(ImageDiskRoot, WritablePlacesOnAReadOnlyRoot) {
  if (!std::filesystem::exists(kPython)) GTEST_FAIL() << "Debian's python3 is not installed";
  NimbusRun result = run({"--memory", "64M", kPython, "-c",
                          "import os, errno\n"
                          "for path in ['/tmp/a', '/dev/shm/b', '/etc/c']:\n"
                          "    open(path, 'w').write(path)\n"
                          "    print(open(path).read())\n"
                          "print(os.path.exists('/etc/hostname'), os.path.exists('/etc/ld.so.cache'))\n"
                          "try:\n"
                          "    open('/usr/x', 'w')\n"
                          "except OSError as e:\n"
                          "    print(errno.errorcode[e.errno])\n"});
  EXPECT_EQ(result.status, 0) << result.output();
  EXPECT_EQ(result.out, "/tmp/a\n/dev/shm/b\n/etc/c\nTrue True\nEROFS\n") << result.output();
}

}  // namespace
