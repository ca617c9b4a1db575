// Physical Region Page entries (NVM Express Base 2.0, 4.1.1): how a transfer made of
// physically contiguous buffers is described to the controller in PRP1, PRP2 and, past two
// pages, a PRP list.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace nimbus::nvme {

constexpr uint64_t kMemoryPageSize = 4096;  // CC.MPS = 0

struct Segment {
  uint64_t physical = 0;
  uint64_t length = 0;
};

struct Prps {
  uint64_t prp1 = 0;
  uint64_t prp2 = 0;  // 0, the second page, or the list's physical address
};

// Whether a buffer starting at `next` can follow one ending at `previous_end` in one PRP
// transfer: only the first entry may start inside a page, and every entry but the last
// ends at a page boundary.
inline bool continues_prps(uint64_t previous_end, uint64_t next) {
  return previous_end % kMemoryPageSize == 0 && next % kMemoryPageSize == 0;
}

// PRP1 and PRP2 for `segments` (in transfer order); when more than two pages are touched the
// entries after the first go to `list` (whose physical address is `list_physical`; it must
// not cross a page boundary). nullopt when the segments cannot be described (an empty one,
// a first address not dword aligned, a boundary continues_prps refuses, more entries than
// the list holds).
std::optional<Prps> build_prps(std::span<const Segment> segments, std::span<uint64_t> list, uint64_t list_physical);

}  // namespace nimbus::nvme
