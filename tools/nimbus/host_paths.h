// Where the CLI finds its files on the host: its own directory (kernel, probe) and QEMU.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "cli_error.h"

inline constexpr const char* kDefaultQemu = "qemu-system-x86_64";

// The directory holding the running nimbus executable (the build root, next to the kernel).
std::filesystem::path executable_dir();

// Finds QEMU: an explicit --qemu path must be executable; a bare name is looked up on PATH.
// A missing QEMU is an error with exit status 127.
CliResult<std::string> resolve_qemu(const std::optional<std::string>& requested);

// The kernel to boot: --kernel, or nimbus-kernel.elf beside the executable.
std::string kernel_path(const std::optional<std::string>& requested);

// Refuses a kernel path that cannot be read, with a hint on how to get one.
CliResult<> check_kernel_readable(const std::string& path, bool was_requested);
