// parse_elf(): reads what packing needs from an ELF64 x86-64 file (interpreter, needed libraries,
// search paths) straight from its bytes, without loading or running it.
#pragma once

#include <cstddef>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <vector>

struct ElfInfo {
  bool is_shared_object = false;           // ET_DYN (PIE executables and libraries); else ET_EXEC
  std::optional<std::string> interpreter;  // PT_INTERP, e.g. /lib64/ld-linux-x86-64.so.2
  std::vector<std::string> needed;         // DT_NEEDED, in order
  std::optional<std::string> rpath;        // DT_RPATH, as written (with $ORIGIN etc.)
  std::optional<std::string> runpath;      // DT_RUNPATH
  std::optional<std::string> soname;       // DT_SONAME
  bool no_default_lib = false;             // DF_1_NODEFLIB: skip the default directories
};

struct ElfError {
  enum class Kind {
    NotElf,        // no ELF magic
    Incompatible,  // a well-formed ELF for another class, byte order or machine
    Malformed,     // claims to be ELF64 x86-64 but is truncated or inconsistent
  };
  Kind kind;
  std::string reason;  // e.g. "32-bit ELF", "machine is AArch64"
};

bool has_elf_magic(std::span<const std::byte> bytes);

// Checks the file is a well-formed ELF64 little-endian x86-64 executable or shared object and
// reads its dynamic section.
std::expected<ElfInfo, ElfError> parse_elf(std::span<const std::byte> bytes);
