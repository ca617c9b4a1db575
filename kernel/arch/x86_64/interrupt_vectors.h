// The device interrupt vector registry: drivers take a free vector with their handler
// instead of adding a case to interrupt_dispatch.
#pragma once

#include <cstdint>

#include "kernel/lib/result.h"

namespace nimbus::interrupt_vectors {

// Runs in interrupt context (interrupts off, the interrupted thread's IST 1 stack); may wake
// threads. The dispatcher sends the end-of-interrupt after it returns, so a handler of a
// level-triggered line acknowledges its device first.
using Handler = void (*)(void* context);

// The vectors handed out: below them the fixed ones (APIC timer and IPIs 0x20-0x2f, serial
// 0x30, drivers that still hard-code theirs 0x31-0x3f), above them only the spurious vector.
constexpr uint8_t kFirst = 0x40;
constexpr uint8_t kLast = 0xef;

// A free vector that now calls `handler(context)`; ENOSPC when all are taken.
Result<uint8_t> allocate(Handler handler, void* context);
// Only once the device can no longer raise it.
void release(uint8_t vector);
// Calls the handler registered for `vector`; false when there is none.
bool dispatch(uint8_t vector);

}  // namespace nimbus::interrupt_vectors
