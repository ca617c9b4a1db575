// The runtime table: for each language runtime Nimbus knows (and for glibc itself), the host
// files it loads at run time besides its ELF libraries, as data. runtime_files.h applies it.
#pragma once

#include <span>
#include <string_view>

// Where a runtime's version is read from; each pattern is an ECMAScript regular expression whose
// first group is the version.
struct VersionSource {
  enum class From {
    Executable,     // searched in the executable's host path after symlinks (/usr/bin/python3.11)
    NeededLibrary,  // matched against each DT_NEEDED name of the executable (libruby-3.1.so.3.1)
    ExistingPath,   // a path template whose last component is the pattern: the directory
                    // entries that match it fully (the highest version wins)
  };
  From from;
  std::string_view pattern;
};

// A host path to pack when it exists: a template over {prefix} (the directory above the
// executable's bin/, after symlinks: /usr, or $JAVA_HOME), {version} and {major_minor} (its first
// two numbers), and the program's environment: {locale} (each locale LANG and LC_* name, as
// glibc spells its directory), {tz} (TZ), {nss} (each service /etc/nsswitch.conf names). A
// component may hold a glob ('*', '?', '[...]'). A template naming a value that was not found is
// skipped. Directories are packed with their contents, and ELF files inside bring their
// libraries, as --add does.
struct RuntimePath {
  std::string_view path;
  std::string_view why;  // shown by --verbose
  // A glob under `path` that is never loaded at run time, left out ("config-*").
  std::string_view leave_out = {};
};

struct Runtime {
  enum class Applies {
    Executable,    // when `executable` matches the program's ELF file name (after symlinks)
    EveryProgram,  // to every program
    AnyRuntime,    // whenever a runtime of the table matched
  };
  std::string_view name;
  Applies applies;
  std::string_view executable;  // a regular expression over the whole file name
  std::span<const VersionSource> versions;
  std::span<const RuntimePath> paths;
  // Start the program by its symlink-free path, which the guest's /proc/self/exe then shows (as
  // Linux's does; the guest kernel shows the path it was started by): for a runtime that finds
  // its libraries or home from it ($ORIGIN, the JVM's launcher).
  bool start_by_real_path = false;
};

// The table itself (Debian's x86-64 layout, which is also upstream's for most runtimes).
std::span<const Runtime> runtime_table();
