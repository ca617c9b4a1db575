// PendingRequests: batching requests that are adjacent on the disk.
#include "kernel/block/pending_requests.h"

namespace nimbus::block {

bool continues(const Request& next, Operation operation, uint64_t end, uint64_t sectors, uint32_t max_sectors) {
  if (next.operation != operation || next.sector != end) return false;
  if (operation != Operation::read && operation != Operation::write) return false;
  return max_sectors == 0 || sectors + next.sector_count <= max_sectors;
}

size_t PendingRequests::take_batch(std::span<Request*> batch, uint32_t max_sectors) {
  if (batch.empty() || m_requests.empty()) return 0;
  Request* first = m_requests.pop_front();
  batch[0] = first;
  size_t count = 1;
  uint64_t end = first->end_sector();
  uint64_t sectors = first->sector_count;
  while (count < batch.size()) {
    Request* found = nullptr;
    size_t looked = 0;
    for (Request* candidate = m_requests.front(); candidate && looked < kMergeWindow;
         candidate = m_requests.next(candidate), looked++) {
      if (continues(*candidate, first->operation, end, sectors, max_sectors)) {
        found = candidate;
        break;
      }
    }
    if (!found) break;
    m_requests.remove(found);
    batch[count++] = found;
    end = found->end_sector();
    sectors += found->sector_count;
  }
  return count;
}

}  // namespace nimbus::block
