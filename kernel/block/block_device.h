// BlockDevice: what a disk driver (virtio-blk, later NVMe) offers the kernel, and Request, one
// asynchronous read, write, flush, discard or write-zeroes of 512-byte sectors.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/lib/intrusive_list.h"
#include "kernel/lib/result.h"

namespace nimbus::block {

// Requests address the disk in 512-byte sectors whatever its logical block size (as Linux
// and virtio-blk do).
constexpr uint32_t kSectorSize = 512;

enum class Operation : uint8_t { read, write, flush, discard, write_zeroes };

struct Request;
// Called once per request when it ends, possibly in interrupt context (interrupts off) and
// possibly before submit() returns: it may wake threads, never sleep.
using CompletionHandler = void (*)(Request& request);

struct Request {
  Operation operation = Operation::read;
  uint64_t sector = 0;
  uint32_t sector_count = 0;  // 0 for a flush
  // Reads and writes: sector_count * 512 bytes of kernel memory in the direct map (heap or
  // frames), physically contiguous, which the device reads or writes directly.
  std::byte* buffer = nullptr;
  CompletionHandler on_complete = nullptr;
  void* context = nullptr;
  // Set before on_complete runs: success, EIO (the device failed it), EROFS, EINVAL (outside
  // the disk, or no such operation), EOPNOTSUPP (the device lacks the operation).
  Result<> result;
  // The block layer's and the driver's while the request is theirs.
  ListNode node;

  uint64_t end_sector() const { return sector + sector_count; }
  size_t byte_count() const { return size_t{sector_count} * kSectorSize; }
};

using RequestList = IntrusiveList<Request, &Request::node>;

struct DeviceInfo {
  uint64_t sector_count = 0;
  uint32_t logical_block_size = kSectorSize;  // the smallest unit the device writes atomically
  bool read_only = false;
  bool flush = false;         // it has a volatile write cache that FLUSH empties
  bool discard = false;
  bool write_zeroes = false;
  uint32_t max_sectors = 0;   // per read or write request (and per batch); 0: no limit
  uint32_t max_segments = 1;  // buffers per device request (how many requests can merge)
};

class BlockDevice {
 public:
  BlockDevice(const BlockDevice&) = delete;
  BlockDevice& operator=(const BlockDevice&) = delete;

  // "vda", "vdb", ...
  virtual const char* name() const = 0;
  virtual const DeviceInfo& info() const = 0;
  // Takes the request; it completes through its on_complete, with an error when check()
  // refuses it. Any thread, never sleeps.
  virtual void submit(Request& request) = 0;
  // Takes every request of `requests` (left empty) at once, so that adjacent ones can travel
  // as one device request.
  virtual void submit_all(RequestList& requests);

 protected:
  BlockDevice() = default;
  ~BlockDevice() = default;
};

// Whether `device` can carry out `request`: the operation exists on it, the range is inside
// the disk and aligned to its logical block size, the buffer is there, writes are allowed.
Result<> check(const DeviceInfo& device, const Request& request);
// Sets the result and calls on_complete.
void complete(Request& request, Result<> result);

}  // namespace nimbus::block
