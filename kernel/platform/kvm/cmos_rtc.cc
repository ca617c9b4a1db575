// Reads the MC146818 CMOS clock (registers 0x00-0x09, status B for BCD/24h).
#include "kernel/platform/kvm/cmos_rtc.h"

#include "kernel/arch/x86_64/cpu.h"

namespace nimbus::cmos_rtc {
namespace {

uint8_t read_register(uint8_t reg) {
  x86::outb(0x70, reg);
  return x86::inb(0x71);
}

// Days from 1970-01-01 to the given civil date (Howard Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = static_cast<unsigned>(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

uint64_t read_epoch_seconds() {
  // Wait out an update in progress, so the fields are consistent.
  for (int i = 0; i < 100000 && (read_register(0x0a) & 0x80); i++) {
  }
  uint8_t second = read_register(0x00), minute = read_register(0x02), hour = read_register(0x04);
  uint8_t day = read_register(0x07), month = read_register(0x08), year = read_register(0x09);
  uint8_t status_b = read_register(0x0b);
  if (!(status_b & 0x04)) {
    auto bcd = [](uint8_t v) { return static_cast<uint8_t>((v & 0x0f) + (v >> 4) * 10); };
    second = bcd(second);
    minute = bcd(minute);
    hour = static_cast<uint8_t>(bcd(hour & 0x7f) | (hour & 0x80));
    day = bcd(day);
    month = bcd(month);
    year = bcd(year);
  }
  if (!(status_b & 0x02) && (hour & 0x80)) hour = static_cast<uint8_t>(((hour & 0x7f) + 12) % 24);
  if (month < 1 || month > 12 || day < 1 || day > 31) return 0;
  int64_t days = days_from_civil(2000 + year, month, day);
  return static_cast<uint64_t>(days * 86400 + hour * 3600 + minute * 60 + second);
}

}  // namespace nimbus::cmos_rtc
