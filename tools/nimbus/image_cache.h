// ImageCache: images unpacked for QEMU (images/<sha256>/) and the builds behind `nimbus run
// PROGRAM` (builds/<key>), under ${XDG_CACHE_HOME:-$HOME/.cache}/nimbus.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "cli_error.h"
#include "image_format.h"
#include "image_plan.h"
#include "reporter.h"

// What QEMU boots: files it can take with -kernel and -initrd, and the image's kernel words.
struct BootFiles {
  std::string kernel;
  std::string initrd;
  std::vector<std::string> kernel_words;
};

class ImageCache {
 public:
  // Fails (kCliFailure) when neither XDG_CACHE_HOME nor HOME names a directory.
  static CliResult<ImageCache> open();

  // Checks the image (header and SHA-256) on every call and unpacks it the first time.
  CliResult<BootFiles> install(const std::string& image_path, const Reporter& reporter);

  // For `nimbus run PROGRAM`: the build for the plan's inputs if one exists, else a new one.
  CliResult<BootFiles> build(const ImagePlan& plan, const Reporter& reporter);

  const std::filesystem::path& root() const { return m_root; }

 private:
  CliResult<BootFiles> unpack(const std::string& image_path, const ImageHeader& header,
                              const Reporter& reporter);
  BootFiles boot_files(const std::filesystem::path& dir) const;

  std::filesystem::path m_root;
};

// The build-cache key: a SHA-256 over everything that decides the image's bytes, without reading
// the packed files: every packed path with its host file's size, mode, inode and modification and
// change times, link targets, the launch description, the kernel words, and the kernel file's
// path, size, inode and modification time.
CliResult<std::string> build_key(const ImagePlan& plan);
