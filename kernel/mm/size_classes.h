// The kernel heap's size classes (16 B to 4 KiB) and how their slabs are laid out.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace nimbus {

// Powers of two plus the midpoints between them: a short table, and from 32 B up a request
// always fills more than two thirds of its object. Every class is a multiple of 16, the alignment
// operator new promises. Requests above 4096 bytes go straight to the frame allocator.
inline constexpr std::array<uint32_t, 16> kSizeClasses = {
    16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096};
inline constexpr int kSizeClassCount = static_cast<int>(kSizeClasses.size());
inline constexpr size_t kLargestSizeClass = 4096;

// A slab is 2^order frames, naturally aligned, with its header in the first bytes, so an
// object's slab is its address rounded down to the slab size. slab.h checks the header fits.
inline constexpr size_t kSlabFrameBytes = 4096;
inline constexpr size_t kSlabHeaderBytes = 64;
inline constexpr unsigned kMaxSlabOrder = 4;

constexpr size_t class_size(int size_class) {
  return kSizeClasses[size_class];
}

// Objects of a class are aligned to the largest power of two dividing its size: slabs are
// at least page aligned, the first object sits at a multiple of that power and the stride is
// a multiple of it. So 48 -> 16, 96 -> 32, 384 -> 128, 3072 -> 1024, 4096 -> 4096.
constexpr size_t class_alignment(int size_class) {
  return size_t{1} << std::countr_zero(class_size(size_class));
}

namespace size_class_detail {

// The smallest class holding n * 16 bytes, for n in 0..256: an O(1) lookup on the hot path.
inline constexpr std::array<int8_t, kLargestSizeClass / 16 + 1> kClassBySixteenths = [] {
  std::array<int8_t, kLargestSizeClass / 16 + 1> table{};
  int size_class = 0;
  for (size_t n = 0; n < table.size(); n++) {
    while (class_size(size_class) < n * 16) size_class++;
    table[n] = static_cast<int8_t>(size_class);
  }
  return table;
}();

}  // namespace size_class_detail

// The smallest class that holds `size` bytes aligned to `align` (a power of two; 0 means 1),
// or -1 when there is none and the request must go to the frame allocator. Size 0 gets the
// smallest class, so every allocation has a distinct address.
constexpr int size_class_for(size_t size, size_t align) {
  if (size > kLargestSizeClass || align > kLargestSizeClass) return -1;
  int size_class = size_class_detail::kClassBySixteenths[(size + 15) / 16];
  while (size_class < kSizeClassCount && class_alignment(size_class) < align) size_class++;
  return size_class < kSizeClassCount ? size_class : -1;
}

// Where the first object starts: after the header, rounded up to the class alignment.
constexpr size_t first_object_offset(int size_class) {
  size_t align = class_alignment(size_class);
  return (kSlabHeaderBytes + align - 1) / align * align;
}

// How many objects a slab of 2^slab_order frames holds (0 when not even one fits).
constexpr size_t objects_per_slab(int size_class, unsigned slab_order) {
  size_t slab_bytes = kSlabFrameBytes << slab_order;
  size_t first = first_object_offset(size_class);
  return slab_bytes > first ? (slab_bytes - first) / class_size(size_class) : 0;
}

// The smallest slab order that wastes at most 1/8 of the slab on the header, the alignment
// gap and the tail: one frame up to 768 B, two for 1024 and 1536, four for 2048 and 3072,
// eight for 4096 (whose alignment costs a whole frame for the 64-byte header).
constexpr unsigned default_slab_order(int size_class) {
  for (unsigned order = 0; order < kMaxSlabOrder; order++) {
    size_t slab_bytes = kSlabFrameBytes << order;
    size_t used = objects_per_slab(size_class, order) * class_size(size_class);
    if ((slab_bytes - used) * 8 <= slab_bytes) return order;
  }
  return kMaxSlabOrder;
}

}  // namespace nimbus
