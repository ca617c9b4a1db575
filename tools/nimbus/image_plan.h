// plan_image(): turns an ImageSpec into what the image will hold: the root file system (program,
// interpreter, libraries, added files, launch description) and the kernel to boot it with.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli_error.h"
#include "image_spec.h"
#include "reporter.h"
#include "rootfs_tree.h"

// How the guest kernel starts the program: kept in the archive under /.nimbus.
struct LaunchInfo {
  std::string exe;                // guest path of the ELF to load
  std::vector<std::string> argv;  // argv[0] first
  std::vector<std::string> env;   // KEY=VALUE
  std::string workdir;
};

// Where the image keeps its root file system: an ext4 disk read on demand (a version 2 image),
// or, for small trees, the initrd alone (version 1), which boots faster because the guest reads
// nothing from a disk; automatic picks by size (docs/image-format.md).
enum class RootStorage { automatic, disk, initrd };
// Trees up to this many bytes of files stay in the initrd under RootStorage::automatic.
inline constexpr std::uint64_t kInitrdOnlyBytes = 16 << 20;

struct ImagePlan {
  RootfsTree tree;  // includes /.nimbus
  LaunchInfo launch;
  std::string kernel_path;
  std::vector<std::string> kernel_words;
  RootStorage root_storage = RootStorage::automatic;
  bool uses_root_disk() const {
    return root_storage == RootStorage::disk ||
           (root_storage == RootStorage::automatic && tree.file_bytes() > kInitrdOnlyBytes);
  }
};

// Linux follows at most this many nested "#!" interpreters (BINPRM_MAX_RECURSION in 5.x).
inline constexpr int kMaxScriptDepth = 4;

// Locates the program (a path, or a name on PATH), follows "#!" lines to the ELF that runs, finds
// its libraries, and collects every file. Nothing is read beyond headers, and nothing runs.
// Failures: kUsage (no program), kBadInput (a program or file that cannot be packed).
CliResult<ImagePlan> plan_image(const ImageSpec& spec, const Reporter& reporter);

// The program's absolute host path: a path as given (made absolute), or the first match on PATH.
CliResult<std::string> locate_program(const std::string& program);
