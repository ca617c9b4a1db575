// Tests of CpioWriter: the archive parses back entry by entry, with modes, times, link targets,
// contents and padding, and GNU cpio (when installed) lists the same names.
#include "cpio_writer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <sstream>

#include "cpio_reader.h"
#include "scratch_dir.h"

namespace {

std::string sample_archive(const ScratchDir& dir) {
  std::string host_file = dir.write("data.bin", std::string("\0\1\2binary", 9), 0640);
  std::ostringstream out;
  CpioWriter writer(out);
  writer.add_directory("usr", 0755, 1000);
  writer.add_directory("usr/bin", 0700, 1001);
  writer.add_file("usr/bin/tool", 04755, 1002, "#!/bin/sh\n");
  writer.add_symlink("bin", "usr/bin", 1003);
  writer.add_file("empty", 0644, 0, "");
  EXPECT_TRUE(writer.add_host_file("data.bin", 0640, 1004, host_file, 9).has_value());
  writer.finish();
  return out.str();
}

TEST(CpioWriter, RoundTripsEveryKindOfEntry) {
  ScratchDir dir;
  std::vector<CpioEntry> entries = read_cpio(sample_archive(dir));
  ASSERT_EQ(entries.size(), 6u);

  EXPECT_EQ(entries[0].name, "usr");
  EXPECT_EQ(entries[0].mode, S_IFDIR | 0755u);
  EXPECT_EQ(entries[0].mtime, 1000u);
  EXPECT_EQ(entries[0].nlink, 2u);
  EXPECT_EQ(entries[1].mode, S_IFDIR | 0700u);

  const CpioEntry* tool = find_entry(entries, "usr/bin/tool");
  ASSERT_NE(tool, nullptr);
  EXPECT_EQ(tool->mode, S_IFREG | 04755u);
  EXPECT_EQ(tool->data, "#!/bin/sh\n");
  EXPECT_EQ(tool->uid, 0u);

  const CpioEntry* link = find_entry(entries, "bin");
  ASSERT_NE(link, nullptr);
  EXPECT_EQ(link->mode, S_IFLNK | 0777u);
  EXPECT_EQ(link->data, "usr/bin");

  const CpioEntry* empty = find_entry(entries, "empty");
  ASSERT_NE(empty, nullptr);
  EXPECT_EQ(empty->data, "");

  const CpioEntry* data = find_entry(entries, "data.bin");
  ASSERT_NE(data, nullptr);
  EXPECT_EQ(data->data, std::string("\0\1\2binary", 9));
  EXPECT_EQ(data->mode, S_IFREG | 0640u);
}

TEST(CpioWriter, InodesAreDistinct) {
  ScratchDir dir;
  std::vector<CpioEntry> entries = read_cpio(sample_archive(dir));
  for (std::size_t i = 0; i < entries.size(); ++i)
    for (std::size_t j = i + 1; j < entries.size(); ++j)
      EXPECT_NE(entries[i].inode, entries[j].inode);
}

TEST(CpioWriter, EmptyArchiveIsJustTheTrailer) {
  std::ostringstream out;
  CpioWriter writer(out);
  writer.finish();
  EXPECT_TRUE(read_cpio(out.str()).empty());
  EXPECT_EQ(out.str().size() % 4, 0u);
  EXPECT_NE(out.str().find("TRAILER!!!"), std::string::npos);
}

TEST(CpioWriter, TimesOutsideThe32BitRangeAreClamped) {
  std::ostringstream out;
  CpioWriter writer(out);
  writer.add_file("old", 0644, -5, "");
  writer.add_file("far", 0644, std::int64_t{1} << 40, "");
  writer.finish();
  std::vector<CpioEntry> entries = read_cpio(out.str());
  EXPECT_EQ(entries[0].mtime, 0u);
  EXPECT_EQ(entries[1].mtime, 0xffffffffu);
}

TEST(CpioWriter, AHostFileThatChangedSizeIsAnError) {
  ScratchDir dir;
  std::string file = dir.write("grew", "123456");
  std::ostringstream out;
  CpioWriter writer(out);
  auto result = writer.add_host_file("grew", 0644, 0, file, 4);
  ASSERT_FALSE(result.has_value());
  EXPECT_NE(result.error().message.find("changed while it was being packed"), std::string::npos);
  auto missing = writer.add_host_file("gone", 0644, 0, dir / "gone", 4);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().exit_status, exit_status::kBadInput);
}

// GNU cpio reads the archive the same way (skipped when cpio is not installed).
TEST(CpioWriter, GnuCpioListsTheSameNames) {
  if (std::system("command -v cpio >/dev/null 2>&1") != 0) GTEST_SKIP() << "cpio is not installed";
  ScratchDir dir;
  std::string archive = dir.write("a.cpio", sample_archive(dir));
  std::string command = "cpio -it --quiet < '" + archive + "' > '" + (dir / "list") + "' 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << read_file(dir / "list");
  EXPECT_EQ(read_file(dir / "list"), "usr\nusr/bin\nusr/bin/tool\nbin\nempty\ndata.bin\n");
}

}  // namespace
