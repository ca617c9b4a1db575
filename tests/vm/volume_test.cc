// VM tests of volumes: an ext4 image made by mke2fs -d (and indexed by e2fsck -D) attached
// with --volume and read by busybox in the guest, whose output must match busybox's on the
// host over the same tree; on microvm (virtio-mmio) and q35 (virtio-pci, MSI-X).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "nimbus_runner.h"
#include "temp_dir.h"

namespace {

using Args = std::vector<std::string>;
constexpr std::chrono::seconds kLimit{150};
constexpr const char* kTimeout = "120";

std::string run_on_host(const std::string& directory, const std::string& command) {
  std::string output;
  FILE* pipe = popen(("cd '" + directory + "' && TZ=UTC " + command + " 2>&1").c_str(), "r");
  if (!pipe) return "popen failed";
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), n);
  pclose(pipe);
  return output;
}

std::vector<std::string> sorted_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::sort(lines.begin(), lines.end());
  return lines;
}

class Volume : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    s_dir = new TempDir;
    std::filesystem::path tree = s_dir->path() / "tree";
    std::filesystem::create_directories(tree / "sub" / "deeper");
    std::filesystem::create_directories(tree / "many");
    std::ofstream(tree / "sub" / "f.txt") << "hello from a volume\n";
    std::ofstream(tree / "sub" / "deeper" / "g.txt") << "deeper\n";
    for (int i = 0; i < 3000; i++) std::ofstream(tree / "many" / ("entry-" + std::to_string(i))) << i << "\n";
    std::mt19937 random(7);
    std::string big((1 << 20) + 77, '\0');
    for (char& c : big) c = static_cast<char>(random());
    std::ofstream(tree / "big.bin", std::ios::binary) << big;
    {
      std::ofstream sparse(tree / "sparse", std::ios::binary);
      sparse.seekp(6 << 20);
      sparse << "the end of a sparse file\n";
    }
    std::filesystem::create_symlink("sub/f.txt", tree / "link");
    s_image = (s_dir->path() / "volume.img").string();
    std::string make = "mke2fs -q -F -t ext4 -d '" + tree.string() + "' '" + s_image + "' 64M >/dev/null 2>&1 && " +
                       "{ e2fsck -fyD '" + s_image + "' >/dev/null 2>&1; [ $? -le 1 ]; }";
    s_made = std::system(make.c_str()) == 0;
    s_tree = tree.string();
  }
  static void TearDownTestSuite() { delete s_dir; }

  void SetUp() override {
    if (!std::filesystem::exists("/bin/busybox")) GTEST_FAIL() << "busybox-static is not installed";
    ASSERT_TRUE(s_made) << "mke2fs or e2fsck failed (e2fsprogs installed? scripts/install-deps)";
  }

  NimbusRun busybox(const Args& applet_and_args, const Args& options = {}) {
    Args args{"run", "--timeout", kTimeout, "--volume", s_image + ":/data:ro", "--workdir", "/data"};
    args.insert(args.end(), options.begin(), options.end());
    args.push_back("/bin/busybox");
    args.insert(args.end(), applet_and_args.begin(), applet_and_args.end());
    return run_nimbus(args, {kLimit});
  }

  static TempDir* s_dir;
  static std::string s_image, s_tree;
  static bool s_made;
};
TempDir* Volume::s_dir = nullptr;
std::string Volume::s_image, Volume::s_tree;
bool Volume::s_made = false;

TEST_F(Volume, Md5sumMatchesTheHost) {
  Args files{"big.bin", "sparse", "sub/f.txt", "sub/deeper/g.txt", "many/entry-0", "many/entry-1777", "many/entry-2999"};
  std::string host_command = "/bin/busybox md5sum";
  for (const auto& f : files) host_command += " " + f;
  Args guest{"md5sum"};
  guest.insert(guest.end(), files.begin(), files.end());
  NimbusRun run = busybox(guest);
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, run_on_host(s_tree, host_command)) << run.output();
}

TEST_F(Volume, LsLongMatchesTheHost) {
  NimbusRun run = busybox({"ls", "-l", "big.bin", "sparse", "link", "sub/f.txt", "many/entry-42"});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, run_on_host(s_tree, "/bin/busybox ls -l big.bin sparse link sub/f.txt many/entry-42"))
      << run.output();
}

TEST_F(Volume, FindListsTheSameTree) {
  NimbusRun run = busybox({"find", "."});
  EXPECT_EQ(run.status, 0) << run.output();
  std::vector<std::string> guest = sorted_lines(run.out);
  // mke2fs adds lost+found.
  std::erase(guest, "./lost+found");
  EXPECT_EQ(guest, sorted_lines(run_on_host(s_tree, "/bin/busybox find ."))) << run.output();
}

TEST_F(Volume, CatThroughVirtioPciOnQ35) {
  NimbusRun run = busybox({"cat", "sub/f.txt", "link", "many/entry-2345"}, {"--machine", "q35"});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, "hello from a volume\nhello from a volume\n2345\n") << run.output();
}

TEST_F(Volume, WritableVolumesAreRefusedBeforeBooting) {
  NimbusRun run = run_nimbus({"run", "--volume", s_image + ":/data", "/bin/busybox", "true"}, {kLimit});
  EXPECT_EQ(run.status, 2) << run.output();
  EXPECT_NE(run.err.find("writing to ext4 is not implemented yet"), std::string::npos) << run.output();
}

TEST_F(Volume, AnImageThatIsNotExt4IsAClearMountError) {
  std::string junk = s_dir->write_file("junk.img", std::string(1 << 20, 'j'));
  NimbusRun run = run_nimbus({"run", "--timeout", kTimeout, "--volume", junk + ":/data:ro", "/bin/busybox", "true"},
                             {kLimit});
  EXPECT_EQ(run.status, 252) << run.output();
  EXPECT_NE(run.output().find("volume vda for /data: cannot mount its ext4 file system: no ext2/3/4 superblock"),
            std::string::npos)
      << run.output();
}

}  // namespace
