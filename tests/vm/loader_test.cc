// VM tests of the guest's own ELF loader: archives made by hand (nimbus build would refuse
// these programs on the host) are booted with --initrd, and the kernel must refuse each
// malformed program with a clear message and status 126 rather than crash or hang.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "nimbus_runner.h"
#include "temp_dir.h"

namespace {

using Args = std::vector<std::string>;
constexpr int kBadExecutable = 126;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string read_host_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

template <typename T>
void put(std::string& bytes, size_t offset, T value) {
  if (bytes.size() < offset + sizeof(T)) bytes.resize(offset + sizeof(T), '\0');
  for (size_t i = 0; i < sizeof(T); i++) bytes[offset + i] = static_cast<char>(value >> (8 * i));
}

// An ELF header written by hand: class, type and machine, the rest zero.
std::string elf_header(uint8_t elf_class, uint16_t type, uint16_t machine) {
  std::string bytes("\x7f" "ELF", 4);
  bytes += static_cast<char>(elf_class);
  bytes += std::string("\x01\x01", 2);
  bytes.resize(16, '\0');
  put<uint16_t>(bytes, 16, type);
  put<uint16_t>(bytes, 18, machine);
  put<uint32_t>(bytes, 20, 1);
  bytes.resize(64, '\0');
  return bytes;
}

// An x86-64 executable whose one PT_LOAD claims file bytes the file does not have.
std::string segment_beyond_the_file() {
  std::string bytes = elf_header(2, 2, 62);
  put<uint64_t>(bytes, 24, 0x401000);  // e_entry
  put<uint64_t>(bytes, 32, 64);        // e_phoff
  put<uint16_t>(bytes, 52, 64);        // e_ehsize
  put<uint16_t>(bytes, 54, 56);        // e_phentsize
  put<uint16_t>(bytes, 56, 1);         // e_phnum
  size_t ph = 64;
  put<uint32_t>(bytes, ph + 0, 1);           // PT_LOAD
  put<uint32_t>(bytes, ph + 4, 5);           // R+X
  put<uint64_t>(bytes, ph + 8, 0);           // p_offset
  put<uint64_t>(bytes, ph + 16, 0x400000);   // p_vaddr
  put<uint64_t>(bytes, ph + 24, 0x400000);   // p_paddr
  put<uint64_t>(bytes, ph + 32, 0x100000);   // p_filesz: 1 MiB, the file has 120 bytes
  put<uint64_t>(bytes, ph + 40, 0x100000);   // p_memsz
  put<uint64_t>(bytes, ph + 48, 0x1000);     // p_align
  return bytes;
}

// A root archive whose launch description runs /prog, holding `program` as /prog.
std::string make_archive(const TempDir& dir, const std::string& program) {
  std::filesystem::path root = dir.path() / "root";
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root / ".nimbus");
  std::ofstream(root / ".nimbus/exe") << "/prog";
  std::ofstream(root / ".nimbus/argv") << std::string("prog\0", 5);
  std::ofstream(root / "prog", std::ios::binary) << program;
  std::filesystem::permissions(root / "prog", std::filesystem::perms(0755));
  std::string archive = (dir.path() / "root.cpio").string();
  std::string command = "cd '" + root.string() + "' && find .nimbus prog | LC_ALL=C sort | cpio -o -H newc --quiet > '" +
                        archive + "'";
  if (std::system(command.c_str()) != 0) return "";
  return archive;
}

TEST(GuestLoader, RefusesMalformedProgramsWithStatus126) {
  if (std::system("command -v cpio >/dev/null 2>&1") != 0)
    GTEST_FAIL() << "cpio is not installed (scripts/install-deps adds it)";
  TempDir dir;
  struct Case {
    const char* what;
    std::string program;
  };
  const Case cases[] = {
      {"not an ELF file", "#!/bin/sh\necho hello\n"},
      {"empty", ""},
      {"truncated", read_host_file("/bin/ls").substr(0, 1000)},
      {"32-bit", elf_header(1, 2, 3)},
      {"ARM", elf_header(2, 2, 40)},
      {"relocatable object", elf_header(2, 1, 62)},
      {"segment beyond the file", segment_beyond_the_file()},
  };
  for (const Case& c : cases) {
    std::string archive = make_archive(dir, c.program);
    ASSERT_FALSE(archive.empty()) << c.what << ": cpio failed";
    Args args{"run", "--timeout", "60", "--initrd", archive};
    NimbusRun run = run_nimbus(args, RunLimits{std::chrono::seconds(90)});
    EXPECT_EQ(run.status, kBadExecutable) << c.what << "\n" << describe(args, run);
    EXPECT_TRUE(contains(run.output(), "nimbus: cannot run /prog: ")) << c.what << "\n" << run.output();
    EXPECT_FALSE(contains(run.output(), "panic")) << c.what << "\n" << run.output();
  }
}

TEST(GuestLoader, MissingInitrdIsAClearError) {
  NimbusRun run = run_nimbus({"run", "--initrd", "/nonexistent/root.cpio"});
  EXPECT_EQ(run.status, 125) << run.output();
  EXPECT_TRUE(contains(run.err, "initrd /nonexistent/root.cpio: No such file or directory")) << run.err;
}

}  // namespace
