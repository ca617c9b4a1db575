// Tests of the memory an image needs: the initrd's measure and the refusal of a --memory that
// cannot hold it.
#include "memory_fit.h"

#include <gtest/gtest.h>

#include <fstream>

#include "cpio_writer.h"
#include "scratch_dir.h"

namespace {

TEST(MemoryFit, MeasuresACpioArchive) {
  ScratchDir dir;
  std::string path = dir / "initrd.cpio";
  {
    std::ofstream out(path, std::ios::binary);
    CpioWriter writer(out);
    writer.add_directory("usr", 0755, 0);
    writer.add_file("usr/a", 0644, 0, std::string(5000, 'a'));
    writer.add_symlink("usr/b", "a", 0);
    writer.add_file("usr/c", 0644, 0, "odd");
    writer.finish();
  }
  auto size = measure_initrd(path);
  ASSERT_TRUE(size.has_value()) << size.error().message;
  EXPECT_EQ(size->entries, 4u);
  EXPECT_EQ(size->bytes, std::filesystem::file_size(path));

  // Not a cpio archive: the size alone.
  auto other = measure_initrd(dir.write("raw", std::string(100, 'x')));
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(other->entries, 0u);
  EXPECT_EQ(other->bytes, 100u);
  EXPECT_FALSE(measure_initrd(dir / "missing").has_value());
}

TEST(MemoryFit, TheMeasuredMinimumsHold) {
  // Measured under TCG (see memory_fit.h): 101 MiB booted these, 100 MiB and 123 MiB did not.
  EXPECT_GE(minimum_memory_mib({102223804, 22}), 101u);
  EXPECT_GE(minimum_memory_mib({124057000, 4922}), 124u);
  EXPECT_LE(minimum_memory_mib({102223804, 22}), 104u);  // and not much more
}

TEST(MemoryFit, DefaultsFitTheImage) {
  EXPECT_EQ(default_memory_mib({3 << 20, 40}), 128u);  // small programs keep 128 MiB
  std::uint64_t python = default_memory_mib({124057000, 4922});
  EXPECT_GE(python, minimum_memory_mib({124057000, 4922}) + 96);
  EXPECT_EQ(python % 32, 0u);
  auto fitted = fit_memory({124057000, 4922}, std::nullopt);
  ASSERT_TRUE(fitted.has_value());
  EXPECT_EQ(*fitted, python);
}

TEST(MemoryFit, AnExplicitSizeThatCannotHoldTheImageIsRefused) {
  InitrdSize initrd{124057000, 4922};
  auto refused = fit_memory(initrd, 124);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().exit_status, exit_status::kUsage);
  EXPECT_NE(refused.error().message.find("needs at least 125 MiB"), std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("use --memory"), std::string::npos);
  auto accepted = fit_memory(initrd, 125);
  ASSERT_TRUE(accepted.has_value());
  EXPECT_EQ(*accepted, 125u);
}

TEST(MemoryFit, ADiskRootNeedsOnlyItsEtcInRam) {
  // Python's image: the disk holds the 75 MB standard library; the initrd only /etc.
  InitrdSize disk_root{20 << 10, 30, true};
  EXPECT_LE(minimum_memory_mib(disk_root), 6u);
  EXPECT_EQ(default_memory_mib(disk_root), 128u);
  auto accepted = fit_memory(disk_root, 24);
  ASSERT_TRUE(accepted.has_value());
  EXPECT_EQ(*accepted, 24u);
  auto refused = fit_memory(disk_root, 2);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message.find("/etc, which stays in RAM"), std::string::npos) << refused.error().message;
}

}  // namespace
