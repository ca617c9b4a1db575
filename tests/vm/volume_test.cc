// VM tests of volumes: an ext4 image made by mke2fs -d (and indexed by e2fsck -D) attached
// with --volume and read by busybox in the guest, whose output must match busybox's on the
// host over the same tree; on microvm (virtio-mmio) and q35 (virtio-pci, MSI-X). Writable
// volumes: files written in one VM read in the next, sqlite3's database kept across two VMs,
// and e2fsck -fn clean after each.
#include <gtest/gtest.h>
#include <sys/wait.h>

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

std::string app(const std::string& name) { return build_dir() + "/apps/" + name; }

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

// e2fsck -fn over an image: "" when clean, else its report.
std::string fsck_problems(const std::string& image) {
  std::string output;
  FILE* pipe = popen(("e2fsck -fn '" + image + "' 2>&1").c_str(), "r");
  if (!pipe) return "popen failed";
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), n);
  int status = pclose(pipe);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "" : output;
}

TEST_F(Volume, WritesInOneVmAreReadInTheNext) {
  // A missing FILE is made: sparse, formatted, of --volume-size.
  std::string image = (s_dir->path() / "rw.img").string();
  Args first{"run", "--timeout", kTimeout, "--volume-size", "64M", "--volume", image + ":/rw", "/bin/busybox", "sh",
             "-c",
             "mkdir -p /rw/d/e && echo written > /rw/d/f && seq 1 20000 > /rw/d/e/numbers && "
             "cp /bin/busybox /rw/bb && ln /rw/d/f /rw/d/hard && ln -s d/f /rw/sym && "
             "for i in $(seq 1 300); do echo $i > /rw/d/e/file-$i; done && rm /rw/d/e/file-7 && "
             "mv /rw/d/e /rw/moved && sync && echo done"};
  NimbusRun write = run_nimbus(first, {kLimit});
  ASSERT_EQ(write.status, 0) << write.output();
  EXPECT_EQ(write.out, "done\n");
  EXPECT_EQ(fsck_problems(image), "");
  // The VM's end was a clean unmount: the journal is empty and needs no recovery.
  EXPECT_EQ(run_on_host("/", "dumpe2fs -h '" + image + "' 2>/dev/null | grep -c needs_recovery"), "0\n");
  EXPECT_EQ(run_on_host("/", "dumpe2fs -h '" + image + "' 2>/dev/null | grep '^Journal start:'"),
            "Journal start:            0\n");
  Args second{"run", "--timeout", kTimeout, "--volume", image + ":/rw:ro", "/bin/busybox", "sh", "-c",
              "cat /rw/d/f /rw/d/hard /rw/sym && wc -l < /rw/moved/numbers && md5sum /rw/bb && "
              "ls /rw/moved | wc -l && cat /rw/moved/file-300 && ls /rw/moved/file-7"};
  NimbusRun read = run_nimbus(second, {kLimit});
  EXPECT_EQ(read.status, 1) << read.output();  // the last ls finds no file-7
  std::string md5 = run_on_host("/", "/bin/busybox md5sum /bin/busybox");
  EXPECT_EQ(read.out, "written\nwritten\nwritten\n20000\n" + md5.substr(0, 32) + "  /rw/bb\n300\n300\n")
      << read.output();
}

TEST_F(Volume, Sqlite3KeepsItsDataAcrossTwoVms) {
  if (!std::filesystem::exists("/usr/bin/sqlite3")) GTEST_SKIP() << "sqlite3 is not installed";
  std::string image = (s_dir->path() / "sqlite.img").string();
  std::string sql = "create table t(k integer primary key, v text);"
                    "with recursive n(i) as (select 1 union all select i + 1 from n where i < 5000) "
                    "insert into t select i, 'value-' || i from n;";
  NimbusRun first = run_nimbus({"run", "--timeout", kTimeout, "--volume-size", "64M", "--volume", image + ":/db",
                                "/usr/bin/sqlite3", "/db/test.sqlite", sql},
                               {kLimit});
  ASSERT_EQ(first.status, 0) << first.output();
  EXPECT_EQ(fsck_problems(image), "");
  NimbusRun second = run_nimbus({"run", "--timeout", kTimeout, "--volume", image + ":/db", "/usr/bin/sqlite3",
                                 "/db/test.sqlite", "insert into t values (5001, 'more'); "
                                 "select count(*), sum(k), max(v) from t; pragma integrity_check;"},
                                {kLimit});
  EXPECT_EQ(second.status, 0) << second.output();
  EXPECT_EQ(second.out, "5001|12507501|value-999\nok\n") << second.output();
  EXPECT_EQ(fsck_problems(image), "");
}

// Through the page cache: 1 MiB and unaligned writes, truncate into a page, a shared mapping
// with msync, a sparse file and an unlinked one, checked byte for byte in the same VM and in the
// next (write-back put everything on the disk), e2fsck -fn clean after each.
TEST_F(Volume, PageCacheWritesAndSharedMappingsReachTheNextVm) {
  std::string image = (s_dir->path() / "pages.img").string();
  std::string program = app("page_cache_data-static");
  NimbusRun write = run_nimbus({"run", "--timeout", kTimeout, "--volume-size", "64M", "--volume", image + ":/rw",
                                program, "write", "/rw"},
                               {kLimit});
  ASSERT_EQ(write.status, 0) << write.output();
  EXPECT_EQ(write.out, "written\n") << write.output();
  EXPECT_EQ(fsck_problems(image), "");
  NimbusRun check = run_nimbus({"run", "--timeout", kTimeout, "--volume", image + ":/rw", program, "check", "/rw"},
                               {kLimit});
  EXPECT_EQ(check.status, 0) << check.output();
  EXPECT_EQ(check.out, "checked\n") << check.output();
  EXPECT_EQ(fsck_problems(image), "");
}

// O_DIRECT into and out of the program's own pages (pinned for the device): byte-exact with a
// fresh mapping, buffers straddling pages, private and shared file mappings of the volume; a
// buffer another thread unmaps during the I/O gives EFAULT or completes, and forks during direct
// reads keep the parent's data; e2fsck -fn clean after.
TEST_F(Volume, DirectIoIntoTheProgramsPagesIsByteExact) {
  std::string image = (s_dir->path() / "direct.img").string();
  NimbusRun run = run_nimbus({"run", "--timeout", kTimeout, "--volume-size", "64M", "--volume", image + ":/rw",
                              app("direct_io-static"), "/rw"},
                             {kLimit});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, "direct ok\n") << run.output();
  EXPECT_EQ(fsck_problems(image), "");
}

// A file larger than the VM's memory written and read back: dirty pages are written back at
// the dirty limit and clean ones reclaimed.
TEST_F(Volume, AFileLargerThanMemoryIsWrittenAndReadBack) {
  std::string image = (s_dir->path() / "big.img").string();
  NimbusRun run = run_nimbus({"run", "--timeout", kTimeout, "--memory", "48M", "--volume-size", "256M", "--volume",
                              image + ":/rw", app("page_cache_data-static"), "big", "/rw", "80"},
                             {kLimit});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, "big ok\n") << run.output();
  EXPECT_EQ(fsck_problems(image), "");
}

// The same with 4 MiB of file pages mapped first, as a program's libraries are: the cache must
// reclaim the clean pages behind them (once it gave up after the first 192 mapped ones and the
// VM ran out of memory).
TEST_F(Volume, CleanPagesBehindMappedOnesAreReclaimed) {
  std::string image = (s_dir->path() / "mapped.img").string();
  NimbusRun run = run_nimbus({"run", "--timeout", kTimeout, "--memory", "32M", "--volume-size", "128M", "--volume",
                              image + ":/rw", app("page_cache_data-static"), "mapped", "/rw", "40"},
                             {kLimit});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, "mapped ok\n") << run.output();
  EXPECT_EQ(fsck_problems(image), "");
}

TEST_F(Volume, AReadOnlyVolumeRefusesWrites) {
  NimbusRun run = busybox({"sh", "-c", "echo x > /data/new; echo status $?"});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_NE(run.out.find("status 1"), std::string::npos) << run.output();
  EXPECT_NE(run.err.find("Read-only file system"), std::string::npos) << run.output();
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
