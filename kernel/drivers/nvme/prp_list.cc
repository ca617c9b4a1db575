// PRP1/PRP2 and PRP list construction.
#include "kernel/drivers/nvme/prp_list.h"

namespace nimbus::nvme {

std::optional<Prps> build_prps(std::span<const Segment> segments, std::span<uint64_t> list, uint64_t list_physical) {
  if (segments.empty()) return std::nullopt;
  Prps prps;
  size_t entries = 0;  // after the first, which goes to PRP1
  uint64_t second = 0;
  uint64_t previous_end = 0;
  for (size_t i = 0; i < segments.size(); i++) {
    const Segment& segment = segments[i];
    if (segment.length == 0) return std::nullopt;
    if (i == 0) {
      if (segment.physical % 4) return std::nullopt;  // 4.1.1: PRP1's offset is dword aligned
      prps.prp1 = segment.physical;
    } else {
      if (!continues_prps(previous_end, segment.physical)) return std::nullopt;
    }
    uint64_t end = segment.physical + segment.length;
    // Each page the segment touches after its first (after PRP1's page for segment 0).
    uint64_t page = i == 0 ? (segment.physical & ~(kMemoryPageSize - 1)) + kMemoryPageSize : segment.physical;
    for (; page < end; page += kMemoryPageSize) {
      if (entries == 0) second = page;
      if (entries < list.size()) list[entries] = page;
      entries++;
    }
    previous_end = end;
  }
  if (entries == 0) return prps;
  if (entries == 1) {
    prps.prp2 = second;
    return prps;
  }
  if (entries > list.size()) return std::nullopt;
  if (list_physical % 8 || list_physical / kMemoryPageSize != (list_physical + entries * 8 - 1) / kMemoryPageSize)
    return std::nullopt;
  prps.prp2 = list_physical;
  return prps;
}

}  // namespace nimbus::nvme
