// virtio-blk (virtio 1.2, 5.2) on either transport: each device a block::BlockDevice named
// vda, vdb, ... with one request queue per vCPU when the device offers several (MQ).
#pragma once

#include <cstddef>
#include <span>

#include "kernel/drivers/virtio/transport.h"

namespace nimbus::virtio_blk {

constexpr size_t kMaxDevices = 8;

// Starts every virtio-blk device among `devices` (up to kMaxDevices) and adds each to the
// block device list. Needs interrupts and the scheduler. Returns how many started.
size_t init(std::span<virtio::Transport* const> devices);

}  // namespace nimbus::virtio_blk
