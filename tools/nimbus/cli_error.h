// CliError and CliResult<T>: a CLI failure message together with its exit status.
#pragma once

#include <expected>
#include <string>

// Exit statuses of the CLI itself; guest statuses 0..123 and 128+N pass through unchanged.
// kBadImage and kBadInput (the sysexits.h EX_DATAERR and EX_NOINPUT values) are only returned
// before a guest starts, so they cannot be mistaken for a guest's status in practice.
namespace exit_status {
inline constexpr int kUsage = 2;
inline constexpr int kBadImage = 65;  // an image file that is truncated, corrupt or too new
// A program or file to pack that is missing, unreadable, or not something Nimbus can run (not an
// x86-64 ELF executable or a #! script, a malformed ELF, a shared library that cannot be found).
inline constexpr int kBadInput = 66;
inline constexpr int kTimeout = 124;
inline constexpr int kCliFailure = 125;  // QEMU failed, or the guest stopped without a status
inline constexpr int kQemuNotFound = 127;
}  // namespace exit_status

struct CliError {
  int exit_status;
  std::string message;  // printed as "nimbus: <message>"
};

template <typename T = void>
using CliResult = std::expected<T, CliError>;

inline std::unexpected<CliError> cli_error(int exit_status, std::string message) {
  return std::unexpected(CliError{exit_status, std::move(message)});
}

inline std::unexpected<CliError> usage_error(std::string message) {
  return cli_error(exit_status::kUsage, std::move(message));
}

// Evaluates a CliResult expression; returns its error from the enclosing function, otherwise
// yields the value (a GNU statement expression, like the kernel's TRY).
#define TRY_CLI(expr)                                                      \
  ({                                                                       \
    auto _try_cli_result = (expr);                                         \
    if (!_try_cli_result) return std::unexpected(_try_cli_result.error()); \
    std::move(_try_cli_result).value();                                    \
  })
