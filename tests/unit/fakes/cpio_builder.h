// CpioBuilder: writes cpio newc archives in tests, the way the host CLI's CpioWriter and
// GNU cpio do.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "kernel/fs/linux_abi.h"

namespace nimbus::fs::testing {

struct EntryOptions {
  uint32_t mtime = 0;
  uint32_t nlink = 1;
  uint32_t ino = 0;  // 0: the next one
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t rdev_major = 0;
  uint32_t rdev_minor = 0;
  const char* magic = "070701";
};

// Appends entries (header, name, data, padding) to an archive in memory.
class CpioBuilder {
 public:
  CpioBuilder& entry(const std::string& name, uint32_t mode, const std::string& data = {},
                     EntryOptions options = {}) {
    raw_header(options.magic, {options.ino ? options.ino : m_next_ino++, mode, options.uid, options.gid,
                               options.nlink, options.mtime, static_cast<uint32_t>(data.size()), 0, 0,
                               options.rdev_major, options.rdev_minor,
                               static_cast<uint32_t>(name.size() + 1), 0});
    m_out += name;
    m_out += '\0';
    pad();
    m_out += data;
    pad();
    return *this;
  }
  CpioBuilder& directory(const std::string& name, uint32_t permissions = 0755, uint32_t mtime = 0) {
    return entry(name, linux_abi::s_ifdir | permissions, {}, {.mtime = mtime});
  }
  CpioBuilder& file(const std::string& name, const std::string& data, uint32_t permissions = 0644,
                    uint32_t mtime = 0) {
    return entry(name, linux_abi::s_ifreg | permissions, data, {.mtime = mtime});
  }
  CpioBuilder& symlink(const std::string& name, const std::string& target) {
    return entry(name, linux_abi::s_iflnk | 0777, target);
  }
  CpioBuilder& trailer() { return entry("TRAILER!!!", 0); }
  CpioBuilder& raw(const std::string& bytes) {
    m_out += bytes;
    return *this;
  }
  void raw_header(const char* magic, std::vector<uint32_t> fields) {
    m_out += magic;
    for (uint32_t field : fields) {
      char hex[9];
      snprintf(hex, sizeof(hex), "%08X", field);
      m_out += hex;
    }
  }
  const std::string& text() const { return m_out; }

 private:
  void pad() {
    while (m_out.size() % 4) m_out += '\0';
  }
  std::string m_out;
  uint32_t m_next_ino = 100;
};

}  // namespace nimbus::fs::testing
