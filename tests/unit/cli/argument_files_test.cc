// Tests of find_argument_files(): which program arguments name host files to pack.
#include "argument_files.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "scratch_dir.h"

namespace {

std::vector<std::string> paths_of(const ArgumentFiles& found) {
  std::vector<std::string> paths;
  for (const ArgumentFile& file : found.files) paths.push_back(file.path);
  return paths;
}

TEST(ArgumentFiles, FilesAndDirectoriesByAnyName) {
  ScratchDir dir;
  std::string script = dir.write("app/app.py", "print(1)\n");
  std::string config = dir.write("etc/nginx.conf", "");
  std::string data = dir.write("data/one.txt", "1");
  std::vector<std::string> args{"app.py", "-c", config, "--data=" + dir / "data", "print(1)",
                                "--verbose", "missing.txt", "-x"};
  ArgumentFiles found = find_argument_files(args, dir.path() / "app");
  EXPECT_EQ(paths_of(found), (std::vector<std::string>{script, config, dir / "data"}));
  ASSERT_EQ(found.files.size(), 3u);
  EXPECT_TRUE(found.files[0].relative);
  EXPECT_FALSE(found.files[1].relative);
  EXPECT_TRUE(found.skipped.empty());
}

TEST(ArgumentFiles, RelativePathsAreNormalized) {
  ScratchDir dir;
  std::string data = dir.write("data.txt", "x");
  dir.mkdir("work");
  ArgumentFiles found = find_argument_files({"../data.txt", "./../data.txt"}, dir.path() / "work");
  EXPECT_EQ(paths_of(found), (std::vector<std::string>{data}));  // each path once
  EXPECT_TRUE(found.files[0].relative);
}

TEST(ArgumentFiles, SystemTreesAndSpecialFilesStayOut) {
  ArgumentFiles found =
      find_argument_files({"/", "/usr", "/etc/", "/proc/self/status", "/dev/null", "/sys",
                           "/etc/hosts", "/etc/resolv.conf", "/etc/hostname"}, "/");
  EXPECT_TRUE(found.files.empty());
  // "/", "/usr" and "/etc" are noted (the guest has its own); the rest is silent.
  EXPECT_TRUE(found.skipped.empty());
  ASSERT_EQ(found.notes.size(), 3u);
  EXPECT_NE(found.notes[1].find("/usr"), std::string::npos) << found.notes[1];
  EXPECT_NE(found.notes[1].find("--add"), std::string::npos) << found.notes[1];
}

TEST(ArgumentFiles, LargeDirectoriesStayOut) {
  ScratchDir dir;
  std::string big = dir.write("big/blob", "");
  // A sparse file: its size counts, and it costs no disk.
  ASSERT_EQ(::truncate(big.c_str(), static_cast<off_t>(kMaxArgumentDirectoryBytes + 1)), 0);
  std::string small = dir.write("small/file", "x");
  ArgumentFiles found = find_argument_files({dir / "big", dir / "small"}, "/");
  EXPECT_EQ(paths_of(found), (std::vector<std::string>{dir / "small"}));
  ASSERT_EQ(found.skipped.size(), 1u);
  EXPECT_NE(found.skipped[0].find("larger than 256 MiB"), std::string::npos) << found.skipped[0];
  // The file alone is what the argument asks for, whatever its size.
  EXPECT_EQ(paths_of(find_argument_files({big}, "/")), (std::vector<std::string>{big}));
}

}  // namespace
