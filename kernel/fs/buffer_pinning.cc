// The installed BufferPinner.
#include "kernel/fs/buffer_pinning.h"

#include <atomic>

namespace nimbus::fs {
namespace {

std::atomic<BufferPinner*> g_pinner{nullptr};

}  // namespace

void set_buffer_pinner(BufferPinner* pinner) { g_pinner.store(pinner, std::memory_order_release); }

BufferPinner* buffer_pinner() { return g_pinner.load(std::memory_order_acquire); }

}  // namespace nimbus::fs
