// Tests of the image file: the header's encoding and every check on it, and whole images written,
// verified, damaged and read back.
#include "image_format.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "cpio_reader.h"
#include "image_file.h"
#include "scratch_dir.h"

namespace {

ImageHeader sample_header() {
  ImageHeader header;
  header.kernel = {128, 1000};
  header.initrd = {1128, 512};
  header.command_line = {1640, 7};
  header.image_size = 1647;
  for (std::size_t i = 0; i < header.digest.size(); ++i)
    header.digest[i] = static_cast<std::uint8_t>(i);
  return header;
}

std::span<const std::byte> span_of(const std::array<std::byte, kImageHeaderSize>& bytes) {
  return bytes;
}

CliError decode_error(std::array<std::byte, kImageHeaderSize> bytes, std::uint64_t file_size) {
  auto header = decode_image_header(bytes, file_size, "x.nimbus");
  EXPECT_FALSE(header.has_value());
  if (header) return {};
  EXPECT_EQ(header.error().exit_status, exit_status::kBadImage);
  EXPECT_TRUE(header.error().message.starts_with("x.nimbus: not a usable Nimbus image ("))
      << header.error().message;
  return header.error();
}

template <typename T>
std::array<std::byte, kImageHeaderSize> with_field(std::array<std::byte, kImageHeaderSize> bytes,
                                                   std::size_t at, T value) {
  for (std::size_t i = 0; i < sizeof(T); ++i)
    bytes[at + i] = static_cast<std::byte>((static_cast<std::uint64_t>(value) >> (8 * i)) & 0xff);
  return bytes;
}

TEST(ImageHeader, RoundTrips) {
  ImageHeader header = sample_header();
  auto bytes = encode_image_header(header);
  EXPECT_TRUE(has_image_magic(span_of(bytes)));
  auto decoded = decode_image_header(span_of(bytes), header.image_size, "x");
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_EQ(decoded->image_size, header.image_size);
  EXPECT_EQ(decoded->kernel.offset, 128u);
  EXPECT_EQ(decoded->initrd.size, 512u);
  EXPECT_EQ(decoded->command_line.offset, 1640u);
  EXPECT_EQ(decoded->digest, header.digest);
}

TEST(ImageHeader, DiskMakesVersionTwo) {
  ImageHeader header = sample_header();
  auto version_one = encode_image_header(header);
  EXPECT_EQ(version_one[16], std::byte{1});
  header.disk = {1647, 4096};
  header.image_size = 1647 + 4096;
  auto bytes = encode_image_header(header);
  EXPECT_EQ(bytes[16], std::byte{2});
  auto decoded = decode_image_header(span_of(bytes), header.image_size, "x");
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_EQ(decoded->disk.offset, 1647u);
  EXPECT_EQ(decoded->disk.size, 4096u);
  // A version 2 image without a disk, and a disk overlapping the initrd, are refused.
  auto no_disk = with_field<std::uint64_t>(bytes, 120, 0);
  EXPECT_NE(decode_error(no_disk, header.image_size).message.find("disk is empty"), std::string::npos);
  auto overlapping = with_field<std::uint64_t>(bytes, 112, 1128);
  EXPECT_NE(decode_error(overlapping, header.image_size).message.find("overlap"), std::string::npos);
}

TEST(ImageHeader, EveryInconsistencyIsRefused) {
  auto good = encode_image_header(sample_header());
  std::uint64_t size = sample_header().image_size;
  auto message = [](const CliError& error) { return error.message; };

  EXPECT_NE(message(decode_error(with_field<std::uint8_t>(good, 0, 'X'), size))
                .find("no NIMBUS-IMAGE magic"),
            std::string::npos);
  EXPECT_NE(message(decode_error(good, 100)).find("truncated: 100 bytes"), std::string::npos);
  EXPECT_NE(message(decode_error(good, size - 1)).find("truncated: 1646 of 1647 bytes"),
            std::string::npos);
  EXPECT_NE(message(decode_error(good, size + 3)).find("3 unexpected bytes"), std::string::npos);
  EXPECT_NE(
      message(decode_error(with_field<std::uint32_t>(good, 16, 3), size)).find("format version 3"),
      std::string::npos);
  EXPECT_NE(
      message(decode_error(with_field<std::uint32_t>(good, 20, 64), size)).find("header size"),
      std::string::npos);
  EXPECT_NE(
      message(decode_error(with_field<std::uint8_t>(good, 14, 1), size)).find("after the magic"),
      std::string::npos);
  EXPECT_NE(message(decode_error(with_field<std::uint8_t>(good, 120, 1), size)).find("reserved"),
            std::string::npos);
  // Sections outside the file, wrapping around, inside the header, empty, overlapping.
  EXPECT_NE(message(decode_error(with_field<std::uint64_t>(good, 40, 5000), size))
                .find("kernel lies outside"),
            std::string::npos);
  EXPECT_NE(message(decode_error(with_field<std::uint64_t>(good, 56, ~std::uint64_t{0}), size))
                .find("initrd lies outside"),
            std::string::npos);
  EXPECT_NE(message(decode_error(with_field<std::uint64_t>(good, 32, 64), size))
                .find("kernel lies outside"),
            std::string::npos);
  EXPECT_NE(
      message(decode_error(with_field<std::uint64_t>(good, 40, 0), size)).find("kernel is empty"),
      std::string::npos);
  EXPECT_NE(
      message(decode_error(with_field<std::uint64_t>(good, 56, 0), size)).find("initrd is empty"),
      std::string::npos);
  EXPECT_NE(message(decode_error(with_field<std::uint64_t>(good, 48, 1000), size)).find("overlap"),
            std::string::npos);
  // A header cut short in memory, though the file claims more.
  auto short_header = decode_image_header(span_of(good).first(60), size, "x");
  ASSERT_FALSE(short_header.has_value());
  EXPECT_EQ(short_header.error().exit_status, exit_status::kBadImage);
}

// A complete image from a hand-made plan: a fake kernel file and a tiny root file system.
class ImageFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_plan.kernel_path = m_dir.write("kernel.elf", std::string(5000, 'K'));
    ASSERT_TRUE(m_plan.tree.add_generated_file("/.nimbus/exe", "/bin/x", 0644).has_value());
    m_plan.kernel_words = {"verbose", "test=none"};
    m_image = m_dir / "x.nimbus";
    auto header = write_image(m_plan, m_image);
    ASSERT_TRUE(header.has_value()) << header.error().message;
    m_header = *header;
  }

  void damage(std::uint64_t offset) {
    std::fstream file(m_image, std::ios::binary | std::ios::in | std::ios::out);
    file.seekg(static_cast<std::streamoff>(offset));
    char byte = 0;
    file.read(&byte, 1);
    file.seekp(static_cast<std::streamoff>(offset));
    byte ^= 0x20;
    file.write(&byte, 1);
  }

  ScratchDir m_dir;
  ImagePlan m_plan;
  std::string m_image;
  ImageHeader m_header;
};

TEST_F(ImageFileTest, WrittenImageVerifiesAndReadsBack) {
  EXPECT_TRUE(looks_like_image(m_image));
  EXPECT_FALSE(looks_like_image(m_plan.kernel_path));
  auto header = verify_image(m_image);
  ASSERT_TRUE(header.has_value()) << header.error().message;
  EXPECT_EQ(header->kernel.offset, kImageHeaderSize);
  EXPECT_EQ(header->kernel.size, 5000u);
  EXPECT_EQ(header->image_size, std::filesystem::file_size(m_image));

  ASSERT_TRUE(extract_section(m_image, header->kernel, m_dir / "k").has_value());
  EXPECT_EQ(read_file(m_dir / "k"), std::string(5000, 'K'));
  ASSERT_TRUE(extract_section(m_image, header->initrd, m_dir / "i").has_value());
  // A small tree stays in the initrd alone (a version 1 image).
  std::vector<CpioEntry> entries = read_cpio(read_file(m_dir / "i"));
  ASSERT_NE(find_entry(entries, ".nimbus/exe"), nullptr);
  EXPECT_EQ(header->disk.size, 0u);
  auto words = read_section(m_image, header->command_line);
  ASSERT_TRUE(words.has_value());
  EXPECT_EQ(*words, "verbose test=none");
  EXPECT_EQ(split_words(*words), m_plan.kernel_words);
  // No temporary file is left beside the image.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(m_dir.path()), {}), 4);
}

TEST_F(ImageFileTest, ARootDiskHoldsTheTreeAndTheInitrdOnlyEtc) {
  m_plan.root_storage = RootStorage::disk;
  ASSERT_TRUE(m_plan.tree.add_generated_file("/etc/motd", "hi\n", 0644).has_value());
  std::string image = m_dir / "disk.nimbus";
  ASSERT_TRUE(write_image(m_plan, image).has_value());
  auto header = verify_image(image);
  ASSERT_TRUE(header.has_value()) << header.error().message;
  ASSERT_GT(header->disk.size, 0u);
  ASSERT_TRUE(extract_section(image, header->initrd, m_dir / "i").has_value());
  std::vector<CpioEntry> entries = read_cpio(read_file(m_dir / "i"));
  EXPECT_EQ(find_entry(entries, ".nimbus/exe"), nullptr);
  EXPECT_NE(find_entry(entries, "etc/motd"), nullptr);
  ASSERT_TRUE(extract_section(image, header->disk, m_dir / "d").has_value());
  std::string disk = read_file(m_dir / "d");
  ASSERT_GT(disk.size(), 1024u + 58);
  EXPECT_EQ(static_cast<unsigned char>(disk[1024 + 56]), 0x53u);  // s_magic 0xEF53
  EXPECT_EQ(static_cast<unsigned char>(disk[1024 + 57]), 0xefu);
  // debugfs (e2fsprogs) finds the launch description on it.
  std::string command = "debugfs -R 'cat /.nimbus/exe' '" + (m_dir / "d") + "' 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char buffer[256] = {};
  std::size_t n = std::fread(buffer, 1, sizeof(buffer) - 1, pipe);
  ::pclose(pipe);
  EXPECT_EQ(std::string(buffer, n), "/bin/x");
}

TEST_F(ImageFileTest, AnyDamagedByteIsCaught) {
  for (std::uint64_t offset : {m_header.kernel.offset + 10, m_header.initrd.offset + 3,
                               m_header.command_line.offset, std::uint64_t{90}}) {
    damage(offset);
    auto header = verify_image(m_image);
    ASSERT_FALSE(header.has_value()) << offset;
    EXPECT_EQ(header.error().exit_status, exit_status::kBadImage);
    damage(offset);  // undo
    ASSERT_TRUE(verify_image(m_image).has_value()) << offset;
  }
  damage(m_header.initrd.offset + 3);
  EXPECT_NE(verify_image(m_image).error().message.find("do not match the SHA-256"),
            std::string::npos);
}

TEST_F(ImageFileTest, TruncatedImagesAreRefused) {
  std::uint64_t size = m_header.image_size;
  for (std::uint64_t cut :
       {size - 1, size / 2, std::uint64_t{kImageHeaderSize}, std::uint64_t{20}, std::uint64_t{0}}) {
    std::filesystem::resize_file(m_image, cut);
    auto header = verify_image(m_image);
    ASSERT_FALSE(header.has_value()) << cut;
    EXPECT_EQ(header.error().exit_status, exit_status::kBadImage) << cut;
  }
  auto missing = verify_image(m_dir / "absent.nimbus");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().exit_status, exit_status::kBadImage);
}

TEST(ImageWords, SplitAndJoin) {
  EXPECT_EQ(join_words({}), "");
  EXPECT_EQ(join_words({"a", "b=c"}), "a b=c");
  EXPECT_EQ(split_words(""), std::vector<std::string>{});
  EXPECT_EQ(split_words(" a  b "), (std::vector<std::string>{"a", "b"}));
}

}  // namespace
