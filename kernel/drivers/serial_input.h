// Input from the serial console: bytes arrive by interrupt into a ring buffer that readers
// sleep on. (Output goes straight to the UART: serial.h.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/lib/result.h"

namespace nimbus::serial_input {

constexpr uint8_t kVector = 0x30;

// Enables the receive interrupt and routes IRQ 4 to the bootstrap CPU.
void init();
void on_interrupt();
// Blocks until at least one byte is available (unless nonblocking: then 0 when none); a
// signal ends the wait with ERESTARTSYS.
Result<size_t> read(std::span<uint8_t> out, bool nonblocking);
// Called (from the interrupt handler) after new bytes arrived.
void set_input_listener(void (*listener)());
size_t available();

}  // namespace nimbus::serial_input
