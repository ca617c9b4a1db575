// Cache sizes: parsing a limit ("4G", "500M", "4GiB", "0") and printing byte counts briefly.
#include "cache_size.h"

#include <cctype>
#include <charconv>
#include <limits>

#include "text.h"

std::optional<std::uint64_t> parse_cache_size(std::string_view text) {
  std::uint64_t number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc{} || end == text.data()) return std::nullopt;
  std::string_view suffix(end, text.data() + text.size());
  if (suffix.ends_with("iB"))
    suffix.remove_suffix(2);  // "4GiB" as well as "4G"
  else if (suffix.size() == 2 && (suffix[1] == 'B' || suffix[1] == 'b'))
    suffix.remove_suffix(1);
  if (suffix.size() > 1) return std::nullopt;
  int shift = 0;
  if (!suffix.empty()) {
    switch (std::toupper(static_cast<unsigned char>(suffix[0]))) {
      case 'K':
        shift = 10;
        break;
      case 'M':
        shift = 20;
        break;
      case 'G':
        shift = 30;
        break;
      case 'T':
        shift = 40;
        break;
      default:
        return std::nullopt;
    }
  }
  if (number > (std::numeric_limits<std::uint64_t>::max() >> shift)) return std::nullopt;
  return number << shift;
}

std::string format_size(std::uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes);
  constexpr std::string_view kUnits = "KMGTPE";
  // Tenths of the unit, rounded, computed in integers so the text never depends on the FPU.
  std::size_t unit = 0;
  std::uint64_t scale = 1024;
  while (unit + 1 < kUnits.size() && bytes / scale >= 1024) {
    scale *= 1024;
    ++unit;
  }
  unsigned __int128 tenths = (static_cast<unsigned __int128>(bytes) * 10 + scale / 2) / scale;
  auto whole = static_cast<std::uint64_t>(tenths / 10);
  auto fraction = static_cast<std::uint64_t>(tenths % 10);
  if (whole >= 100) return cat(whole + (fraction >= 5 ? 1 : 0), kUnits[unit]);
  return cat(whole, '.', fraction, kUnits[unit]);
}
