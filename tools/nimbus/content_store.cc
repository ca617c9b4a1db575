// ContentStore: the image cache's files named by the SHA-256 of their contents (store/<hex>),
// each shared by hard links from every cached image that holds the same bytes.
#include "content_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "text.h"

namespace {

std::unexpected<CliError> store_failure(const std::filesystem::path& path, int error) {
  return cli_error(exit_status::kCliFailure,
                   cat("cache ", path.string(), ": ", std::strerror(error)));
}

}  // namespace

CliResult<> ContentStore::share(const std::filesystem::path& file, const std::string& hex) const {
  std::filesystem::path stored = m_dir / hex;
  ::chmod(file.c_str(), 0444);
  // Two tries: the store's copy may be collected between the link that finds it and ours.
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (::link(file.c_str(), stored.c_str()) == 0) return {};
    if (errno != EEXIST) return store_failure(stored, errno);
    struct stat ours {
    }, theirs{};
    if (::stat(file.c_str(), &ours) == 0 && ::stat(stored.c_str(), &theirs) == 0 &&
        ours.st_dev == theirs.st_dev && ours.st_ino == theirs.st_ino)
      return {};
    // Link the store's copy beside ours, then rename it over ours: `file` never goes missing.
    std::filesystem::path replacement = file;
    replacement += ".shared";
    ::unlink(replacement.c_str());
    if (::link(stored.c_str(), replacement.c_str()) != 0) {
      if (errno == ENOENT) continue;
      return store_failure(replacement, errno);
    }
    if (::rename(replacement.c_str(), file.c_str()) != 0) {
      int error = errno;
      ::unlink(replacement.c_str());
      return store_failure(file, error);
    }
    return {};
  }
  return store_failure(stored, ENOENT);
}

std::uint64_t ContentStore::collect_garbage() const {
  std::uint64_t freed = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(m_dir, ec)) {
    struct stat st {};
    if (::lstat(entry.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1)
      continue;
    if (::unlink(entry.path().c_str()) == 0) freed += static_cast<std::uint64_t>(st.st_size);
  }
  return freed;
}
