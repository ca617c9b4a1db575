// Where the CLI finds things on the host: its own directory (kernel, probe), QEMU, programs on
// PATH.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "cli_error.h"

inline constexpr const char* kDefaultQemu = "qemu-system-x86_64";

// The first executable regular file called `name` in a directory of $PATH, as execvp finds it.
std::optional<std::string> find_on_path(std::string_view name);

// The directory holding the running nimbus executable (the build root, next to the kernel).
std::filesystem::path executable_dir();

// Finds QEMU: an explicit --qemu path must be executable; a bare name is looked up on PATH.
// A missing QEMU is an error with exit status 127.
CliResult<std::string> resolve_qemu(const std::optional<std::string>& requested);

// The kernel to boot: --kernel, or nimbus-kernel.elf beside the executable.
std::string kernel_path(const std::optional<std::string>& requested);

// Refuses a kernel path that cannot be read, with a hint on how to get one.
CliResult<> check_kernel_readable(const std::string& path, bool was_requested);
