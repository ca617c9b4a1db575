// SplitVirtqueue: the driver's half of a virtio 1.x split virtqueue (virtio 1.2, 2.7): the
// descriptor table, the available ring and the used ring, in memory shared with the device.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace nimbus::virtio {

// 2.7.5: one descriptor; 2.7.8: one used-ring element.
struct Descriptor {
  uint64_t address;
  uint32_t length;
  uint16_t flags;
  uint16_t next;
};
struct UsedElement {
  uint32_t id;
  uint32_t length;
};
static_assert(sizeof(Descriptor) == 16 && sizeof(UsedElement) == 8);

constexpr uint16_t kDescriptorNext = 1;       // VIRTQ_DESC_F_NEXT
constexpr uint16_t kDescriptorWrite = 2;      // VIRTQ_DESC_F_WRITE: the device writes it
constexpr uint16_t kUsedNoNotify = 1;         // VIRTQ_USED_F_NO_NOTIFY
constexpr uint16_t kAvailableNoInterrupt = 1; // VIRTQ_AVAIL_F_NO_INTERRUPT

// Where the three parts live in one block of memory (2.7: alignments 16, 2 and 4).
struct VirtqueueLayout {
  size_t descriptors = 0;  // offsets from the start of the block
  size_t available = 0;
  size_t used = 0;
  size_t total = 0;
  static constexpr VirtqueueLayout for_size(uint16_t size) {
    VirtqueueLayout layout;
    layout.available = sizeof(Descriptor) * size;
    size_t available_end = layout.available + 2 * sizeof(uint16_t) + sizeof(uint16_t) * size + sizeof(uint16_t);
    layout.used = (available_end + 3) & ~size_t{3};
    layout.total = layout.used + 2 * sizeof(uint16_t) + sizeof(UsedElement) * size + sizeof(uint16_t);
    return layout;
  }
};

// One piece of a request: guest-physical memory the device reads, or writes when
// `device_writable`.
struct Buffer {
  uint64_t physical;
  uint32_t length;
  bool device_writable;
};

// A finished request: the token given to submit() and how many bytes the device wrote.
struct Completion {
  uint32_t token;
  uint32_t written;
};

// Not thread-safe: the driver serializes calls under its own lock. Ring indices run free
// as uint16_t and wrap; a slot is index % size (size is a power of two).
class SplitVirtqueue {
 public:
  static constexpr uint16_t kMaxSize = 256;

  SplitVirtqueue() = default;
  // `memory`: VirtqueueLayout::for_size(size).total zeroed bytes the device also sees.
  // `size`: a power of two, at most kMaxSize.
  void attach(void* memory, uint16_t size);

  uint16_t size() const { return m_size; }
  uint16_t free_descriptors() const { return m_free_count; }
  bool attached() const { return m_size != 0; }

  // Chains `buffers` into one request, puts it on the available ring and publishes the new
  // index; nullopt when too few descriptors are free (nothing is changed then). The caller
  // then notifies the device if device_wants_notification().
  std::optional<uint16_t> submit(std::span<const Buffer> buffers, uint32_t token);
  // The oldest request the device has finished, its descriptors freed for reuse.
  std::optional<Completion> pop_used();
  bool has_used() const;
  // The device may ask to be left alone while it is already processing (2.7.10).
  bool device_wants_notification() const;
  // 2.7.7: asks the device not to interrupt when it uses buffers (VIRTQ_AVAIL_F_NO_INTERRUPT),
  // or lifts that request. Only a hint: a driver must cope with interrupts anyway. After
  // lifting it, check has_used() again: a buffer used before the device saw the flag
  // cleared raised no interrupt. The store is ordered before that check.
  void suppress_interrupts(bool suppress);
  bool interrupts_suppressed() const { return *m_available_flags & kAvailableNoInterrupt; }

 private:
  uint16_t m_size = 0;
  Descriptor* m_descriptors = nullptr;
  volatile uint16_t* m_available_flags = nullptr;
  volatile uint16_t* m_available_index = nullptr;
  uint16_t* m_available_ring = nullptr;
  volatile uint16_t* m_used_flags = nullptr;
  volatile uint16_t* m_used_index = nullptr;
  UsedElement* m_used_ring = nullptr;

  uint16_t m_free_head = 0;  // free descriptors are chained through `next`
  uint16_t m_free_count = 0;
  uint16_t m_next_available = 0;  // our copy of the available index
  uint16_t m_last_used = 0;       // the next used index we have not consumed
  std::array<uint32_t, kMaxSize> m_tokens{};  // by head descriptor
};

}  // namespace nimbus::virtio
