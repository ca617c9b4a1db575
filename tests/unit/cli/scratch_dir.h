// ScratchDir: a temporary directory for one test, with helpers to lay out files and symlinks.
#pragma once

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "nimbus-unit-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    // The real path, so tests can compare with what the code resolves.
    m_path = std::filesystem::canonical(pattern);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& path() const { return m_path; }
  std::string operator/(const std::string& name) const { return (m_path / name).string(); }

  std::string write(const std::string& name, const std::string& contents,
                    mode_t mode = 0644) const {
    std::filesystem::path file = m_path / name;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << contents;
    ::chmod(file.c_str(), mode);
    return file.string();
  }

  std::string symlink(const std::string& name, const std::string& target) const {
    std::filesystem::path link = m_path / name;
    std::filesystem::create_directories(link.parent_path());
    if (::symlink(target.c_str(), link.c_str()) != 0) throw std::runtime_error("symlink failed");
    return link.string();
  }

  std::string mkdir(const std::string& name) const {
    std::filesystem::create_directories(m_path / name);
    return (m_path / name).string();
  }

 private:
  std::filesystem::path m_path;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
