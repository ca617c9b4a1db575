// VM tests of `nimbus run --share HOSTDIR:GUESTDIR[:ro]` (virtio-9p, the kernel's 9P2000.L
// client): a program lists, reads and writes a shared host directory (files, directories,
// symlinks, renames, removals, chmod, truncate) and the host sees every change; on microvm
// (virtio-mmio) and q35 (virtio-pci); a read-only share refuses writes with EROFS; a missing
// host directory is a clear error before QEMU starts.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "nimbus_runner.h"
#include "temp_dir.h"

namespace {

using Args = std::vector<std::string>;
constexpr std::chrono::seconds kLimit{150};
constexpr const char* kTimeout = "120";
constexpr const char* kBusybox = "/bin/busybox";

std::string read_host(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class Share : public testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kBusybox)) GTEST_FAIL() << "busybox-static is not installed";
    std::filesystem::create_directories(m_dir.path() / "shared" / "sub");
    std::ofstream(m_dir.path() / "shared" / "a.txt") << "hello from the host\n";
    std::ofstream(m_dir.path() / "shared" / "sub" / "b.txt") << "deeper\n";
    std::ofstream(m_dir.path() / "shared" / "long.txt") << std::string(300000, 'L') << "\n";
  }
  std::filesystem::path shared() const { return m_dir.path() / "shared"; }
  TempDir m_dir;
};

TEST_F(Share, AProgramListsReadsAndWritesAndTheHostSeesIt) {
  std::string script =
      "ls /src && cat /src/a.txt /src/sub/b.txt && wc -c < /src/long.txt && "
      "echo written in the guest > /src/out.txt && echo more >> /src/out.txt && "
      "mkdir /src/newdir && echo x > /src/newdir/f && mv /src/newdir/f /src/newdir/g && "
      "ln -s a.txt /src/link && cat /src/link && readlink /src/link && rm /src/sub/b.txt && "
      "chmod 600 /src/out.txt && stat -c %a /src/out.txt && "
      "seq 1 20000 > /src/numbers && truncate -s 10 /src/numbers && touch -d '2001-02-03 04:05:06' /src/a.txt && "
      "cp /bin/busybox /src/bb && sync && echo done";
  NimbusRun run = run_nimbus({"run", "--timeout", kTimeout, "--share", shared().string() + ":/src", kBusybox, "sh",
                              "-c", script},
                             {kLimit});
  ASSERT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out,
            "a.txt\nlong.txt\nsub\nhello from the host\ndeeper\n300001\nhello from the host\na.txt\n600\ndone\n")
      << run.output();
  EXPECT_EQ(read_host(shared() / "out.txt"), "written in the guest\nmore\n");
  EXPECT_EQ(read_host(shared() / "newdir" / "g"), "x\n");
  EXPECT_FALSE(std::filesystem::exists(shared() / "newdir" / "f"));
  EXPECT_FALSE(std::filesystem::exists(shared() / "sub" / "b.txt"));
  EXPECT_TRUE(std::filesystem::is_symlink(shared() / "link"));
  EXPECT_EQ(std::filesystem::read_symlink(shared() / "link"), "a.txt");
  EXPECT_EQ(read_host(shared() / "numbers"), "1\n2\n3\n4\n5\n");
  EXPECT_EQ(read_host(shared() / "bb"), read_host(kBusybox));
  struct stat info;
  ASSERT_EQ(stat((shared() / "out.txt").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0600u);
  ASSERT_EQ(stat((shared() / "a.txt").c_str(), &info), 0);
  EXPECT_EQ(info.st_mtime, 981173106);  // 2001-02-03 04:05:06 UTC
}

TEST_F(Share, ThroughVirtioPciOnQ35) {
  NimbusRun run = run_nimbus({"run", "--timeout", kTimeout, "--machine", "q35", "--share",
                              shared().string() + ":/src", kBusybox, "sh", "-c",
                              "cat /src/sub/b.txt && echo q35 > /src/q35.txt"},
                             {kLimit});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, "deeper\n") << run.output();
  EXPECT_EQ(read_host(shared() / "q35.txt"), "q35\n");
}

TEST_F(Share, AReadOnlyShareRefusesWrites) {
  NimbusRun run = run_nimbus({"run", "--timeout", kTimeout, "--share", shared().string() + ":/src:ro", kBusybox, "sh",
                              "-c", "cat /src/a.txt; echo x > /src/new; echo status $?; rm /src/a.txt; echo rm $?"},
                             {kLimit});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, "hello from the host\nstatus 1\nrm 1\n") << run.output();
  EXPECT_NE(run.err.find("Read-only file system"), std::string::npos) << run.output();
  EXPECT_FALSE(std::filesystem::exists(shared() / "new"));
  EXPECT_TRUE(std::filesystem::exists(shared() / "a.txt"));
}

TEST_F(Share, AMissingHostDirectoryIsAClearError) {
  NimbusRun run = run_nimbus({"run", "--timeout", kTimeout, "--share", (m_dir.path() / "nope").string() + ":/src",
                              kBusybox, "true"},
                             {kLimit});
  EXPECT_EQ(run.status, 66) << run.output();  // EX_NOINPUT
  EXPECT_NE(run.err.find("--share " + (m_dir.path() / "nope").string() + ": No such file or directory"),
            std::string::npos)
      << run.output();
}

}  // namespace
