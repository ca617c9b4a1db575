// Request checks and completion shared by every block device.
#include "kernel/block/block_device.h"

namespace nimbus::block {

void BlockDevice::submit_all(RequestList& requests) {
  while (Request* request = requests.pop_front()) submit(*request);
}

Result<> check(const DeviceInfo& device, const Request& request) {
  switch (request.operation) {
    case Operation::read: break;
    case Operation::write:
      if (device.read_only) return error(Errno::erofs);
      break;
    case Operation::flush:
      if (device.read_only) return error(Errno::erofs);
      // A device without a volatile cache writes through: a flush has nothing to do, but the
      // caller still needs its completion (the driver completes it at once).
      return {};
    case Operation::discard:
      if (device.read_only) return error(Errno::erofs);
      if (!device.discard) return error(Errno::eopnotsupp);
      break;
    case Operation::write_zeroes:
      if (device.read_only) return error(Errno::erofs);
      if (!device.write_zeroes) return error(Errno::eopnotsupp);
      break;
    default: return error(Errno::einval);
  }
  if (request.sector_count == 0) return error(Errno::einval);
  if (request.sector > device.sector_count || request.sector_count > device.sector_count - request.sector)
    return error(Errno::einval);
  uint32_t per_block = device.logical_block_size / kSectorSize;
  if (per_block > 1 && (request.sector % per_block || request.sector_count % per_block)) return error(Errno::einval);
  bool moves_data = request.operation == Operation::read || request.operation == Operation::write;
  if (moves_data && !request.buffer) return error(Errno::einval);
  if (moves_data && device.max_sectors && request.sector_count > device.max_sectors) return error(Errno::einval);
  return {};
}

void complete(Request& request, Result<> result) {
  request.result = result;
  if (request.on_complete) request.on_complete(request);
}

}  // namespace nimbus::block
