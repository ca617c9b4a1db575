// Synchronous I/O on a BlockDevice (the caller sleeps until the request completes), and the
// list of the machine's block devices.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/block/block_device.h"

namespace nimbus::block {

// Carries out one request and waits for it: `buffer` holds sector_count * 512 bytes for a
// read or a write (direct-map memory) and is empty otherwise. Thread context only.
Result<> transfer(BlockDevice& device, Operation operation, uint64_t sector, uint32_t sector_count,
                  std::span<std::byte> buffer = {});

// Carries out `requests` (their operation, sector, count and buffer set) together, so that
// the device can merge adjacent ones, and waits for all; the first error, if any.
Result<> transfer_all(BlockDevice& device, std::span<Request> requests);

constexpr size_t kMaxDevices = 16;
// Adds a started device (boot time, one thread); ENOSPC when the list is full.
Result<> add_device(BlockDevice& device);
// The device called `name` ("vda"), or null.
BlockDevice* find_device(const char* name);

}  // namespace nimbus::block
