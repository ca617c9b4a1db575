// cat(): builds a message from strings and integers (libstdc++ 12 has no <format>).
#pragma once

#include <concepts>
#include <string>
#include <string_view>

namespace text_detail {
inline void append(std::string& out, std::string_view part) {
  out += part;
}
inline void append(std::string& out, char part) {
  out += part;
}
template <std::integral T>
requires(!std::same_as<T, char> && !std::same_as<T, bool>) void append(std::string& out, T part) {
  out += std::to_string(part);
}
}  // namespace text_detail

template <typename... Parts>
std::string cat(const Parts&... parts) {
  std::string out;
  (text_detail::append(out, parts), ...);
  return out;
}
