// LdSoCache: glibc's /etc/ld.so.cache ("glibc-ld.so.cache1.1"), read to find libraries the way
// ld.so does.
//
// Layout (glibc sysdeps/generic/dl-cache.h): a 48-byte header (magic "glibc-ld.so.cache",
// version "1.1", nlibs, len_strings, flags, extension offset), nlibs 24-byte entries (flags, key,
// value, osversion, hwcap), then strings. Offsets are relative to that header. Before glibc 2.32
// ldconfig could put an old "ld.so-1.7.0" table in front; the new table then follows it.
#include "ld_so_cache.h"

#include <cstdint>
#include <cstring>

#include "mapped_file.h"

namespace {

constexpr std::string_view kNewMagic = "glibc-ld.so.cache1.1";
constexpr std::string_view kOldMagic = "ld.so-1.7.0";
constexpr std::size_t kNewHeaderSize = 48;
constexpr std::size_t kNewEntrySize = 24;
constexpr std::size_t kOldHeaderSize = 16;  // 11-byte magic, padding, nlibs
constexpr std::size_t kOldEntrySize = 12;

// FLAG_ELF_LIBC6 | FLAG_X8664_LIB64: what ld.so on x86-64 accepts (not i386 or x32 libraries).
constexpr std::int32_t kX86_64Libc6 = 0x0303;
// Entries for glibc-hwcaps subdirectories carry this bit; packing takes the baseline library,
// which runs on any x86-64 CPU the guest may get.
constexpr std::uint64_t kHwcapExtension = std::uint64_t{1} << 62;

template <typename T>
T read(std::span<const std::byte> bytes, std::size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  return value;
}

bool starts_with(std::span<const std::byte> bytes, std::string_view magic) {
  return bytes.size() >= magic.size() && std::memcmp(bytes.data(), magic.data(), magic.size()) == 0;
}

// Where the new-format table starts, if the file has one.
std::optional<std::size_t> new_table_offset(std::span<const std::byte> bytes) {
  if (starts_with(bytes, kNewMagic)) return 0;
  if (!starts_with(bytes, kOldMagic) || bytes.size() < kOldHeaderSize) return std::nullopt;
  auto old_count = read<std::uint32_t>(bytes, 12);
  if ((bytes.size() - kOldHeaderSize) / kOldEntrySize < old_count) return std::nullopt;
  std::size_t offset = kOldHeaderSize + std::size_t{old_count} * kOldEntrySize;
  offset = (offset + 7) & ~std::size_t{7};  // ALIGN_CACHE: the new header is 8-byte aligned
  if (offset > bytes.size() || !starts_with(bytes.subspan(offset), kNewMagic)) return std::nullopt;
  return offset;
}

}  // namespace

LdSoCache LdSoCache::load(const std::string& path) {
  auto file = MappedFile::open(path);
  if (!file) return {};
  return parse(file->bytes());
}

LdSoCache LdSoCache::parse(std::span<const std::byte> bytes) {
  LdSoCache cache;
  auto start = new_table_offset(bytes);
  if (!start) return cache;
  std::span<const std::byte> table = bytes.subspan(*start);
  if (table.size() < kNewHeaderSize) return cache;
  auto count = read<std::uint32_t>(table, 20);
  if ((table.size() - kNewHeaderSize) / kNewEntrySize < count) return cache;

  auto string_at = [&](std::uint32_t offset) -> std::optional<std::string_view> {
    if (offset >= table.size()) return std::nullopt;
    std::string_view rest(reinterpret_cast<const char*>(table.data()) + offset,
                          table.size() - offset);
    auto nul = rest.find('\0');
    if (nul == std::string_view::npos) return std::nullopt;
    return rest.substr(0, nul);
  };
  for (std::uint32_t i = 0; i < count; ++i) {
    std::size_t at = kNewHeaderSize + std::size_t{i} * kNewEntrySize;
    if (read<std::int32_t>(table, at) != kX86_64Libc6) continue;
    if (read<std::uint64_t>(table, at + 16) & kHwcapExtension) continue;
    auto key = string_at(read<std::uint32_t>(table, at + 4));
    auto value = string_at(read<std::uint32_t>(table, at + 8));
    if (!key || !value || key->empty() || !value->starts_with('/')) continue;
    // ldconfig sorts the best candidate first; ld.so takes the first match too.
    cache.m_libraries.emplace(*key, *value);
  }
  return cache;
}

std::optional<std::string> LdSoCache::find(std::string_view name) const {
  auto it = m_libraries.find(name);
  if (it == m_libraries.end()) return std::nullopt;
  return it->second;
}
