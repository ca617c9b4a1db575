// HostCache: per-host facts that are slow to learn (KVM verdict, TSC rate), kept in host.conf.
#include "host_cache.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "text.h"

namespace {

constexpr std::string_view kIdentityKey = "identity";

std::filesystem::path cache_file_path() {
  std::filesystem::path dir = nimbus_cache_dir();
  return dir.empty() ? dir : dir / "host.conf";
}

std::string host_identity(const KvmDevice& kvm) {
  struct utsname names {};
  ::uname(&names);
  return cat("host=", names.nodename, " kernel=", names.release, " ", kvm.identity);
}

}  // namespace

std::filesystem::path nimbus_cache_dir() {
  // The XDG spec says relative paths in XDG_CACHE_HOME are invalid and must be ignored.
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg && xdg[0] == '/') return std::filesystem::path(xdg) / "nimbus";
  const char* home = std::getenv("HOME");
  if (home && home[0] == '/') return std::filesystem::path(home) / ".cache" / "nimbus";
  return {};
}

HostCache HostCache::load(const KvmDevice& kvm) {
  HostCache cache;
  cache.m_path = cache_file_path();
  cache.m_identity = host_identity(kvm);
  if (cache.m_path.empty()) return cache;

  std::ifstream in(cache.m_path);
  std::map<std::string, std::string, std::less<>> entries;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    entries[line.substr(0, eq)] = line.substr(eq + 1);
  }
  auto stored = entries.find(kIdentityKey);
  if (stored == entries.end() || stored->second != cache.m_identity) return cache;
  entries.erase(stored);
  cache.m_entries = std::move(entries);
  return cache;
}

std::optional<std::string> HostCache::get(std::string_view key) const {
  auto it = m_entries.find(key);
  if (it == m_entries.end()) return std::nullopt;
  return it->second;
}

void HostCache::set(const std::string& key, std::string value) {
  m_entries[key] = std::move(value);
}

void HostCache::save() const {
  if (m_path.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(m_path.parent_path(), ec);
  // Written beside the target and renamed over it, so concurrent runs never read half a file.
  std::filesystem::path temporary = m_path;
  temporary += ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(temporary, std::ios::trunc);
    if (!out) return;
    out << "# nimbus host cache (written by `nimbus run`; delete it to re-probe this host)\n";
    out << kIdentityKey << '=' << m_identity << '\n';
    for (const auto& [key, value] : m_entries) out << key << '=' << value << '\n';
    if (!out.flush()) {
      std::filesystem::remove(temporary, ec);
      return;
    }
  }
  std::filesystem::rename(temporary, m_path, ec);
  if (ec) std::filesystem::remove(temporary, ec);
}
