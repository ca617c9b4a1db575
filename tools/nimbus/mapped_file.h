// MappedFile: a host file mapped read-only into memory, for parsing ELF files and caches in place.
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "cli_error.h"

class MappedFile {
 public:
  // Fails (kBadInput) when the file cannot be opened or is not a regular file.
  static CliResult<MappedFile> open(const std::string& path);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept { *this = std::move(other); }
  MappedFile& operator=(MappedFile&& other) noexcept;
  ~MappedFile();

  std::span<const std::byte> bytes() const { return {m_data, m_size}; }

 private:
  const std::byte* m_data = nullptr;
  std::size_t m_size = 0;
};
