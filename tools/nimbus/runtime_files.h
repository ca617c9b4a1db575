// find_runtime_files(): applies the runtime table to a program: which rows apply, the values of
// their templates (version, prefix, locale, ...) read from file names and files, and the host
// paths that exist. Nothing is run.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "runtime_table.h"

struct ProgramFacts {
  std::string executable;                // host path of the ELF that runs, symlinks resolved
  std::vector<std::string> needed;       // its DT_NEEDED names
  std::vector<std::string> environment;  // the guest's KEY=VALUE entries
  // The host directory the table's absolute paths live under ("" for the host's /). Tests point
  // it at a scratch tree; the paths returned include it.
  std::string root;
};

struct RuntimeFile {
  std::string path;  // an existing host path (a file, directory or symlink)
  std::string why;   // "CPython 3.11: the standard library, ..."
  std::vector<std::string> leave_out;  // globs of host paths under `path` not to pack
};

struct RuntimeFiles {
  std::vector<std::string> runtimes;  // the rows that applied, with their version if found
  std::vector<RuntimeFile> files;     // in table order, each path once
  bool start_by_real_path = false;    // a row that applied asks for it
};

RuntimeFiles find_runtime_files(const ProgramFacts& facts,
                                std::span<const Runtime> table = runtime_table());

// A locale name as glibc looks for its directory: the codeset part lowercased without
// punctuation ("C.UTF-8" -> "C.utf8", "de_DE.ISO-8859-1@euro" -> "de_DE.iso88591@euro").
std::string normalized_locale(std::string_view name);

// The services an nsswitch.conf names, each once, in order of appearance ("files", "dns", ...).
std::vector<std::string> nsswitch_services(std::string_view text);

// Orders "3.9" before "3.11" (dot-separated numbers compare as numbers) and "5.36" before
// "5.36.0".
bool version_less(std::string_view a, std::string_view b);
