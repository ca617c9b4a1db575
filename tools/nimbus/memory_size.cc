// Parsing of --memory sizes ("128M", "1G", "512" = MiB) into a MiB count.
#include "memory_size.h"

#include <cctype>
#include <charconv>

std::optional<std::uint64_t> parse_memory_mib(std::string_view text) {
  std::uint64_t number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc{} || end == text.data()) return std::nullopt;
  std::string_view suffix(end, text.data() + text.size());
  if (suffix.ends_with("iB")) suffix.remove_suffix(2);  // accept "16GiB" as well as "16G"
  if (suffix.size() > 1) return std::nullopt;
  char unit =
      suffix.empty() ? 'M' : static_cast<char>(std::toupper(static_cast<unsigned char>(suffix[0])));

  int shift = 0;  // towards MiB
  switch (unit) {
    case 'K':
      // QEMU takes whole MiB; a size that is not one would be silently rounded, so refuse it.
      if (number % 1024 != 0) return std::nullopt;
      return number / 1024;
    case 'M':
      shift = 0;
      break;
    case 'G':
      shift = 10;
      break;
    case 'T':
      shift = 20;
      break;
    default:
      return std::nullopt;
  }
  constexpr std::uint64_t kMaxMib = std::uint64_t{1} << 40;
  if (number > (kMaxMib >> shift)) return std::nullopt;
  return number << shift;
}
