// build_command(): `nimbus build`, which packs a program, its libraries and files, the kernel and
// the launch description into one image file.
#pragma once

#include <span>
#include <string_view>

// Takes the arguments after "build"; returns the CLI's exit status.
int build_command(std::span<const std::string_view> args);
