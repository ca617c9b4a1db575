// TempDir: a scratch directory for one test (fake QEMU scripts, a fresh host cache).
#pragma once

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "nimbus-vm-test-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    m_path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return m_path; }

  std::string write_file(const std::string& name, const std::string& contents,
                         mode_t mode = 0644) const {
    std::filesystem::path file = m_path / name;
    std::ofstream(file) << contents;
    ::chmod(file.c_str(), mode);
    return file.string();
  }

 private:
  std::filesystem::path m_path;
};
