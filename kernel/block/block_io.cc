// Synchronous requests (a semaphore the completion releases) and the device list.
#include "kernel/block/block_io.h"

#include "kernel/sync/mutex.h"

namespace nimbus::block {
namespace {

BlockDevice* g_devices[kMaxDevices];
size_t g_device_count = 0;

bool same_name(const char* a, const char* b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

}  // namespace

Result<> transfer(BlockDevice& device, Operation operation, uint64_t sector, uint32_t sector_count,
                  std::span<std::byte> buffer) {
  bool moves_data = operation == Operation::read || operation == Operation::write;
  if (moves_data && buffer.size() < size_t{sector_count} * kSectorSize) return error(Errno::einval);
  Semaphore done(0);
  Request request;
  request.operation = operation;
  request.sector = sector;
  request.sector_count = sector_count;
  request.buffer = moves_data ? buffer.data() : nullptr;
  request.context = &done;
  request.on_complete = [](Request& finished) { static_cast<Semaphore*>(finished.context)->release(); };
  device.submit(request);
  done.acquire();
  return request.result;
}

Result<> transfer_all(BlockDevice& device, std::span<Request> requests) {
  if (requests.empty()) return {};
  Semaphore done(0);
  RequestList list;
  for (Request& request : requests) {
    request.context = &done;
    request.on_complete = [](Request& finished) { static_cast<Semaphore*>(finished.context)->release(); };
    list.push_back(&request);
  }
  device.submit_all(list);
  for (size_t i = 0; i < requests.size(); i++) done.acquire();
  for (Request& request : requests)
    if (!request.result) return request.result;
  return {};
}

Result<> add_device(BlockDevice& device) {
  if (g_device_count == kMaxDevices) return error(Errno::enospc);
  g_devices[g_device_count++] = &device;
  return {};
}

BlockDevice* find_device(const char* name) {
  for (size_t i = 0; i < g_device_count; i++)
    if (same_name(g_devices[i]->name(), name)) return g_devices[i];
  return nullptr;
}

}  // namespace nimbus::block
