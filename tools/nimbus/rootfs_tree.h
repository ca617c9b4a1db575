// RootfsTree: the guest's root file system being assembled (directories, files, symlinks by guest
// path), written out as the image's cpio archive.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <ostream>
#include <string>
#include <string_view>

#include "cli_error.h"
#include "progress_line.h"
#include "sha256.h"

struct RootfsEntry {
  enum class Type { Directory, File, Symlink };
  Type type = Type::Directory;
  std::uint32_t permissions = 0755;  // the low 12 mode bits
  std::int64_t mtime = 0;
  std::string host_path;  // File: where the contents come from; empty when `data` holds them
  std::uint64_t size = 0;
  std::string data;  // File without a host path: the contents; Symlink: the target
  // File from the host: device, inode, size and modification and change times to the
  // nanosecond, so the build cache notices a file rewritten within the same second.
  std::string host_stamp;
};

class RootfsTree {
 public:
  // Guest paths are absolute ("/usr/bin/ls"). Parent directories that are missing are created
  // (0755); a parent that is a symlink in the tree is followed, as the guest kernel will follow
  // it. Directories merge; a file or symlink replaces a file or symlink (a later --add wins); a
  // directory and a non-directory at one path is an error (kBadInput).
  // Directories get mtime 0: a host directory's time changes whenever anything in it comes or
  // goes (think /tmp), which would make every build of the same program a different image.
  CliResult<> add_directory(std::string_view guest, std::uint32_t permissions);
  CliResult<> add_symlink(std::string_view guest, std::string_view target, std::int64_t mtime);
  CliResult<> add_host_file(std::string_view guest, const std::string& host_path,
                            const struct stat& st);
  CliResult<> add_generated_file(std::string_view guest, std::string contents,
                                 std::uint32_t permissions);

  bool contains(std::string_view guest) const;
  // What a disk image keeps in RAM, writable (the guest mounts it over the disk's copies): the
  // entries at and below etc/ and tmp/, and below the guest directory `workdir` (the program's
  // working directory, with the directories that lead to it) unless that is "/".
  RootfsTree ram_part(std::string_view workdir) const;
  // Entries by archive path: relative ("usr/bin/ls"), sorted, so parents come before children.
  const std::map<std::string, RootfsEntry, std::less<>>& entries() const { return m_entries; }
  std::uint64_t file_bytes() const;

  // Everything that decides the archive's bytes without reading host files: paths, types, modes,
  // times, sizes, link targets, generated contents, and the host file each entry is read from
  // with its identity and change times.
  void hash_into(Sha256& hash) const;
  // `progress`, when given, hears of every file written.
  CliResult<> write_cpio(std::ostream& out, ProgressLine* progress = nullptr) const;
  std::uint64_t file_count() const;

 private:
  // The archive path for `guest`, with its parent directories created or followed.
  CliResult<std::string> place(std::string_view guest, bool follow_last_symlink);
  CliResult<> put(const std::string& path, RootfsEntry entry);

  std::map<std::string, RootfsEntry, std::less<>> m_entries;
};
