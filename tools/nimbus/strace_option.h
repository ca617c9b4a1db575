// --strace[=NAME,...]: which system calls `nimbus run` asks the kernel to trace.
#pragma once

#include <string>
#include <string_view>

#include "cli_error.h"

// Checks a --strace list (strace's -e trace= form: plain system call names separated by
// commas) against the kernel's syscall table; usage error on an empty or unknown name.
CliResult<std::string> parse_strace_filter(std::string_view list);

// The kernel word that turns tracing on: "strace" for every call, "strace=LIST" for some.
std::string strace_kernel_word(const std::string& filter);
