// MappedFile: a host file mapped read-only into memory, for parsing ELF files and caches in place.
#include "mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "text.h"

CliResult<MappedFile> MappedFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return cli_error(exit_status::kBadInput, cat(path, ": ", std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return cli_error(exit_status::kBadInput, cat(path, ": not a regular file"));
  }
  MappedFile file;
  if (st.st_size > 0) {
    void* data =
        ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    int error = errno;
    ::close(fd);
    if (data == MAP_FAILED)
      return cli_error(exit_status::kBadInput, cat(path, ": ", std::strerror(error)));
    file.m_data = static_cast<const std::byte*>(data);
    file.m_size = static_cast<std::size_t>(st.st_size);
  } else {
    ::close(fd);
  }
  return file;
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (m_data) ::munmap(const_cast<std::byte*>(m_data), m_size);
    m_data = std::exchange(other.m_data, nullptr);
    m_size = std::exchange(other.m_size, 0);
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (m_data) ::munmap(const_cast<std::byte*>(m_data), m_size);
}
