// SplitVirtqueue: descriptor free list, available ring publishing, used ring consumption.
#include "kernel/drivers/virtio/virtqueue.h"

#include <atomic>

namespace nimbus::virtio {

void SplitVirtqueue::attach(void* memory, uint16_t size) {
  VirtqueueLayout layout = VirtqueueLayout::for_size(size);
  auto* base = static_cast<uint8_t*>(memory);
  m_size = size;
  m_descriptors = reinterpret_cast<Descriptor*>(base + layout.descriptors);
  m_available_flags = reinterpret_cast<uint16_t*>(base + layout.available);
  m_available_index = m_available_flags + 1;
  m_available_ring = const_cast<uint16_t*>(m_available_flags + 2);
  m_used_flags = reinterpret_cast<uint16_t*>(base + layout.used);
  m_used_index = m_used_flags + 1;
  m_used_ring = reinterpret_cast<UsedElement*>(base + layout.used + 2 * sizeof(uint16_t));
  for (uint16_t i = 0; i < size; i++) m_descriptors[i].next = static_cast<uint16_t>(i + 1);
  m_free_head = 0;
  m_free_count = size;
  m_next_available = 0;
  m_last_used = 0;
}

std::optional<uint16_t> SplitVirtqueue::submit(std::span<const Buffer> buffers, uint32_t token) {
  if (buffers.empty() || buffers.size() > m_free_count) return std::nullopt;
  uint16_t head = m_free_head;
  uint16_t id = head;
  for (size_t i = 0; i < buffers.size(); i++) {
    Descriptor& descriptor = m_descriptors[id];
    descriptor.address = buffers[i].physical;
    descriptor.length = buffers[i].length;
    bool last = i + 1 == buffers.size();
    descriptor.flags = static_cast<uint16_t>((buffers[i].device_writable ? kDescriptorWrite : 0) |
                                             (last ? 0 : kDescriptorNext));
    // The free list already links the chain through `next`; the last one's next is the
    // new free head.
    if (last) m_free_head = descriptor.next;
    id = descriptor.next;
  }
  m_free_count = static_cast<uint16_t>(m_free_count - buffers.size());
  m_tokens[head] = token;
  m_available_ring[m_next_available % m_size] = head;
  m_next_available++;
  // 2.7.13: the ring entry and descriptors are visible before the index that publishes them.
  std::atomic_thread_fence(std::memory_order_release);
  *m_available_index = m_next_available;
  // The index store is visible before we read the device's notification flag (and before
  // the notify register write that may follow).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  return head;
}

bool SplitVirtqueue::has_used() const { return *m_used_index != m_last_used; }

std::optional<Completion> SplitVirtqueue::pop_used() {
  if (!has_used()) return std::nullopt;
  // The element is read only after the index that says it is there.
  std::atomic_thread_fence(std::memory_order_acquire);
  UsedElement element = m_used_ring[m_last_used % m_size];
  m_last_used++;
  auto head = static_cast<uint16_t>(element.id);
  if (head >= m_size) return std::nullopt;  // a broken device; the ring is lost anyway
  uint16_t tail = head;
  uint16_t count = 1;
  while (m_descriptors[tail].flags & kDescriptorNext) {
    tail = m_descriptors[tail].next;
    count++;
  }
  m_descriptors[tail].next = m_free_head;
  m_free_head = head;
  m_free_count = static_cast<uint16_t>(m_free_count + count);
  return Completion{m_tokens[head], element.length};
}

void SplitVirtqueue::suppress_interrupts(bool suppress) {
  *m_available_flags = suppress ? kAvailableNoInterrupt : 0;
  // A full fence: the flag store must be visible before the caller reads the used index
  // again, or a buffer used in between goes unnoticed with no interrupt coming.
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

bool SplitVirtqueue::device_wants_notification() const { return !(*m_used_flags & kUsedNoNotify); }

}  // namespace nimbus::virtio
