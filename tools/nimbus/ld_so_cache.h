// LdSoCache: glibc's /etc/ld.so.cache ("glibc-ld.so.cache1.1"), read to find libraries the way
// ld.so does.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

class LdSoCache {
 public:
  static constexpr const char* kDefaultPath = "/etc/ld.so.cache";

  // An empty cache when the file is missing or not in a format this reader knows, as for ld.so.
  static LdSoCache load(const std::string& path = kDefaultPath);
  static LdSoCache parse(std::span<const std::byte> bytes);

  // The path of the x86-64 library with this file name (e.g. "libc.so.6"), if the cache has one.
  std::optional<std::string> find(std::string_view name) const;
  std::size_t size() const { return m_libraries.size(); }

 private:
  std::map<std::string, std::string, std::less<>> m_libraries;
};
