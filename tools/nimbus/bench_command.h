// bench_command(): `nimbus bench <name>`, which hands over to the benchmark drivers in bench/.
#pragma once

#include <span>
#include <string_view>

// Takes the arguments after "bench"; returns the CLI's exit status (only on failure to start).
int bench_command(std::span<const std::string_view> args);
