// VM tests of the image cache: `nimbus cache ls|prune|clear|--limit`, eviction of the least
// recently used image under a limit, concurrent runs of one program, and the packing progress line.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "nimbus_runner.h"
#include "temp_dir.h"

namespace {

using Args = std::vector<std::string>;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Each test has its own cache (XDG_CACHE_HOME) so eviction is not disturbed by other tests.
class CacheTest : public ::testing::Test {
 protected:
  std::filesystem::path cache_dir() const { return m_dir.path() / "cache/nimbus"; }
  NimbusRun nimbus(const Args& args, std::map<std::string, std::string> environment = {}) {
    environment["XDG_CACHE_HOME"] = (m_dir.path() / "cache").string();
    return run_nimbus(args, {.hard_limit = std::chrono::seconds(120), .environment = environment});
  }
  // Packs PROGRAM into the cache without booting it.
  NimbusRun pack(const Args& program, std::map<std::string, std::string> environment = {}) {
    Args args{"run", "--accel", "tcg", "--dry-run", "--verbose"};
    args.insert(args.end(), program.begin(), program.end());
    NimbusRun run = nimbus(args, std::move(environment));
    EXPECT_EQ(run.status, 0) << describe(args, run);
    return run;
  }
  std::string listing() {
    NimbusRun run = nimbus({"cache", "ls"});
    EXPECT_EQ(run.status, 0) << describe({"cache", "ls"}, run);
    return run.out;
  }
  // What the cache holds on disk, each hard-linked file once (what `du` would count).
  std::uint64_t bytes_on_disk() const {
    std::set<ino_t> seen;
    std::uint64_t total = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(cache_dir())) {
      struct stat st {};
      if (::lstat(entry.path().c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
          seen.insert(st.st_ino).second &&
          entry.path().parent_path().filename() != "nimbus")  // the lock and limit files
        total += static_cast<std::uint64_t>(st.st_size);
    }
    return total;
  }
  std::size_t image_count() const {
    std::size_t count = 0;
    for (const auto& entry : std::filesystem::directory_iterator(cache_dir() / "images")) {
      (void)entry;
      ++count;
    }
    return count;
  }

  TempDir m_dir;
};

TEST_F(CacheTest, LsPruneAndClearShowAndEmptyTheCache) {
  EXPECT_TRUE(contains(listing(), "no cached images")) << listing();
  pack({"/bin/true"});
  pack({"/bin/echo", "hi"});
  std::string list = listing();
  EXPECT_TRUE(contains(list, "IMAGE         SIZE    SHARED  LAST USE")) << list;
  EXPECT_TRUE(contains(list, "/bin/echo hi")) << list;
  EXPECT_TRUE(contains(list, "2 images, ")) << list;
  EXPECT_TRUE(contains(list, "limit 4.0G")) << list;
  // The most recently used first.
  EXPECT_LT(list.find("/bin/echo hi"), list.find("true\n")) << list;

  NimbusRun prune = nimbus({"cache", "prune"});
  EXPECT_EQ(prune.status, 0);
  EXPECT_TRUE(contains(prune.out, "removed 0 images")) << prune.out;

  NimbusRun all = nimbus({"cache", "prune", "--all"});
  EXPECT_EQ(all.status, 0);
  EXPECT_TRUE(contains(all.out, "removed 2 images")) << all.out;
  EXPECT_TRUE(contains(listing(), "no cached images")) << listing();
  // The content store went with the images.
  EXPECT_TRUE(std::filesystem::is_empty(cache_dir() / "store"));

  pack({"/bin/true"});
  std::filesystem::path host_conf = cache_dir() / "host.conf";
  std::ofstream(host_conf) << "# stand-in\n";
  NimbusRun clear = nimbus({"cache", "clear"});
  EXPECT_EQ(clear.status, 0);
  EXPECT_TRUE(contains(clear.out, "removed 1 image")) << clear.out;
  EXPECT_FALSE(std::filesystem::exists(host_conf));
  EXPECT_TRUE(std::filesystem::is_empty(cache_dir() / "builds"));
}

TEST_F(CacheTest, WrongArgumentsAreUsageErrors) {
  for (const Args& args :
       {Args{"cache"}, Args{"cache", "bogus"}, Args{"cache", "--bogus"},
        Args{"cache", "ls", "--all"}, Args{"cache", "--limit"}, Args{"cache", "--limit", "lots"},
        Args{"cache", "prune", "--everything"}}) {
    NimbusRun run = nimbus(args);
    EXPECT_EQ(run.status, 2) << describe(args, run);
    EXPECT_TRUE(contains(run.err, "nimbus: ")) << describe(args, run);
  }
  EXPECT_TRUE(contains(nimbus({"cache", "--limit", "lots"}).err, "'lots' is not a size"));
  NimbusRun bad_env = nimbus({"run", "--dry-run", "/bin/true"}, {{"NIMBUS_CACHE_SIZE", "lots"}});
  EXPECT_EQ(bad_env.status, 2);
  EXPECT_TRUE(contains(bad_env.err, "NIMBUS_CACHE_SIZE: 'lots' is not a size")) << bad_env.err;
}

TEST_F(CacheTest, TheLimitEvictsTheLeastRecentlyUsedImage) {
  pack({"/bin/true"});
  pack({"/bin/ls"});
  std::uint64_t limit = bytes_on_disk();
  // Using /bin/true again makes /bin/ls the least recently used.
  EXPECT_TRUE(contains(pack({"/bin/true"}).err, "using the cached build")) << listing();

  std::map<std::string, std::string> env{{"NIMBUS_CACHE_SIZE", std::to_string(limit)}};
  NimbusRun third = pack({"/bin/echo"}, env);
  // Packed archives go before whole images: /bin/ls, the least recently used, loses its archive
  // first and keeps its files (shared with the others where they are the same).
  EXPECT_TRUE(contains(third.err, "removed the packed root file system of")) << third.err;
  std::string list = listing();
  EXPECT_TRUE(contains(list, "/bin/true")) << list;
  EXPECT_TRUE(contains(list, "/bin/echo")) << list;
  EXPECT_LE(bytes_on_disk(), limit);
  if (contains(list, "/bin/ls")) {
    // Its next run packs the archive again from the cached files, not from the host's.
    NimbusRun again = pack({"/bin/ls"});
    EXPECT_TRUE(contains(again.err, "again from its cached files")) << again.err;
  }

  // A limit below one image keeps only the newest: never over the limit by more than it.
  NimbusRun tiny = pack({"/bin/cat"}, {{"NIMBUS_CACHE_SIZE", "1"}});
  EXPECT_EQ(image_count(), 1u) << listing();
  EXPECT_TRUE(contains(listing(), "/bin/cat")) << listing();

  // `cache --limit` persists the limit and evicts at once.
  pack({"/bin/true"});
  NimbusRun set = nimbus({"cache", "--limit", "1K"});
  EXPECT_EQ(set.status, 0) << set.err;
  EXPECT_TRUE(contains(set.out, "cache limit set to 1.0K")) << set.out;
  EXPECT_TRUE(contains(set.out, "removed 2 images")) << set.out;
  EXPECT_TRUE(contains(listing(), "limit 1.0K")) << listing();
}

TEST_F(CacheTest, ImagesShareOneCopyOfTheKernel) {
  pack({"/bin/true"});
  pack({"/bin/echo"});
  struct stat a {
  }, b{};
  ASSERT_EQ(image_count(), 2u);
  std::vector<std::filesystem::path> kernels;
  for (const auto& entry : std::filesystem::directory_iterator(cache_dir() / "images"))
    kernels.push_back(entry.path() / "kernel.elf");
  ASSERT_EQ(::stat(kernels[0].c_str(), &a), 0);
  ASSERT_EQ(::stat(kernels[1].c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_nlink, 3u);  // two images and the store
}

TEST_F(CacheTest, TwoConcurrentRunsOfOneProgramBothSucceed) {
  Args args{"run", "--accel", "tcg", "--timeout", "100", "/bin/echo", "same", "program"};
  auto first = std::async(std::launch::async, [&] { return nimbus(args); });
  auto second = std::async(std::launch::async, [&] { return nimbus(args); });
  for (NimbusRun run : {first.get(), second.get()}) {
    EXPECT_EQ(run.status, 0) << describe(args, run);
    EXPECT_TRUE(contains(run.out, "same program\n")) << describe(args, run);
  }
  EXPECT_EQ(image_count(), 1u) << listing();
  EXPECT_TRUE(std::filesystem::is_empty(cache_dir() / "tmp"));
}

TEST_F(CacheTest, PruneLeavesAnImageInUse) {
  Args args{"run", "--accel", "tcg", "--timeout", "100", "/bin/sleep", "3"};
  auto running = std::async(std::launch::async, [&] { return nimbus(args); });
  // Wait (at most 60 s) until the run holds its image.
  std::string list;
  for (int i = 0; i < 600 && !contains(list, "[in use]"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (std::filesystem::exists(cache_dir() / "images")) list = listing();
  }
  ASSERT_TRUE(contains(list, "[in use]")) << list;
  NimbusRun prune = nimbus({"cache", "prune", "--all"});
  EXPECT_TRUE(contains(prune.out, "removed 0 images")) << prune.out;
  EXPECT_TRUE(contains(prune.out, "kept 1 image in use")) << prune.out;
  NimbusRun run = running.get();
  EXPECT_EQ(run.status, 0) << describe(args, run);
  EXPECT_TRUE(contains(listing(), "/bin/sleep 3")) << listing();
}

TEST_F(CacheTest, PackingALargeImageShowsProgressOnlyOnATerminal) {
  std::filesystem::path big = m_dir.path() / "big";
  std::filesystem::resize_file(std::filesystem::path(m_dir.write_file("big", "")), 20 << 20);
  std::string image = (m_dir.path() / "big.nimbus").string();
  Args args{"build", "-o", image, "--add", big.string() + ":/big", "/bin/true"};
  NimbusRun plain = nimbus(args);
  ASSERT_EQ(plain.status, 0) << describe(args, plain);
  EXPECT_FALSE(contains(plain.err, "packing")) << plain.err;

  // script(1) gives nimbus a terminal; what it prints is what the terminal showed.
  if (::access("/usr/bin/script", X_OK) != 0)
    GTEST_SKIP() << "script(1) (util-linux) is not installed";
  std::string command =
      "XDG_CACHE_HOME='" + (m_dir.path() / "cache").string() + "' '" + build_file("nimbus") + "'";
  for (const std::string& arg : args) command += " '" + arg + "'";
  std::string shell = "timeout 120 script -qec \"" + command + "\" /dev/null 2>&1";
  std::string shown;
  if (FILE* pipe = ::popen(shell.c_str(), "r")) {
    char buffer[4096];
    for (std::size_t got; (got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;)
      shown.append(buffer, got);
    ::pclose(pipe);
  }
  EXPECT_TRUE(contains(shown, "nimbus: packing ")) << shown;
  EXPECT_TRUE(contains(shown, " files, ")) << shown;
}

}  // namespace
