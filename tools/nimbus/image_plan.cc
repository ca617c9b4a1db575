// plan_image(): turns an ImageSpec into what the image will hold: the root file system (program,
// interpreter, libraries, added files, launch description) and the kernel to boot it with.
#include "image_plan.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include "argument_files.h"
#include "elf_dependencies.h"
#include "host_mirror.h"
#include "host_paths.h"
#include "mapped_file.h"
#include "runtime_files.h"
#include "script_header.h"
#include "text.h"

namespace {

constexpr const char* kLaunchDir = "/.nimbus";

std::string nul_joined(const std::vector<std::string>& strings) {
  std::string out;
  for (const std::string& s : strings) {
    out += s;
    out += '\0';
  }
  return out;
}

CliResult<std::string> read_start(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return cli_error(exit_status::kBadInput, cat(path, ": ", std::strerror(errno)));
  std::string start(kScriptHeaderLimit, '\0');
  ssize_t n = ::read(fd, start.data(), start.size());
  int error = errno;
  ::close(fd);
  if (n < 0) return cli_error(exit_status::kBadInput, cat(path, ": ", std::strerror(error)));
  start.resize(static_cast<std::size_t>(n));
  return start;
}

// Linux's execve checks: a regular file with an execute bit.
CliResult<> check_executable(const std::string& path, const std::string& shown_as) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return cli_error(exit_status::kBadInput, cat(shown_as, ": ", std::strerror(errno)));
  if (S_ISDIR(st.st_mode))
    return cli_error(exit_status::kBadInput, cat(shown_as, ": is a directory"));
  if (!S_ISREG(st.st_mode))
    return cli_error(exit_status::kBadInput, cat(shown_as, ": not a regular file"));
  if ((st.st_mode & 0111) == 0)
    return cli_error(exit_status::kBadInput,
                     cat(shown_as, ": not executable (no x permission bit)"));
  return {};
}

std::string elf_refusal(const ElfError& error) {
  if (error.kind == ElfError::Kind::NotElf) return "not an ELF file, and no #! line";
  return error.reason;
}

// Follows "#!" lines from the program to the ELF that Linux would finally load, rewriting argv
// at each level as binfmt_script does: [interpreter, argument?, script, argv[1:]...].
struct LaunchChain {
  std::vector<std::string> scripts;  // host paths, the program first
  std::string exe;
  std::vector<std::string> argv;
};

// The guest's PATH (guest_environment), searched on the host for "#!/usr/bin/env NAME".
constexpr std::string_view kGuestPath = "/usr/local/bin:/usr/bin:/bin";

// "#!/usr/bin/env python3": the program env would start in the guest, found now so that it
// (and what a runtime needs) is packed; it then runs directly. Only a single plain name
// qualifies (not "-S ...", not "NAME=VALUE").
std::optional<std::string> env_target(const ScriptHeader& script) {
  if (std::filesystem::path(script.interpreter).filename() != "env" || !script.argument)
    return std::nullopt;
  const std::string& name = *script.argument;
  if (name.empty() || name.starts_with('-') ||
      name.find_first_of(" \t=/") != std::string::npos)
    return std::nullopt;
  std::string_view dirs = kGuestPath;
  while (!dirs.empty()) {
    std::string_view dir = dirs.substr(0, dirs.find(':'));
    std::string candidate = cat(dir, "/", name);
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111))
      return candidate;
    dirs.remove_prefix(std::min(dirs.size(), dir.size() + 1));
  }
  return std::nullopt;
}

CliResult<LaunchChain> follow_scripts(const std::string& program, const std::string& shown_as,
                                      std::vector<std::string> argv, bool resolve_env) {
  LaunchChain chain;
  std::string current = program;
  std::string current_shown = shown_as;
  for (int depth = 0;; ++depth) {
    TRY_CLI(check_executable(current, current_shown));
    std::string start = TRY_CLI(read_start(current));
    auto header = parse_script_header(start);
    if (!header)
      return cli_error(exit_status::kBadInput,
                       cat(current_shown, ": bad #! line: ", header.error()));
    if (!*header) break;
    if (depth == kMaxScriptDepth)
      return cli_error(exit_status::kBadInput, cat(shown_as, ": more than ", kMaxScriptDepth,
                                                   " levels of #! interpreters"));
    ScriptHeader script = **header;
    if (auto target = resolve_env ? env_target(script) : std::nullopt) {
      script.interpreter = *target;
      script.argument.reset();
    }
    if (!script.interpreter.starts_with('/'))
      return cli_error(exit_status::kBadInput,
                       cat(current_shown, ": the #! interpreter '", script.interpreter,
                           "' is not an absolute path"));
    std::vector<std::string> next{script.interpreter};
    if (script.argument) next.push_back(*script.argument);
    next.push_back(current);
    next.insert(next.end(), argv.begin() + 1, argv.end());
    argv = std::move(next);
    chain.scripts.push_back(current);
    current_shown = cat(script.interpreter, " (the #! interpreter of ", current_shown, ")");
    current = script.interpreter;
  }
  chain.exe = current;
  chain.argv = std::move(argv);
  return chain;
}

std::string canonical_dir_of(const std::string& path) {
  std::error_code ec;
  auto canonical = std::filesystem::canonical(path, ec);
  if (ec) return std::filesystem::path(path).parent_path().string();
  return canonical.parent_path().string();
}

// ELF files inside added directories (Python's lib-dynload modules, helper executables) bring
// their libraries too. They are optional to the program, so one that cannot be resolved is a
// warning: the program may never load it.
enum class Severity { Note, Warning };

void add_module_dependencies(const std::vector<std::string>& candidates, DependencyWalker& walker,
                             HostMirror& mirror, const Reporter& reporter, std::string_view origin,
                             Severity severity) {
  int unresolved = 0;
  for (const std::string& path : candidates) {
    auto file = MappedFile::open(path);
    if (!file || !has_elf_magic(file->bytes())) continue;
    auto info = parse_elf(file->bytes());
    if (!info) {
      reporter.note(cat("not resolving libraries of ", path, ": ", info.error().reason));
      continue;
    }
    auto added = walker.add(path, *info, canonical_dir_of(path));
    if (!added) {
      ++unresolved;
      reporter.note(added.error().message);
      continue;
    }
    for (std::size_t index : *added) {
      const LoadedObject& object = walker.objects()[index];
      if (object.path == path) continue;  // packed already by --add
      auto mirrored = mirror.mirror(object.path);
      if (!mirrored) {
        ++unresolved;
        reporter.note(mirrored.error().message);
      } else {
        reporter.note(cat("packing ", object.path, " (needed by ", path, ")"));
      }
    }
  }
  if (unresolved == 0) return;
  std::string message = cat(unresolved, " ELF file(s) under ", origin,
                            " need libraries that were not found; they will fail to load in the "
                            "guest (details with --verbose)");
  // What nimbus packed on its own (a JVM's X11 and sound modules) is only worth a note.
  if (severity == Severity::Warning)
    reporter.warn(message);
  else
    reporter.note(message);
}

bool is_reserved(const std::string& guest) {
  std::string_view dir = kLaunchDir;
  return guest == dir || (guest.starts_with(dir) && guest[dir.size()] == '/');
}

CliResult<> add_user_files(const ImageSpec& spec, HostMirror& mirror, DependencyWalker& walker,
                           const Reporter& reporter) {
  std::vector<std::string> elf_candidates;
  for (const AddSpec& add : spec.adds) {
    struct stat st {};
    if (::stat(add.host.c_str(), &st) != 0)
      return cli_error(exit_status::kBadInput, cat("--add ", add.host, ": ", std::strerror(errno)));
    if (add.guest && is_reserved(*add.guest))
      return usage_error(cat("--add ", add.host, ":", *add.guest, ": ", kLaunchDir,
                             " is reserved for the launch description"));
    if (add.guest) {
      std::error_code ec;
      std::string source = std::filesystem::canonical(add.host, ec).string();
      if (ec) return cli_error(exit_status::kBadInput, cat("--add ", add.host, ": ", ec.message()));
      reporter.note(cat("adding ", add.host, " as ", *add.guest));
      TRY_CLI(mirror.copy_tree(source, *add.guest, elf_candidates));
    } else {
      std::string canonical = TRY_CLI(mirror.mirror(add.host));
      reporter.note(cat("adding ", add.host));
      TRY_CLI(mirror.copy_tree(canonical, canonical, elf_candidates));
    }
  }
  add_module_dependencies(elf_candidates, walker, mirror, reporter, "--add paths",
                          Severity::Warning);
  return {};
}

// Packs a host path found automatically, with its contents; one that cannot be read is left out
// with a warning, since the program may never need it.
void add_found_path(const std::string& path, const std::string& why,
                    const std::vector<std::string>& leave_out, HostMirror& mirror,
                    std::vector<std::string>& elf_candidates, const Reporter& reporter) {
  auto canonical = mirror.mirror(path);
  // The globs name paths under `path`; they apply to the same files under its real path.
  std::vector<std::string> patterns = leave_out;
  if (canonical)
    for (const std::string& pattern : leave_out)
      if (pattern.starts_with(path + "/"))
        patterns.push_back(*canonical + pattern.substr(path.size()));
  CliResult<> packed = canonical
                           ? mirror.copy_tree(*canonical, *canonical, elf_candidates, patterns)
                           : std::unexpected(canonical.error());
  if (packed)
    reporter.note(cat("adding ", path, " (", why, ")"));
  else
    reporter.warn(cat("not packing ", path, " (", why, "): ", packed.error().message));
}

struct AutomaticFiles {
  bool relative_argument = false;  // an argument named a file relative to the current directory
  std::optional<std::string> real_exe;  // start the program by this path (the runtime asks)
};

// What --no-auto turns off: the runtime table's files and the host files the program's
// arguments name.
AutomaticFiles add_automatic_files(const ImageSpec& spec, const std::string& exe,
                                   const ElfInfo& exe_info,
                                   const std::vector<std::string>& environment,
                                   HostMirror& mirror, DependencyWalker& walker,
                                   const Reporter& reporter) {
  AutomaticFiles result;
  std::error_code ec;
  ProgramFacts facts;
  facts.executable = std::filesystem::canonical(exe, ec).string();
  if (ec) facts.executable = exe;
  facts.needed = exe_info.needed;
  facts.environment = environment;
  RuntimeFiles runtime = find_runtime_files(facts);
  for (const std::string& name : runtime.runtimes) reporter.note(cat("runtime table: ", name));
  if (runtime.start_by_real_path && facts.executable != exe) result.real_exe = facts.executable;
  std::vector<std::string> elf_candidates;
  for (const RuntimeFile& file : runtime.files)
    add_found_path(file.path, file.why, file.leave_out, mirror, elf_candidates, reporter);

  ArgumentFiles arguments = find_argument_files(spec.args, std::filesystem::current_path(ec));
  for (const std::string& reason : arguments.skipped) reporter.warn(reason);
  for (const std::string& reason : arguments.notes) reporter.note(reason);
  for (const ArgumentFile& file : arguments.files) {
    add_found_path(file.path, "named by a program argument", {}, mirror, elf_candidates, reporter);
    result.relative_argument |= file.relative;
  }
  add_module_dependencies(elf_candidates, walker, mirror, reporter, "automatically packed paths",
                          Severity::Note);
  return result;
}

// Without --workdir the program starts where nimbus was started if the image holds that
// directory (an argument relative to it was packed, or a file below it), else at the root.
CliResult<std::string> default_workdir(bool relative_argument, RootfsTree& tree) {
  std::error_code ec;
  std::string cwd = std::filesystem::current_path(ec).string();
  if (ec || cwd.empty()) return std::string("/");
  if (relative_argument) TRY_CLI(tree.add_directory(cwd, 0755));
  auto entry = tree.entries().find(std::string_view(cwd).substr(1));
  bool is_directory = cwd == "/" || (entry != tree.entries().end() &&
                                     entry->second.type == RootfsEntry::Type::Directory);
  return is_directory ? cwd : std::string("/");
}

}  // namespace

CliResult<std::string> locate_program(const std::string& program) {
  if (program.empty()) return usage_error("the program name is empty");
  std::error_code ec;
  std::filesystem::path cwd = std::filesystem::current_path(ec);
  std::filesystem::path path;
  if (program.find('/') != std::string::npos) {
    path = program;
  } else if (auto found = find_on_path(program)) {
    path = *found;
  } else {
    struct stat st {};
    bool here = ::stat(program.c_str(), &st) == 0;
    return cli_error(exit_status::kBadInput,
                     cat(program, ": not found on PATH",
                         here ? cat(" (for the file here, write ./", program, ")") : ""));
  }
  if (path.is_relative()) path = cwd / path;
  // ".." after a symlink means the symlink's parent, not the lexical one; let the kernel say.
  bool has_dot_dot = false;
  for (const auto& part : path) has_dot_dot |= part == "..";
  if (has_dot_dot) {
    auto canonical = std::filesystem::weakly_canonical(path, ec);
    if (!ec) return canonical.string();
  }
  return path.lexically_normal().string();
}

CliResult<ImagePlan> plan_image(const ImageSpec& spec, const Reporter& reporter) {
  if (!spec.program)
    return usage_error("no program to pack: give PROGRAM, or a manifest with a 'program' line");
  ImagePlan plan;
  plan.kernel_path = kernel_path(spec.kernel_path);
  TRY_CLI(check_kernel_readable(plan.kernel_path, spec.kernel_path.has_value()));
  plan.kernel_words = spec.kernel_words;

  const std::string& shown_as = *spec.program;
  std::string program = TRY_CLI(locate_program(shown_as));
  std::vector<std::string> argv{spec.argv0.value_or(program)};
  argv.insert(argv.end(), spec.args.begin(), spec.args.end());
  LaunchChain chain = TRY_CLI(follow_scripts(program, shown_as, std::move(argv), spec.auto_pack));

  auto exe_file = TRY_CLI(MappedFile::open(chain.exe));
  auto exe_info = parse_elf(exe_file.bytes());
  if (!exe_info) {
    std::string who = chain.scripts.empty()
                          ? shown_as
                          : cat(chain.exe, " (the #! interpreter of ", chain.scripts.back(), ")");
    return cli_error(exit_status::kBadInput, cat(who, ": not an x86-64 ELF executable (",
                                                 elf_refusal(exe_info.error()), ")"));
  }

  HostMirror mirror(plan.tree, reporter);
  for (const std::string& script : chain.scripts) {
    TRY_CLI(mirror.mirror(script));
    reporter.note(cat("packing ", script, " (script)"));
  }
  TRY_CLI(mirror.mirror(chain.exe));
  reporter.note(cat("packing ", chain.exe, exe_info->interpreter ? "" : " (statically linked)"));

  DependencyWalker walker(LdSoCache::load());
  auto loaded = TRY_CLI(walker.add(chain.exe, *exe_info, canonical_dir_of(chain.exe)));
  for (std::size_t index : loaded) {
    const LoadedObject& object = walker.objects()[index];
    if (object.path == chain.exe) continue;
    TRY_CLI(mirror.mirror(object.path));
    reporter.note(cat("packing ", object.path, object.loader ? "" : " (ELF interpreter)"));
  }
  // The guest's ld.so then searches exactly as the host's did, including directories that only
  // the cache names (/usr/local/lib and the like).
  if (exe_info->interpreter && ::access(LdSoCache::kDefaultPath, R_OK) == 0)
    TRY_CLI(mirror.mirror(LdSoCache::kDefaultPath));

  std::vector<std::string> environment = guest_environment(spec);
  AutomaticFiles automatic;
  if (spec.auto_pack)
    automatic = add_automatic_files(spec, chain.exe, *exe_info, environment, mirror, walker,
                                    reporter);
  TRY_CLI(add_user_files(spec, mirror, walker, reporter));

  plan.launch.exe = automatic.real_exe.value_or(chain.exe);
  plan.launch.argv = std::move(chain.argv);
  plan.launch.env = std::move(environment);
  if (spec.workdir)
    plan.launch.workdir = *spec.workdir;
  else if (spec.auto_pack)
    plan.launch.workdir = TRY_CLI(default_workdir(automatic.relative_argument, plan.tree));
  else
    plan.launch.workdir = "/";
  TRY_CLI(plan.tree.add_directory(plan.launch.workdir, 0755));

  if (plan.tree.contains(kLaunchDir))
    return cli_error(exit_status::kBadInput,
                     cat("the packed files already hold ", kLaunchDir, ", which is reserved"));
  TRY_CLI(plan.tree.add_directory(kLaunchDir, 0755));
  TRY_CLI(plan.tree.add_generated_file("/.nimbus/argv", nul_joined(plan.launch.argv), 0644));
  TRY_CLI(plan.tree.add_generated_file("/.nimbus/env", nul_joined(plan.launch.env), 0644));
  TRY_CLI(plan.tree.add_generated_file("/.nimbus/workdir", plan.launch.workdir, 0644));
  TRY_CLI(plan.tree.add_generated_file("/.nimbus/exe", plan.launch.exe, 0644));
  return plan;
}
