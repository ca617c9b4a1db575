// Parsing of --memory sizes ("128M", "1G", "512" = MiB) into a MiB count.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

// Returns the size in MiB, or nothing when the text is not a size or is not a whole MiB count.
std::optional<std::uint64_t> parse_memory_mib(std::string_view text);
