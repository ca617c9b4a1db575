// read_cpio(): a small, strict reader of "newc" cpio archives, to check what CpioWriter wrote.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct CpioEntry {
  std::string name;
  std::uint32_t inode = 0;
  std::uint32_t mode = 0;
  std::uint32_t uid = 0, gid = 0, nlink = 0, mtime = 0;
  std::string data;
};

// Throws std::runtime_error on anything a strict newc reader would reject; the trailer is not
// returned. Every header must start 4-byte aligned, as Linux's initramfs unpacker requires.
inline std::vector<CpioEntry> read_cpio(std::string_view archive) {
  auto field = [&](std::size_t at, int index) -> std::uint32_t {
    std::string_view hex = archive.substr(at + 6 + 8 * index, 8);
    std::uint32_t value = 0;
    for (char c : hex) {
      int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (digit < 0) throw std::runtime_error("bad hex digit in a cpio header");
      value = value * 16 + static_cast<std::uint32_t>(digit);
    }
    return value;
  };
  auto align4 = [](std::size_t n) { return (n + 3) & ~std::size_t{3}; };

  std::vector<CpioEntry> entries;
  std::size_t at = 0;
  while (true) {
    if (at % 4 != 0) throw std::runtime_error("cpio header not 4-byte aligned");
    if (archive.size() < at + 110) throw std::runtime_error("cpio archive truncated in a header");
    if (archive.substr(at, 6) != "070701") throw std::runtime_error("bad cpio magic");
    CpioEntry entry;
    entry.inode = field(at, 0);
    entry.mode = field(at, 1);
    entry.uid = field(at, 2);
    entry.gid = field(at, 3);
    entry.nlink = field(at, 4);
    entry.mtime = field(at, 5);
    std::uint32_t size = field(at, 6);
    std::uint32_t name_size = field(at, 11);
    if (field(at, 12) != 0) throw std::runtime_error("non-zero check field");
    std::size_t name_at = at + 110;
    if (name_size == 0 || archive.size() < name_at + name_size)
      throw std::runtime_error("cpio archive truncated in a name");
    if (archive[name_at + name_size - 1] != '\0')
      throw std::runtime_error("name not NUL-terminated");
    entry.name = std::string(archive.substr(name_at, name_size - 1));
    std::size_t data_at = align4(name_at + name_size);
    if (archive.size() < data_at + size) throw std::runtime_error("cpio archive truncated in data");
    entry.data = std::string(archive.substr(data_at, size));
    at = align4(data_at + size);
    if (entry.name == "TRAILER!!!") {
      if (at != archive.size()) throw std::runtime_error("bytes after the cpio trailer");
      return entries;
    }
    entries.push_back(std::move(entry));
  }
}

inline const CpioEntry* find_entry(const std::vector<CpioEntry>& entries, std::string_view name) {
  for (const CpioEntry& entry : entries)
    if (entry.name == name) return &entry;
  return nullptr;
}
