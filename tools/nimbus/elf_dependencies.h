// DependencyWalker: finds the ELF interpreter and shared libraries a program needs, transitively,
// by reading ELF files and searching the way glibc's ld.so does; nothing is executed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli_error.h"
#include "elf_file.h"
#include "ld_so_cache.h"

struct LoadedObject {
  std::string path;       // host path as the loader opens it (it may run through symlinks)
  std::string requested;  // the DT_NEEDED name or PT_INTERP path that brought it in
  ElfInfo info;
  std::optional<std::size_t> loader;  // index of the object whose DT_NEEDED named this one
};

class DependencyWalker {
 public:
  // Debian's x86-64 ld.so directories, searched after the cache; /lib64 as the loader path.
  static constexpr const char* kDefaultDirs[] = {
      "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/lib", "/usr/lib"};
  // What $LIB expands to on Debian (multiarch).
  static constexpr const char* kLibDirName = "lib/x86_64-linux-gnu";

  explicit DependencyWalker(LdSoCache cache) : m_cache(std::move(cache)) {}

  // Adds an ELF file and everything it needs; objects already present (the same name, soname or
  // path) are shared, as in one process. Returns the indices of the objects added, the root first.
  // A missing interpreter or library, or a malformed one, fails with kBadInput and leaves the
  // walker as it was before the call.
  // `host_path` is absolute; `canonical_dir` is the realpath of its directory ($ORIGIN).
  CliResult<std::vector<std::size_t>> add(const std::string& host_path, const ElfInfo& info,
                                          const std::string& canonical_dir);

  const std::vector<LoadedObject>& objects() const { return m_objects; }

 private:
  CliResult<std::vector<std::size_t>> add_from(const std::string& host_path, const ElfInfo& info,
                                               const std::string& canonical_dir);
  CliResult<std::string> search(const std::string& name, std::size_t requester) const;
  CliResult<bool> is_usable_candidate(const std::string& path) const;
  std::vector<std::string> expand_path_list(const std::string& list, std::size_t owner) const;
  std::optional<std::size_t> find_loaded(const std::string& name) const;
  std::string origin_of(std::size_t index) const;

  LdSoCache m_cache;
  std::vector<LoadedObject> m_objects;
  std::vector<std::string> m_origins;  // parallel to m_objects
};
