// PendingRequests: requests waiting for room in a device queue, handed out in batches of
// requests that continue each other on the disk, so that one device request carries them all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/block/block_device.h"

namespace nimbus::block {

// Not thread-safe: the driver holds its queue's lock.
class PendingRequests {
 public:
  // How far take_batch() looks for a continuation (the list can grow long under load).
  static constexpr size_t kMergeWindow = 64;

  void push(Request& request) { m_requests.push_back(&request); }
  bool empty() const { return m_requests.empty(); }
  // Takes the oldest request, then, while it can, a waiting request of the same operation
  // (read or write) that starts where the batch ends, up to batch.size() requests and
  // `max_sectors` sectors in all (0: no limit). Returns how many it put in `batch`, in disk
  // order.
  size_t take_batch(std::span<Request*> batch, uint32_t max_sectors);

 private:
  RequestList m_requests;
};

// Whether `next` can join a batch of `operation` that ends at `end` and holds `sectors`.
bool continues(const Request& next, Operation operation, uint64_t end, uint64_t sectors, uint32_t max_sectors);

}  // namespace nimbus::block
