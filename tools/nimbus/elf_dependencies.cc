// DependencyWalker: finds the ELF interpreter and shared libraries a program needs, transitively,
// by reading ELF files and searching the way glibc's ld.so does; nothing is executed.
//
// The order follows glibc's elf/dl-load.c (_dl_map_object): the DT_RPATH of the requesting
// object and then of each object up its loader chain (only when the requester has no
// DT_RUNPATH; an object's DT_RPATH is ignored when it has a DT_RUNPATH), LD_LIBRARY_PATH (the
// host's is not the guest's, so it is ignored), the requester's DT_RUNPATH, /etc/ld.so.cache, then
// the default directories; DF_1_NODEFLIB skips the last two. Objects are loaded breadth-first,
// and a name that matches an object already loaded reuses it.
#include "elf_dependencies.h"

#include <sys/stat.h>

#include <cctype>
#include <filesystem>

#include "mapped_file.h"
#include "text.h"

namespace {

std::string directory_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Replaces $NAME and ${NAME}; returns nothing when the text uses a token this walker cannot
// expand ($PLATFORM depends on the guest CPU), which drops that directory as ld.so drops one it
// cannot expand.
std::optional<std::string> expand_tokens(const std::string& text, const std::string& origin) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] != '$') {
      out += text[i++];
      continue;
    }
    std::size_t start = i + 1;
    bool braced = start < text.size() && text[start] == '{';
    if (braced) ++start;
    std::size_t end = start;
    while (end < text.size() &&
           (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_'))
      ++end;
    std::string token = text.substr(start, end - start);
    if (braced) {
      if (end >= text.size() || text[end] != '}') return std::nullopt;
      ++end;
    }
    if (token == "ORIGIN")
      out += origin;
    else if (token == "LIB")
      out += DependencyWalker::kLibDirName;
    else
      return std::nullopt;
    i = end;
  }
  return out;
}

std::string describe_error(const std::string& path, const ElfError& error) {
  switch (error.kind) {
    case ElfError::Kind::NotElf:
      return cat(path, ": not an ELF file");
    case ElfError::Kind::Incompatible:
      return cat(path, ": not an x86-64 ELF file (", error.reason, ")");
    case ElfError::Kind::Malformed:
      return cat(path, ": malformed ELF file (", error.reason, ")");
  }
  return path;
}

CliResult<ElfInfo> read_elf(const std::string& path) {
  MappedFile file = TRY_CLI(MappedFile::open(path));
  auto info = parse_elf(file.bytes());
  if (!info) return cli_error(exit_status::kBadInput, describe_error(path, info.error()));
  return *info;
}

}  // namespace

std::string DependencyWalker::origin_of(std::size_t index) const {
  return m_origins[index];
}

std::optional<std::size_t> DependencyWalker::find_loaded(const std::string& name) const {
  for (std::size_t i = 0; i < m_objects.size(); ++i) {
    const LoadedObject& object = m_objects[i];
    if (object.requested == name || object.path == name || object.info.soname == name) return i;
  }
  return std::nullopt;
}

std::vector<std::string> DependencyWalker::expand_path_list(const std::string& list,
                                                            std::size_t owner) const {
  std::vector<std::string> dirs;
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t colon = list.find(':', start);
    if (colon == std::string::npos) colon = list.size();
    std::string entry = list.substr(start, colon - start);
    start = colon + 1;
    // An empty entry means the process's working directory, which is not known on the host.
    if (entry.empty()) continue;
    if (auto dir = expand_tokens(entry, origin_of(owner)); dir && dir->starts_with('/'))
      dirs.push_back(std::filesystem::path(*dir).lexically_normal().string());
  }
  return dirs;
}

// A candidate counts when it is a file holding an ELF for x86-64. ld.so skips files for other
// classes or machines (an i386 library in a shared directory) and ones that are not ELF (a GNU ld
// script named like a library) and keeps searching; a broken x86-64 ELF is an error to report.
CliResult<bool> DependencyWalker::is_usable_candidate(const std::string& path) const {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  auto file = MappedFile::open(path);
  if (!file) return false;
  auto parsed = parse_elf(file->bytes());
  if (parsed) return true;
  if (parsed.error().kind == ElfError::Kind::Malformed)
    return cli_error(exit_status::kBadInput, describe_error(path, parsed.error()));
  return false;
}

CliResult<std::string> DependencyWalker::search(const std::string& name,
                                                std::size_t requester) const {
  const LoadedObject& object = m_objects[requester];
  std::vector<std::string> dirs;
  if (!object.info.runpath) {
    for (std::optional<std::size_t> i = requester; i; i = m_objects[*i].loader) {
      const LoadedObject& link = m_objects[*i];
      if (link.info.rpath && !link.info.runpath) {
        auto more = expand_path_list(*link.info.rpath, *i);
        dirs.insert(dirs.end(), more.begin(), more.end());
      }
    }
  } else {
    dirs = expand_path_list(*object.info.runpath, requester);
  }

  std::vector<std::string> candidates;
  for (const std::string& dir : dirs) candidates.push_back(cat(dir, "/", name));
  if (!object.info.no_default_lib) {
    if (auto cached = m_cache.find(name)) candidates.push_back(*cached);
    for (const char* dir : kDefaultDirs) candidates.push_back(cat(dir, "/", name));
  }
  for (const std::string& candidate : candidates)
    if (TRY_CLI(is_usable_candidate(candidate))) return candidate;
  return cli_error(exit_status::kBadInput,
                   cat(object.path, " needs ", name,
                       ", which is not in its RPATH/RUNPATH, /etc/ld.so.cache or the default "
                       "library directories (is the package holding it installed?)"));
}

CliResult<std::vector<std::size_t>> DependencyWalker::add(const std::string& host_path,
                                                          const ElfInfo& info,
                                                          const std::string& canonical_dir) {
  std::size_t before = m_objects.size();
  auto added = add_from(host_path, info, canonical_dir);
  // Objects found before the failure were never packed; kept, they would hide a later need.
  if (!added) {
    m_objects.erase(m_objects.begin() + static_cast<std::ptrdiff_t>(before), m_objects.end());
    m_origins.erase(m_origins.begin() + static_cast<std::ptrdiff_t>(before), m_origins.end());
  }
  return added;
}

CliResult<std::vector<std::size_t>> DependencyWalker::add_from(const std::string& host_path,
                                                               const ElfInfo& info,
                                                               const std::string& canonical_dir) {
  std::vector<std::size_t> added;
  if (auto existing = find_loaded(host_path)) return added;
  std::size_t first = m_objects.size();
  m_objects.push_back({host_path, host_path, info, std::nullopt});
  m_origins.push_back(canonical_dir);
  added.push_back(first);

  if (info.interpreter && !find_loaded(*info.interpreter)) {
    const std::string& interpreter = *info.interpreter;
    if (!interpreter.starts_with('/'))
      return cli_error(exit_status::kBadInput, cat(host_path, ": its interpreter '", interpreter,
                                                   "' is not an absolute path"));
    struct stat st {};
    if (::stat(interpreter.c_str(), &st) != 0)
      return cli_error(exit_status::kBadInput,
                       cat(host_path, ": its ELF interpreter ", interpreter,
                           " does not exist on this host (a program built for another system?)"));
    ElfInfo interpreter_info = TRY_CLI(read_elf(interpreter));
    added.push_back(m_objects.size());
    m_objects.push_back({interpreter, interpreter, std::move(interpreter_info), std::nullopt});
    m_origins.push_back(directory_of(interpreter));
  }

  // Breadth-first, like ld.so: every object's needed list in the order objects were loaded.
  for (std::size_t index = first; index < m_objects.size(); ++index) {
    std::vector<std::string> needed = m_objects[index].info.needed;
    for (const std::string& name : needed) {
      if (find_loaded(name)) continue;
      std::string path;
      if (name.find('/') != std::string::npos) {
        auto expanded = expand_tokens(name, origin_of(index));
        if (!expanded || !expanded->starts_with('/'))
          return cli_error(exit_status::kBadInput,
                           cat(m_objects[index].path, " needs '", name,
                               "', a relative path that depends on the working directory"));
        path = std::filesystem::path(*expanded).lexically_normal().string();
      } else {
        path = TRY_CLI(search(name, index));
      }
      ElfInfo library = TRY_CLI(read_elf(path));
      added.push_back(m_objects.size());
      m_objects.push_back({path, name, std::move(library), index});
      m_origins.push_back(directory_of(path));
    }
  }
  return added;
}
