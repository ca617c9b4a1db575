// parse_elf(): reads what packing needs from an ELF64 x86-64 file (interpreter, needed libraries,
// search paths) straight from its bytes, without loading or running it.
//
// Structures and constants are those of the System V ABI (gABI) and its x86-64 supplement; every
// offset read from the file is bounds-checked, so a hostile or truncated file only yields an error.
#include "elf_file.h"

#include <cstdint>
#include <cstring>
#include <string_view>

#include "text.h"

namespace {

// e_ident indices and values.
constexpr std::size_t kEiClass = 4;
constexpr std::size_t kEiData = 5;
constexpr std::size_t kEiVersion = 6;
constexpr std::uint8_t kElfClass32 = 1;
constexpr std::uint8_t kElfClass64 = 2;
constexpr std::uint8_t kElfData2Lsb = 1;
constexpr std::uint8_t kElfData2Msb = 2;

constexpr std::uint16_t kEtRel = 1;
constexpr std::uint16_t kEtExec = 2;
constexpr std::uint16_t kEtDyn = 3;
constexpr std::uint16_t kEtCore = 4;
constexpr std::uint16_t kEmX86_64 = 62;

constexpr std::uint32_t kPtLoad = 1;
constexpr std::uint32_t kPtDynamic = 2;
constexpr std::uint32_t kPtInterp = 3;

constexpr std::int64_t kDtNull = 0;
constexpr std::int64_t kDtNeeded = 1;
constexpr std::int64_t kDtStrtab = 5;
constexpr std::int64_t kDtStrsz = 10;
constexpr std::int64_t kDtSoname = 14;
constexpr std::int64_t kDtRpath = 15;
constexpr std::int64_t kDtRunpath = 29;
constexpr std::int64_t kDtFlags1 = 0x6ffffffb;
constexpr std::uint64_t kDf1NoDefLib = 0x800;

constexpr std::size_t kEhdrSize = 64;
constexpr std::size_t kPhdrSize = 56;
constexpr std::size_t kDynSize = 16;
constexpr std::uint16_t kPnXnum = 0xffff;  // the real count would be in section header 0

struct ProgramHeader {
  std::uint32_t type;
  std::uint64_t offset, vaddr, filesz, memsz;
};

// Little-endian field reads at a checked offset (the file may be unaligned in memory).
template <typename T>
T read(std::span<const std::byte> bytes, std::size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  return value;
}

// True when [offset, offset + size) lies inside a file of `file_size` bytes, without overflow.
bool fits(std::uint64_t offset, std::uint64_t size, std::uint64_t file_size) {
  return offset <= file_size && size <= file_size - offset;
}

std::string machine_name(std::uint16_t machine) {
  switch (machine) {
    case 3:
      return "i386";
    case 8:
      return "MIPS";
    case 20:
      return "PowerPC";
    case 21:
      return "PowerPC64";
    case 22:
      return "S/390";
    case 40:
      return "ARM";
    case 183:
      return "AArch64";
    case 243:
      return "RISC-V";
    case 258:
      return "LoongArch";
    default:
      return cat("number ", machine);
  }
}

std::unexpected<ElfError> incompatible(std::string reason) {
  return std::unexpected(ElfError{ElfError::Kind::Incompatible, std::move(reason)});
}

std::unexpected<ElfError> malformed(std::string reason) {
  return std::unexpected(ElfError{ElfError::Kind::Malformed, std::move(reason)});
}

// The identification and ELF header checks: everything that decides "is this for x86-64?".
std::expected<std::uint16_t, ElfError> check_header(std::span<const std::byte> bytes) {
  if (!has_elf_magic(bytes))
    return std::unexpected(ElfError{ElfError::Kind::NotElf, "not an ELF file"});
  if (bytes.size() <= kEiVersion) return malformed("truncated ELF header");
  auto ident = [&](std::size_t i) { return static_cast<std::uint8_t>(bytes[i]); };
  if (ident(kEiClass) == kElfClass32) return incompatible("32-bit ELF");
  if (ident(kEiClass) != kElfClass64) return malformed(cat("unknown ELF class ", ident(kEiClass)));
  if (ident(kEiData) == kElfData2Msb) return incompatible("big-endian ELF");
  if (ident(kEiData) != kElfData2Lsb)
    return malformed(cat("unknown ELF byte order ", ident(kEiData)));
  if (ident(kEiVersion) != 1) return malformed(cat("unknown ELF version ", ident(kEiVersion)));
  if (bytes.size() < kEhdrSize) return malformed("truncated ELF header");

  auto machine = read<std::uint16_t>(bytes, 18);
  if (machine != kEmX86_64) return incompatible(cat("machine is ", machine_name(machine)));
  auto type = read<std::uint16_t>(bytes, 16);
  switch (type) {
    case kEtExec:
    case kEtDyn:
      return type;
    case kEtRel:
      return incompatible("a relocatable object file, not linked");
    case kEtCore:
      return incompatible("a core dump");
    default:
      return malformed(cat("unknown ELF type ", type));
  }
}

std::expected<std::vector<ProgramHeader>, ElfError> read_program_headers(
    std::span<const std::byte> bytes) {
  auto phoff = read<std::uint64_t>(bytes, 32);
  auto phentsize = read<std::uint16_t>(bytes, 54);
  auto phnum = read<std::uint16_t>(bytes, 56);
  if (phnum == 0) return malformed("no program headers");
  if (phnum == kPnXnum) return malformed("more program headers than this reader supports");
  if (phentsize != kPhdrSize) return malformed(cat("program header size ", phentsize, ", not 56"));
  if (!fits(phoff, std::uint64_t{phnum} * kPhdrSize, bytes.size()))
    return malformed("truncated: the program headers end past the end of the file");

  std::vector<ProgramHeader> headers;
  for (std::uint16_t i = 0; i < phnum; ++i) {
    std::size_t at = phoff + std::size_t{i} * kPhdrSize;
    ProgramHeader header{read<std::uint32_t>(bytes, at), read<std::uint64_t>(bytes, at + 8),
                         read<std::uint64_t>(bytes, at + 16), read<std::uint64_t>(bytes, at + 32),
                         read<std::uint64_t>(bytes, at + 40)};
    bool needs_contents =
        header.type == kPtLoad || header.type == kPtDynamic || header.type == kPtInterp;
    if (needs_contents && !fits(header.offset, header.filesz, bytes.size()))
      return malformed("truncated: a segment ends past the end of the file");
    if (header.type == kPtLoad && header.filesz > header.memsz)
      return malformed("a loadable segment is larger in the file than in memory");
    headers.push_back(header);
  }
  return headers;
}

// The loader finds the dynamic string table by address; the file offset is wherever the load
// segment holding that address was read from.
std::optional<std::uint64_t> file_offset_of(const std::vector<ProgramHeader>& headers,
                                            std::uint64_t vaddr, std::uint64_t size) {
  for (const ProgramHeader& header : headers) {
    if (header.type != kPtLoad || vaddr < header.vaddr) continue;
    std::uint64_t delta = vaddr - header.vaddr;
    if (fits(delta, size, header.filesz)) return header.offset + delta;
  }
  return std::nullopt;
}

struct DynamicEntries {
  std::vector<std::uint64_t> needed;
  std::optional<std::uint64_t> strtab, strsz, soname, rpath, runpath;
  std::uint64_t flags_1 = 0;
};

DynamicEntries read_dynamic(std::span<const std::byte> bytes, const ProgramHeader& dynamic) {
  DynamicEntries entries;
  for (std::uint64_t at = dynamic.offset; at + kDynSize <= dynamic.offset + dynamic.filesz;
       at += kDynSize) {
    auto tag = read<std::int64_t>(bytes, at);
    auto value = read<std::uint64_t>(bytes, at + 8);
    if (tag == kDtNull) break;
    switch (tag) {
      case kDtNeeded:
        entries.needed.push_back(value);
        break;
      case kDtStrtab:
        entries.strtab = value;
        break;
      case kDtStrsz:
        entries.strsz = value;
        break;
      case kDtSoname:
        entries.soname = value;
        break;
      case kDtRpath:
        entries.rpath = value;
        break;
      case kDtRunpath:
        entries.runpath = value;
        break;
      case kDtFlags1:
        entries.flags_1 = value;
        break;
      default:
        break;
    }
  }
  return entries;
}

}  // namespace

bool has_elf_magic(std::span<const std::byte> bytes) {
  return bytes.size() >= 4 && std::memcmp(bytes.data(),
                                          "\x7f"
                                          "ELF",
                                          4) == 0;
}

std::expected<ElfInfo, ElfError> parse_elf(std::span<const std::byte> bytes) {
  auto type = check_header(bytes);
  if (!type) return std::unexpected(type.error());
  auto headers = read_program_headers(bytes);
  if (!headers) return std::unexpected(headers.error());

  ElfInfo info;
  info.is_shared_object = *type == kEtDyn;
  const ProgramHeader* dynamic = nullptr;
  bool has_load = false;
  for (const ProgramHeader& header : *headers) {
    if (header.type == kPtLoad) has_load = true;
    if (header.type == kPtDynamic && !dynamic) dynamic = &header;
    if (header.type == kPtInterp) {
      std::string_view text(reinterpret_cast<const char*>(bytes.data() + header.offset),
                            header.filesz);
      auto nul = text.find('\0');
      if (nul == std::string_view::npos || nul == 0)
        return malformed("the interpreter path (PT_INTERP) is empty or not NUL-terminated");
      info.interpreter = std::string(text.substr(0, nul));
    }
  }
  if (!has_load) return malformed("no loadable segments");
  if (!dynamic) return info;  // statically linked

  DynamicEntries entries = read_dynamic(bytes, *dynamic);
  info.no_default_lib = entries.flags_1 & kDf1NoDefLib;
  bool uses_strings = !entries.needed.empty() || entries.soname || entries.rpath || entries.runpath;
  if (!uses_strings) return info;
  if (!entries.strtab || !entries.strsz)
    return malformed("the dynamic section has no string table (DT_STRTAB, DT_STRSZ)");
  auto strtab = file_offset_of(*headers, *entries.strtab, *entries.strsz);
  if (!strtab) return malformed("the dynamic string table is outside the loadable segments");
  std::string_view table(reinterpret_cast<const char*>(bytes.data() + *strtab), *entries.strsz);

  auto string_at = [&](std::uint64_t offset) -> std::optional<std::string> {
    if (offset >= table.size()) return std::nullopt;
    auto nul = table.find('\0', offset);
    if (nul == std::string_view::npos) return std::nullopt;
    return std::string(table.substr(offset, nul - offset));
  };
  for (std::uint64_t offset : entries.needed) {
    auto name = string_at(offset);
    if (!name || name->empty())
      return malformed("a needed library's name (DT_NEEDED) is out of bounds");
    info.needed.push_back(std::move(*name));
  }
  for (auto [offset, field] :
       {std::pair{entries.soname, &info.soname}, std::pair{entries.rpath, &info.rpath},
        std::pair{entries.runpath, &info.runpath}}) {
    if (!offset) continue;
    *field = string_at(*offset);
    if (!*field)
      return malformed("a dynamic string (DT_SONAME, DT_RPATH or DT_RUNPATH) is out of bounds");
  }
  return info;
}
