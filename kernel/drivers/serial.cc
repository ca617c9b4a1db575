// The 16550 UART on COM1.
#include "kernel/drivers/serial.h"

#include "kernel/arch/x86_64/cpu.h"

namespace nimbus::serial {
namespace {
constexpr uint16_t kCom1 = 0x3f8;
constexpr uint16_t kLineStatus = kCom1 + 5;
constexpr uint8_t kTransmitEmpty = 0x20;
}  // namespace

void init() {
  x86::outb(kCom1 + 1, 0x00);  // no UART interrupts
  x86::outb(kCom1 + 3, 0x80);  // DLAB to set the divisor
  x86::outb(kCom1 + 0, 0x01);  // 115200 baud
  x86::outb(kCom1 + 1, 0x00);
  x86::outb(kCom1 + 3, 0x03);  // 8N1
  // FIFOs stay off: turning them on discards input that arrived before boot, and without
  // them the VMM hands over one byte at a time as we read (no overrun, no loss).
}

// Bytes go out unchanged (no "\r\n"): a program's output must reach the host byte for byte,
// and QEMU leaves output processing on for a terminal on its stdio.
void write(const char* text, size_t length) {
  for (size_t i = 0; i < length; i++) {
    while (!(x86::inb(kLineStatus) & kTransmitEmpty)) x86::pause();
    x86::outb(kCom1, static_cast<uint8_t>(text[i]));
  }
}

}  // namespace nimbus::serial
