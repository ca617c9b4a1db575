// ContentStore: the image cache's files named by the SHA-256 of their contents (store/<hex>),
// each shared by hard links from every cached image that holds the same bytes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "cli_error.h"

class ContentStore {
 public:
  explicit ContentStore(std::filesystem::path dir) : m_dir(std::move(dir)) {}

  // `file` holds contents whose SHA-256 is `hex`. The first file with those contents becomes the
  // store's copy (made read-only, since every image linking it sees a change); a later one is
  // replaced by a hard link to that copy, so the bytes are on disk once.
  CliResult<> share(const std::filesystem::path& file, const std::string& hex) const;

  // Removes the store's files that no image links any more (link count 1); returns the bytes
  // freed. The caller holds the cache's exclusive lock, so no image is being linked meanwhile.
  std::uint64_t collect_garbage() const;

  const std::filesystem::path& dir() const { return m_dir; }

 private:
  std::filesystem::path m_dir;
};
