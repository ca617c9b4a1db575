// build_elf(): writes small, well-formed ELF files with a chosen header, interpreter and dynamic
// section, for tests of the ELF reader and the dependency walker.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

struct ElfSpec {
  std::uint8_t elf_class = 2;   // ELFCLASS64
  std::uint8_t byte_order = 1;  // ELFDATA2LSB
  std::uint16_t type = 2;       // ET_EXEC; 3 is ET_DYN
  std::uint16_t machine = 62;   // EM_X86_64
  std::optional<std::string> interpreter;
  std::vector<std::string> needed;
  std::optional<std::string> soname, rpath, runpath;
  bool dynamic = false;  // a PT_DYNAMIC even without entries
};

namespace elf_builder_detail {
template <typename T>
void put(std::string& out, std::size_t at, T value) {
  if (out.size() < at + sizeof value) out.resize(at + sizeof value, '\0');
  std::memcpy(out.data() + at, &value, sizeof value);
}
}  // namespace elf_builder_detail

// Layout: ELF header, program headers (PT_LOAD over the whole file, then PT_INTERP and
// PT_DYNAMIC when used), the interpreter string, the string table, the dynamic array.
inline std::string build_elf(const ElfSpec& spec) {
  using elf_builder_detail::put;
  constexpr std::uint64_t kBase = 0x400000;
  bool dynamic = spec.dynamic || !spec.needed.empty() || spec.soname || spec.rpath || spec.runpath;
  int phnum = 1 + (spec.interpreter ? 1 : 0) + (dynamic ? 1 : 0);

  std::string strtab(1, '\0');
  auto add_string = [&](const std::string& s) {
    std::uint64_t offset = strtab.size();
    strtab += s;
    strtab += '\0';
    return offset;
  };
  std::vector<std::pair<std::int64_t, std::uint64_t>> entries;
  for (const std::string& name : spec.needed) entries.emplace_back(1, add_string(name));
  if (spec.soname) entries.emplace_back(14, add_string(*spec.soname));
  if (spec.rpath) entries.emplace_back(15, add_string(*spec.rpath));
  if (spec.runpath) entries.emplace_back(29, add_string(*spec.runpath));

  std::size_t interp_at = 64 + 56 * static_cast<std::size_t>(phnum);
  std::size_t interp_size = spec.interpreter ? spec.interpreter->size() + 1 : 0;
  std::size_t strtab_at = interp_at + interp_size;
  std::size_t dynamic_at = (strtab_at + strtab.size() + 7) & ~std::size_t{7};
  entries.emplace_back(5, kBase + strtab_at);  // DT_STRTAB
  entries.emplace_back(10, strtab.size());     // DT_STRSZ
  entries.emplace_back(0, 0);                  // DT_NULL
  std::size_t dynamic_size = dynamic ? entries.size() * 16 : 0;
  std::size_t file_size = dynamic_at + dynamic_size;

  std::string out(file_size, '\0');
  std::memcpy(out.data(),
              "\x7f"
              "ELF",
              4);
  out[4] = static_cast<char>(spec.elf_class);
  out[5] = static_cast<char>(spec.byte_order);
  out[6] = 1;  // EV_CURRENT
  put<std::uint16_t>(out, 16, spec.type);
  put<std::uint16_t>(out, 18, spec.machine);
  put<std::uint32_t>(out, 20, 1);
  put<std::uint64_t>(out, 24, kBase + 64);  // entry
  put<std::uint64_t>(out, 32, 64);          // phoff
  put<std::uint16_t>(out, 52, 64);          // ehsize
  put<std::uint16_t>(out, 54, 56);          // phentsize
  put<std::uint16_t>(out, 56, static_cast<std::uint16_t>(phnum));

  auto program_header = [&](int index, std::uint32_t type, std::uint64_t offset,
                            std::uint64_t size) {
    std::size_t at = 64 + 56 * static_cast<std::size_t>(index);
    put<std::uint32_t>(out, at, type);
    put<std::uint32_t>(out, at + 4, 5);  // R+X
    put<std::uint64_t>(out, at + 8, offset);
    put<std::uint64_t>(out, at + 16, kBase + offset);
    put<std::uint64_t>(out, at + 24, kBase + offset);
    put<std::uint64_t>(out, at + 32, size);
    put<std::uint64_t>(out, at + 40, size);
    put<std::uint64_t>(out, at + 48, 8);
  };
  int index = 0;
  program_header(index++, 1, 0, file_size);  // PT_LOAD
  if (spec.interpreter) {
    program_header(index++, 3, interp_at, interp_size);  // PT_INTERP
    std::memcpy(out.data() + interp_at, spec.interpreter->c_str(), interp_size);
  }
  if (dynamic) {
    program_header(index++, 2, dynamic_at, dynamic_size);  // PT_DYNAMIC
    std::memcpy(out.data() + strtab_at, strtab.data(), strtab.size());
    for (std::size_t i = 0; i < entries.size(); ++i) {
      put<std::int64_t>(out, dynamic_at + 16 * i, entries[i].first);
      put<std::uint64_t>(out, dynamic_at + 16 * i + 8, entries[i].second);
    }
  }
  return out;
}
