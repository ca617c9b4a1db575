// HostMirror: copies host paths into a RootfsTree at the same guest paths, symlinks included, and
// whole directories for --add.
#pragma once

#include <string>
#include <vector>

#include "cli_error.h"
#include "reporter.h"
#include "rootfs_tree.h"

class HostMirror {
 public:
  HostMirror(RootfsTree& tree, const Reporter& reporter) : m_tree(tree), m_reporter(reporter) {}

  // Packs host `path` (absolute) at the same guest path, together with every symlink met on the
  // way, in any component and along chains, so each alias resolves in the guest as it does on
  // the host (Debian's /lib -> usr/lib, /lib64/ld-linux-x86-64.so.2 -> /lib/...). Directories
  // are packed without their contents. Returns the host path with no symlinks left.
  CliResult<std::string> mirror(const std::string& path);

  // Packs a host directory's contents recursively, or a single file, at guest path `guest`.
  // Symlinks are packed as they are, and an absolute one pointing at a host file outside the
  // tree brings that file along; sockets, FIFOs and devices are skipped. Files that may be ELF
  // objects (executable, or named like a shared library) are appended to `elf_candidates`.
  // Host paths matching a `leave_out` glob (fnmatch with FNM_PATHNAME) are not packed.
  CliResult<> copy_tree(const std::string& host, const std::string& guest,
                        std::vector<std::string>& elf_candidates,
                        const std::vector<std::string>& leave_out = {});

 private:
  CliResult<> copy_entry(const std::string& host, const std::string& guest, const std::string& root,
                         std::vector<std::string>& elf_candidates,
                         const std::vector<std::string>& leave_out);

  RootfsTree& m_tree;
  const Reporter& m_reporter;
};
