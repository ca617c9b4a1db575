// Parsing `virtio_mmio.device=` values.
#include "kernel/platform/kvm/virtio_mmio_devices.h"

namespace nimbus {
namespace {

// Reads one number at the front of `text` (advancing it); nullopt on no digits or overflow.
std::optional<uint64_t> take_number(std::string_view& text) {
  uint64_t base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  }
  uint64_t value = 0;
  size_t digits = 0;
  for (; digits < text.size(); digits++) {
    char c = text[digits];
    uint64_t digit;
    if (c >= '0' && c <= '9') {
      digit = static_cast<uint64_t>(c - '0');
    } else if (base == 16 && c >= 'a' && c <= 'f') {
      digit = static_cast<uint64_t>(c - 'a' + 10);
    } else if (base == 16 && c >= 'A' && c <= 'F') {
      digit = static_cast<uint64_t>(c - 'A' + 10);
    } else {
      break;
    }
    if (value > (UINT64_MAX - digit) / base) return std::nullopt;
    value = value * base + digit;
  }
  if (digits == 0) return std::nullopt;
  text.remove_prefix(digits);
  return value;
}

bool take_char(std::string_view& text, char c) {
  if (text.empty() || text[0] != c) return false;
  text.remove_prefix(1);
  return true;
}

}  // namespace

std::optional<VirtioMmioDevice> parse_virtio_mmio_device(std::string_view text) {
  VirtioMmioDevice device;
  auto size = take_number(text);
  if (!size || *size == 0) return std::nullopt;
  unsigned shift = 0;
  if (!text.empty()) {
    switch (text[0]) {
      case 'k': case 'K': shift = 10; break;
      case 'm': case 'M': shift = 20; break;
      case 'g': case 'G': shift = 30; break;
      default: break;
    }
    if (shift) text.remove_prefix(1);
  }
  if (*size > (UINT64_MAX >> shift)) return std::nullopt;
  device.size = *size << shift;
  if (!take_char(text, '@')) return std::nullopt;
  auto base = take_number(text);
  if (!base || !take_char(text, ':')) return std::nullopt;
  device.base = *base;
  auto irq = take_number(text);
  if (!irq || *irq > UINT32_MAX) return std::nullopt;
  device.irq = static_cast<uint32_t>(*irq);
  if (take_char(text, ':') && !take_number(text)) return std::nullopt;
  if (!text.empty()) return std::nullopt;
  return device;
}

}  // namespace nimbus
