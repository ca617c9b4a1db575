// run_command(): `nimbus run`, which boots the kernel (with a program or an image) under QEMU and
// exits with the guest's status.
#pragma once

#include <span>
#include <string_view>

// Takes the arguments after "run"; returns the CLI's exit status.
int run_command(std::span<const std::string_view> args);
