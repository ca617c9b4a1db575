// Cache sizes: parsing a limit ("4G", "500M", "4GiB", "0") and printing byte counts briefly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// The default limit of the image cache: room for a dozen large runtimes (a JDK image is ~214 MB).
inline constexpr std::uint64_t kDefaultCacheLimit = std::uint64_t{4} << 30;

// Bytes for "4G", "500M", "64K", "4GiB", "1T" (powers of 1024) or a plain byte count ("0",
// "1048576"); nothing when the text is not one of those or overflows.
std::optional<std::uint64_t> parse_cache_size(std::string_view text);

// "0", "812", "3.4K", "41.2M", "4.0G": one decimal below 100 units, in powers of 1024.
std::string format_size(std::uint64_t bytes);
