// The device interrupt vector registry: a table of handlers indexed by vector.
#include "kernel/arch/x86_64/interrupt_vectors.h"

#include <atomic>

#include "kernel/sync/spinlock.h"

namespace nimbus::interrupt_vectors {
namespace {

struct Entry {
  // Set last (release) and read first (acquire), so a dispatch that sees the handler also
  // sees its context.
  std::atomic<Handler> handler{nullptr};
  void* context = nullptr;
  bool taken = false;  // guarded by g_lock
};

Spinlock g_lock;  // serializes allocate and release; dispatch reads without it
Entry g_entries[kLast - kFirst + 1];

}  // namespace

Result<uint8_t> allocate(Handler handler, void* context) {
  SpinlockGuard guard(g_lock);
  for (unsigned i = 0; i <= kLast - kFirst; i++) {
    Entry& entry = g_entries[i];
    if (entry.taken) continue;
    entry.taken = true;
    entry.context = context;
    entry.handler.store(handler, std::memory_order_release);
    return static_cast<uint8_t>(kFirst + i);
  }
  return error(Errno::enospc);
}

void release(uint8_t vector) {
  if (vector < kFirst || vector > kLast) return;
  SpinlockGuard guard(g_lock);
  Entry& entry = g_entries[vector - kFirst];
  entry.handler.store(nullptr, std::memory_order_release);
  entry.taken = false;
}

bool dispatch(uint8_t vector) {
  if (vector < kFirst || vector > kLast) return false;
  Entry& entry = g_entries[vector - kFirst];
  Handler handler = entry.handler.load(std::memory_order_acquire);
  if (!handler) return false;
  handler(entry.context);
  return true;
}

}  // namespace nimbus::interrupt_vectors
