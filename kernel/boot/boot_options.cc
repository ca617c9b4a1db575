// The kernel command line, decoded.
#include "kernel/boot/boot_options.h"

#include <array>

#include "kernel/lib/command_line.h"
#include "kernel/lib/format.h"

namespace nimbus {
namespace {
// Kept alive: BootOptions::test points into it.
CommandLine g_command_line;
constexpr std::array<std::string_view, 20> kKnown = {
    "verbose", "bootchart", "boot-only", "tsc_khz",  "max_cpus",       "test",          "strace", kVirtioMmioDeviceKey,
    "ip",      "gateway",   "dns",       "hostname", "nimbus.streams", "nimbus.winsize",
    "volume",  "root",      "share",     "idle_poll_us", "norandmaps", "nopcid"};

// RFC 1123 2.1: letters, digits and hyphens in dot-separated labels of 1-63, 253 in all.
bool valid_hostname(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  size_t label = 0;
  for (size_t i = 0; i < name.size(); i++) {
    char c = name[i];
    if (c == '.') {
      if (label == 0 || name[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c == '-' && label > 0);
    if (!ok || ++label > 63) return false;
  }
  return label > 0 && name.back() != '-';
}

const char* parse_network(const CommandLine& line, BootOptions& options) {
  if (auto ip = line.value("ip"); ip && *ip != "dhcp") {
    // (No find() or substr(): they need memchr and exceptions, which the kernel lacks.)
    size_t slash = 0;
    while (slash < ip->size() && (*ip)[slash] != '/') slash++;
    if (slash == ip->size()) slash = std::string_view::npos;
    if (slash == std::string_view::npos || !parse_ipv4_address({ip->data(), slash}, options.ip_address))
      return "ip needs ADDRESS/PREFIX (10.0.2.15/24) or dhcp";
    std::string_view prefix(ip->data() + slash + 1, ip->size() - slash - 1);
    unsigned length = 0;
    if (prefix.empty() || prefix.size() > 2) return "ip needs a prefix length from 0 to 32";
    for (char c : prefix) {
      if (c < '0' || c > '9') return "ip needs a prefix length from 0 to 32";
      length = length * 10 + static_cast<unsigned>(c - '0');
    }
    if (length > 32) return "ip needs a prefix length from 0 to 32";
    options.ip_prefix_length = static_cast<uint8_t>(length);
    options.static_ip = true;
  }
  if (auto gateway = line.value("gateway"); gateway && !parse_ipv4_address(*gateway, options.gateway))
    return "gateway needs an IPv4 address";
  if (auto dns = line.value("dns"); dns && !parse_ipv4_address(*dns, options.dns)) return "dns needs an IPv4 address";
  if (auto hostname = line.value("hostname")) {
    if (!valid_hostname(*hostname)) return "hostname needs letters, digits, hyphens and dots (RFC 1123)";
    options.hostname = *hostname;
  }
  return nullptr;
}

// What volume= and share= take after their device or tag: /DIRECTORY:ro or /DIRECTORY:rw
// (the directory may hold colons; the last field is the mode).
bool parse_mount_point(std::string_view text, std::string_view& directory, bool& read_only) {
  size_t last = text.size();
  while (last > 0 && text[last - 1] != ':') last--;
  if (last == 0) return false;
  std::string_view mode(text.data() + last, text.size() - last);
  directory = std::string_view(text.data(), last - 1);
  if (directory.empty() || directory[0] != '/') return false;
  if (mode != "ro" && mode != "rw") return false;
  read_only = mode == "ro";
  return true;
}

// volume=DEVICE:DIRECTORY:ro (no find() or substr() here either).
const char* parse_volume(std::string_view text, VolumeOption& volume) {
  constexpr const char* kUsage = "volume needs DEVICE:/DIRECTORY:ro or :rw (vda:/data:rw)";
  size_t colon = 0;
  while (colon < text.size() && text[colon] != ':') colon++;
  if (colon == 0 || colon == text.size()) return kUsage;
  std::string_view device(text.data(), colon);
  std::string_view dev_prefix("/dev/");
  if (device.size() > dev_prefix.size() && std::string_view(device.data(), dev_prefix.size()) == dev_prefix)
    device = std::string_view(device.data() + dev_prefix.size(), device.size() - dev_prefix.size());
  for (char c : device)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return kUsage;
  std::string_view directory;
  bool read_only;
  if (!parse_mount_point(std::string_view(text.data() + colon + 1, text.size() - colon - 1), directory, read_only))
    return kUsage;
  volume = VolumeOption{device, directory, read_only};
  return nullptr;
}

// share=TAG:/DIRECTORY:ro|rw: a virtio-9p mount tag (letters, digits, '-', '_', '.'; QEMU's
// mount_tag), then what volume= takes after its device.
const char* parse_share(std::string_view text, VolumeOption& share) {
  constexpr const char* kUsage = "share needs TAG:/DIRECTORY:ro or :rw (nimbus-share0:/src:rw)";
  size_t colon = 0;
  while (colon < text.size() && text[colon] != ':') colon++;
  if (colon == 0 || colon == text.size() || colon > 31) return kUsage;
  std::string_view tag(text.data(), colon);
  for (char c : tag)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
          c == '.'))
      return kUsage;
  std::string_view directory;
  bool read_only;
  if (!parse_mount_point(std::string_view(text.data() + colon + 1, text.size() - colon - 1), directory, read_only))
    return kUsage;
  share = VolumeOption{tag, directory, read_only};
  return nullptr;
}

// A decimal number from 1 to 65535 (no sign, no leading junk).
bool parse_dimension(std::string_view text, uint16_t& value) {
  if (text.empty() || text.size() > 5) return false;
  uint32_t number = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    number = number * 10 + static_cast<uint32_t>(c - '0');
  }
  if (number == 0 || number > 65535) return false;
  value = static_cast<uint16_t>(number);
  return true;
}

}  // namespace

bool parse_stream_kinds(std::string_view text, HostStreamKinds& kinds) {
  HostStreamKinds parsed = kinds;
  for (size_t stream = 0; stream < parsed.terminal.size(); stream++) {
    size_t end = 0;
    while (end < text.size() && text[end] != ',') end++;
    std::string_view word(text.data(), end);
    if (word == "tty") parsed.terminal[stream] = true;
    else if (word == "pipe") parsed.terminal[stream] = false;
    else return false;
    bool last = stream + 1 == parsed.terminal.size();
    if (last != (end == text.size())) return false;
    if (!last) text = std::string_view(text.data() + end + 1, text.size() - end - 1);
  }
  kinds = parsed;
  return true;
}

bool parse_window_size(std::string_view text, HostStreamKinds& kinds) {
  size_t x = 0;
  while (x < text.size() && text[x] != 'x') x++;
  if (x == text.size()) return false;
  uint16_t rows = 0, columns = 0;
  if (!parse_dimension({text.data(), x}, rows) || !parse_dimension({text.data() + x + 1, text.size() - x - 1}, columns))
    return false;
  kinds.rows = rows;
  kinds.columns = columns;
  return true;
}

bool parse_ipv4_address(std::string_view text, net::Ipv4Address& address) {
  uint32_t value = 0;
  size_t position = 0;
  for (int part = 0; part < 4; part++) {
    if (part > 0) {
      if (position >= text.size() || text[position] != '.') return false;
      position++;
    }
    size_t digits = 0;
    uint32_t number = 0;
    while (position < text.size() && text[position] >= '0' && text[position] <= '9' && digits < 3) {
      number = number * 10 + static_cast<uint32_t>(text[position] - '0');
      position++;
      digits++;
    }
    if (digits == 0 || number > 255) return false;
    value = (value << 8) | number;
  }
  if (position != text.size()) return false;
  address.value = value;
  return true;
}

const char* parse_boot_options(const char* text, BootOptions& options) {
  auto parsed = CommandLine::try_parse(text);
  if (!parsed) return "too long or malformed";
  g_command_line = *parsed;
  const CommandLine& line = g_command_line;
  if (auto unknown = line.first_unknown(kKnown)) {
    static char message[96];
    format_to(message, sizeof(message), "unknown option '%.*s'", static_cast<int>(unknown->size()), unknown->data());
    return message;
  }
  options.verbose = line.has_flag("verbose");
  options.bootchart = line.has_flag("bootchart");
  options.boot_only = line.has_flag("boot-only");
  options.randomize_layout = !line.has_flag("norandmaps");
  options.pcids = !line.has_flag("nopcid");
  options.strace = line.has_flag("strace");
  if (auto filter = line.value("strace")) {
    if (filter->empty()) return "strace= needs system call names (strace=open,read)";
    options.strace = true;
    options.strace_filter = *filter;
  }
  if (line.value("tsc_khz")) {
    auto khz = line.value_u64("tsc_khz");
    if (!khz || *khz == 0) return "tsc_khz needs a positive number";
    options.tsc_khz = *khz;
  }
  if (line.value("max_cpus")) {
    auto n = line.value_u64("max_cpus");
    if (!n || *n == 0) return "max_cpus needs a positive number";
    options.max_cpus = *n;
  }
  if (line.value("idle_poll_us")) {
    auto us = line.value_u64("idle_poll_us");
    if (!us || *us > 1'000'000) return "idle_poll_us needs a number of microseconds up to 1000000";
    options.idle_poll_us = *us;
  }
  if (auto test = line.value("test")) options.test = *test;
  if (auto streams = line.value("nimbus.streams"); streams && !parse_stream_kinds(*streams, options.streams))
    return "nimbus.streams needs three of tty or pipe (nimbus.streams=tty,pipe,pipe)";
  if (auto size = line.value("nimbus.winsize"); size && !parse_window_size(*size, options.streams))
    return "nimbus.winsize needs ROWSxCOLUMNS (nimbus.winsize=50x132)";
  for (const CommandLine::Word& word : line) {
    if (word.key != kVirtioMmioDeviceKey) continue;
    auto device = word.value ? parse_virtio_mmio_device(*word.value) : std::nullopt;
    if (!device) return "virtio_mmio.device needs <size>@<address>:<irq>";
    if (options.virtio_mmio_count == options.virtio_mmio_slots.size()) return "too many virtio_mmio.device words";
    options.virtio_mmio_slots[options.virtio_mmio_count++] = *device;
  }
  for (const CommandLine::Word& word : line) {
    if (word.key != "volume") continue;
    if (!word.value) return "volume needs DEVICE:/DIRECTORY:ro or :rw (vda:/data:rw)";
    if (options.volume_count == options.volume_slots.size()) return "too many volume words";
    if (const char* problem = parse_volume(*word.value, options.volume_slots[options.volume_count])) return problem;
    options.volume_count++;
  }
  for (const CommandLine::Word& word : line) {
    if (word.key != "share") continue;
    if (!word.value) return "share needs TAG:/DIRECTORY:ro or :rw (nimbus-share0:/src:rw)";
    if (options.share_count == options.share_slots.size()) return "too many share words";
    if (const char* problem = parse_share(*word.value, options.share_slots[options.share_count])) return problem;
    options.share_count++;
  }
  if (auto root = line.value("root")) {
    // A device name, as volume= takes it ("vdb"): short, no path.
    if (root->empty() || root->size() > 15) return "root needs a block device name (root=vda)";
    for (char c : *root)
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return "root needs a block device name (root=vda)";
    options.root_device = *root;
  }
  return parse_network(line, options);
}

}  // namespace nimbus
