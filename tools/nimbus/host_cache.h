// HostCache: per-host facts that are slow to learn (KVM verdict, TSC rate), kept in host.conf.
//
// The file is ${XDG_CACHE_HOME:-$HOME/.cache}/nimbus/host.conf, one key=value per line.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "kvm_device.h"

// ${XDG_CACHE_HOME:-$HOME/.cache}/nimbus, or empty when neither variable names a directory.
std::filesystem::path nimbus_cache_dir();

class HostCache {
 public:
  // Loads the cache file; its entries are kept only if it was written for the same host (host
  // name, kernel release, /dev/kvm identity), so a kernel update or another KVM driver re-learns.
  static HostCache load(const KvmDevice& kvm);

  std::optional<std::string> get(std::string_view key) const;
  void set(const std::string& key, std::string value);
  // Best effort: a cache that cannot be written only costs the next run some time.
  void save() const;

  // Empty when neither XDG_CACHE_HOME nor HOME says where caches go.
  const std::filesystem::path& path() const { return m_path; }

 private:
  std::filesystem::path m_path;
  std::string m_identity;
  std::map<std::string, std::string, std::less<>> m_entries;
};
