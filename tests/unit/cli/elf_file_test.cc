// Tests of parse_elf(): real system binaries, a static one, and hand-made headers that are for
// another machine, truncated or inconsistent.
#include "elf_file.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "elf_builder.h"
#include "mapped_file.h"

namespace {

std::span<const std::byte> bytes_of(const std::string& text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

std::expected<ElfInfo, ElfError> parse_file(const std::string& path) {
  auto file = MappedFile::open(path);
  if (!file) return std::unexpected(ElfError{ElfError::Kind::NotElf, file.error().message});
  return parse_elf(file->bytes());
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

TEST(ElfFile, LsNeedsLibcAndTheInterpreter) {
  auto info = parse_file("/bin/ls");
  ASSERT_TRUE(info.has_value()) << info.error().reason;
  ASSERT_TRUE(info->interpreter.has_value());
  EXPECT_EQ(*info->interpreter, "/lib64/ld-linux-x86-64.so.2");
  EXPECT_TRUE(contains(info->needed, "libc.so.6"));
}

TEST(ElfFile, LibcIsASharedObjectWithASoname) {
  auto info = parse_file("/lib/x86_64-linux-gnu/libc.so.6");
  ASSERT_TRUE(info.has_value()) << info.error().reason;
  EXPECT_TRUE(info->is_shared_object);
  EXPECT_EQ(info->soname, "libc.so.6");
}

TEST(ElfFile, StaticBinaryNeedsNothing) {
  auto info = parse_file(NIMBUS_TEST_STATIC_ELF);
  ASSERT_TRUE(info.has_value()) << info.error().reason;
  EXPECT_FALSE(info->interpreter.has_value());
  EXPECT_TRUE(info->needed.empty());
}

TEST(ElfFile, BuiltHeaderRoundTrips) {
  ElfSpec spec;
  spec.type = 3;
  spec.interpreter = "/lib/ld-test.so";
  spec.needed = {"liba.so.1", "libb.so.2"};
  spec.soname = "libself.so";
  spec.rpath = "/opt/r";
  spec.runpath = "$ORIGIN/../lib";
  std::string elf = build_elf(spec);
  auto info = parse_elf(bytes_of(elf));
  ASSERT_TRUE(info.has_value()) << info.error().reason;
  EXPECT_TRUE(info->is_shared_object);
  EXPECT_EQ(info->interpreter, "/lib/ld-test.so");
  EXPECT_EQ(info->needed, (std::vector<std::string>{"liba.so.1", "libb.so.2"}));
  EXPECT_EQ(info->soname, "libself.so");
  EXPECT_EQ(info->rpath, "/opt/r");
  EXPECT_EQ(info->runpath, "$ORIGIN/../lib");
}

struct Refusal {
  const char* name;
  std::string bytes;
  ElfError::Kind kind;
  const char* reason;
};

std::string with_byte(std::string elf, std::size_t at, char value) {
  elf[at] = value;
  return elf;
}

template <typename T>
std::string with_field(std::string elf, std::size_t at, T value) {
  std::memcpy(elf.data() + at, &value, sizeof value);
  return elf;
}

TEST(ElfFile, RefusesWhatIsNotAnX86_64Executable) {
  std::string good =
      build_elf(ElfSpec{.interpreter = "/lib64/ld-linux-x86-64.so.2", .needed = {"libc.so.6"}});
  std::string ls_start;
  {
    auto file = MappedFile::open("/bin/ls");
    ASSERT_TRUE(file.has_value());
    ls_start.assign(reinterpret_cast<const char*>(file->bytes().data()), 1000);
  }
  using Kind = ElfError::Kind;
  std::vector<Refusal> cases = {
      {"text", "hello\n", Kind::NotElf, "not an ELF file"},
      {"empty", "", Kind::NotElf, "not an ELF file"},
      {"magic only",
       "\x7f"
       "ELF",
       Kind::Malformed, "truncated ELF header"},
      {"32-bit", with_byte(good, 4, 1), Kind::Incompatible, "32-bit ELF"},
      {"big-endian", with_byte(good, 5, 2), Kind::Incompatible, "big-endian ELF"},
      {"ARM", with_field<std::uint16_t>(good, 18, 40), Kind::Incompatible, "machine is ARM"},
      {"AArch64", with_field<std::uint16_t>(good, 18, 183), Kind::Incompatible,
       "machine is AArch64"},
      {"object file", with_field<std::uint16_t>(good, 16, 1), Kind::Incompatible,
       "relocatable object"},
      {"core dump", with_field<std::uint16_t>(good, 16, 4), Kind::Incompatible, "core dump"},
      {"bad class", with_byte(good, 4, 9), Kind::Malformed, "unknown ELF class 9"},
      {"bad version", with_byte(good, 6, 0), Kind::Malformed, "unknown ELF version"},
      {"half a header", good.substr(0, 40), Kind::Malformed, "truncated ELF header"},
      {"truncated ls", ls_start, Kind::Malformed, "truncated"},
      {"program headers past the end", with_field<std::uint64_t>(good, 32, 1 << 20),
       Kind::Malformed, "program headers end past the end"},
      {"no program headers", with_field<std::uint16_t>(good, 56, 0), Kind::Malformed,
       "no program headers"},
      {"wrong header size", with_field<std::uint16_t>(good, 54, 32), Kind::Malformed,
       "program header size"},
      {"segment past the end", with_field<std::uint64_t>(good, 64 + 32, 1 << 20), Kind::Malformed,
       "segment ends past the end"},
      {"headers cut off", good.substr(0, 64 + 56 + 10), Kind::Malformed,
       "program headers end past the end"},
  };
  for (const Refusal& refusal : cases) {
    auto info = parse_elf(bytes_of(refusal.bytes));
    ASSERT_FALSE(info.has_value()) << refusal.name;
    EXPECT_EQ(info.error().kind, refusal.kind) << refusal.name << ": " << info.error().reason;
    EXPECT_NE(info.error().reason.find(refusal.reason), std::string::npos)
        << refusal.name << ": " << info.error().reason;
  }
}

TEST(ElfFile, RefusesDynamicStringsOutOfBounds) {
  ElfSpec spec{.needed = {"libc.so.6"}};
  std::string elf = build_elf(spec);
  // The dynamic array is last: NEEDED, STRTAB, STRSZ, NULL. Point NEEDED far outside the table.
  std::size_t dynamic_at = elf.size() - 4 * 16;
  auto info = parse_elf(bytes_of(with_field<std::uint64_t>(elf, dynamic_at + 8, 1 << 20)));
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().kind, ElfError::Kind::Malformed);

  // A string table whose address lies in no loadable segment.
  info = parse_elf(bytes_of(with_field<std::uint64_t>(elf, dynamic_at + 16 + 8, 0x10)));
  ASSERT_FALSE(info.has_value());
  EXPECT_NE(info.error().reason.find("outside the loadable segments"), std::string::npos);

  // An interpreter string without its NUL.
  std::string interp = build_elf(ElfSpec{.interpreter = "/lib/ld.so"});
  std::size_t at = interp.find("/lib/ld.so");
  interp[at + std::strlen("/lib/ld.so")] = 'x';
  info = parse_elf(bytes_of(interp));
  ASSERT_FALSE(info.has_value());
  EXPECT_NE(info.error().reason.find("PT_INTERP"), std::string::npos);
}

TEST(ElfFile, EveryTruncationOfABinaryIsRefusedWithoutACrash) {
  std::string elf = build_elf(ElfSpec{.interpreter = "/lib64/ld-linux-x86-64.so.2",
                                      .needed = {"libc.so.6", "libm.so.6"},
                                      .runpath = "$ORIGIN"});
  for (std::size_t size = 0; size < elf.size(); ++size)
    EXPECT_FALSE(parse_elf(bytes_of(elf.substr(0, size))).has_value()) << size;
  EXPECT_TRUE(parse_elf(bytes_of(elf)).has_value());
}

}  // namespace
