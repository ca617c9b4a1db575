// find_argument_files(): the program arguments that name host files or directories, which
// `nimbus build`/`run` pack at the same path so that `nimbus run python3 app.py` sees app.py.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

// A directory argument is packed with its contents only up to this size; a larger one (think
// `ls /usr/lib`) is left out with a warning and can still be packed with --add.
inline constexpr std::uint64_t kMaxArgumentDirectoryBytes = std::uint64_t{256} << 20;

struct ArgumentFile {
  std::string path;       // absolute host path, lexically normal (symlinks kept)
  bool relative = false;  // the argument named it relative to the current directory
};

struct ArgumentFiles {
  std::vector<ArgumentFile> files;
  // Why an argument that names a host path was left out: `skipped` deserves a warning (the
  // program may miss it), `notes` is for --verbose (the guest has that directory of its own).
  std::vector<std::string> skipped;
  std::vector<std::string> notes;
};

// Each argument is a candidate path as a whole, or, for an option written "--name=VALUE" or
// "-x=VALUE", the VALUE. A candidate is taken when it names an existing regular file or
// directory; left out are "/" and the top-level directories (/usr, /etc, /home, ...), anything
// under /proc, /sys and /dev and the files the guest writes itself (/etc/hosts, hostname,
// resolv.conf, passwd, group), special files, and directories larger than
// kMaxArgumentDirectoryBytes.
ArgumentFiles find_argument_files(const std::vector<std::string>& args,
                                  const std::filesystem::path& cwd);
