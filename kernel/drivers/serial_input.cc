// Serial console input: receive interrupts fill a ring buffer that readers sleep on.
#include "kernel/drivers/serial_input.h"

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/io_apic.h"
#include "kernel/arch/x86_64/local_apic.h"
#include "kernel/sync/spinlock.h"
#include "kernel/sync/wait_queue.h"

namespace nimbus::serial_input {
namespace {

constexpr uint16_t kCom1 = 0x3f8;
constexpr uint8_t kDataReady = 1;
constexpr size_t kBufferSize = 4096;

Spinlock g_lock;  // guards the ring and the waiters
uint8_t g_ring[kBufferSize];
size_t g_head = 0;  // next byte to read
size_t g_count = 0;
WaitQueue g_readers;
void (*g_listener)() = nullptr;

}  // namespace

void init() {
  // Route first: the line is edge-triggered, and an edge before routing would be lost.
  ioapic::route_isa_irq(4, kVector, apic::this_cpu_id());
  x86::outb(kCom1 + 4, 0x0b);  // DTR, RTS, and OUT2 (which lets the interrupt out)
  x86::outb(kCom1 + 1, 0x01);  // interrupt when data arrives
  on_interrupt();              // what arrived during boot
}

void set_input_listener(void (*listener)()) { g_listener = listener; }

void on_interrupt() {
  bool arrived = false;
  {
    SpinlockGuard guard(g_lock);
    (void)x86::inb(kCom1 + 2);  // IIR: acknowledges the interrupt
    while (x86::inb(kCom1 + 5) & kDataReady) {
      uint8_t byte = x86::inb(kCom1);
      // A full buffer drops new input (the sender cannot be told to wait on a UART).
      if (g_count < kBufferSize) g_ring[(g_head + g_count++) % kBufferSize] = byte;
      arrived = true;
    }
    g_readers.wake_all();
  }
  if (arrived && g_listener) g_listener();
}

Result<size_t> read(std::span<uint8_t> out, bool nonblocking) {
  if (out.empty()) return 0;
  bool interrupts = g_lock.lock();
  while (g_count == 0 && !nonblocking) {
    if (g_readers.wait_interruptible(g_lock, kNoDeadline) == WaitResult::interrupted) {
      g_lock.unlock(interrupts);
      return error(Errno::erestartsys);
    }
  }
  size_t n = 0;
  for (; n < out.size() && g_count; n++, g_count--) {
    out[n] = g_ring[g_head];
    g_head = (g_head + 1) % kBufferSize;
  }
  g_lock.unlock(interrupts);
  return n;
}

size_t available() {
  SpinlockGuard guard(g_lock);
  return g_count;
}

}  // namespace nimbus::serial_input
