// Input from the serial console: bytes arrive by interrupt into a ring buffer that readers
// sleep on. (Output goes straight to the UART: serial.h.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace nimbus::serial_input {

constexpr uint8_t kVector = 0x30;

// Enables the receive interrupt and routes IRQ 4 to the bootstrap CPU.
void init();
void on_interrupt();
// Blocks until at least one byte is available (unless nonblocking: then 0 when none).
size_t read(std::span<uint8_t> out, bool nonblocking);
size_t available();

}  // namespace nimbus::serial_input
