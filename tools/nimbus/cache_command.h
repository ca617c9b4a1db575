// cache_command(): `nimbus cache ls|prune|clear|--limit SIZE`, which shows and trims the image
// cache.
#pragma once

#include <span>
#include <string_view>

// Returns the process exit status.
int cache_command(std::span<const std::string_view> args);
