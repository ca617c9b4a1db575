// The kernel command line, decoded.
#include "kernel/boot/boot_options.h"

#include <array>

#include "kernel/lib/command_line.h"
#include "kernel/lib/format.h"

namespace nimbus {
namespace {
// Kept alive: BootOptions::test points into it.
CommandLine g_command_line;
constexpr std::array<std::string_view, 8> kKnown = {"verbose",  "bootchart", "boot-only", "tsc_khz",
                                                    "max_cpus", "test",      "strace",    kVirtioMmioDeviceKey};
}  // namespace

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
  options.strace = line.has_flag("strace");
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
  if (auto test = line.value("test")) options.test = *test;
  for (const CommandLine::Word& word : line) {
    if (word.key != kVirtioMmioDeviceKey) continue;
    auto device = word.value ? parse_virtio_mmio_device(*word.value) : std::nullopt;
    if (!device) return "virtio_mmio.device needs <size>@<address>:<irq>";
    if (options.virtio_mmio_count == options.virtio_mmio_slots.size()) return "too many virtio_mmio.device words";
    options.virtio_mmio_slots[options.virtio_mmio_count++] = *device;
  }
  return nullptr;
}

}  // namespace nimbus
