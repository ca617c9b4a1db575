// NVMe over PCI (NVM Express Base 2.0, NVM Command Set 1.0; QEMU's -device nvme, the disks
// of EC2 and GCE): each active namespace a block::BlockDevice named nvme<controller>n<id>,
// like Linux, with one I/O queue pair per vCPU (as many as the controller and its MSI-X
// table give, up to 8) and completion by MSI-X interrupt, or by polling without MSI-X.
#pragma once

#include <cstddef>

namespace nimbus::nvme {

constexpr size_t kMaxControllers = 8;

// Starts every NVMe controller on the PCI bus (class 01h, subclass 08h, interface 02h; after
// pci::init) and adds its namespaces to the block device list; a controller that does not
// become ready, or fails a command at start, is reported on the console and skipped. Needs
// interrupts and the scheduler. Returns how many namespaces were added.
size_t init();

}  // namespace nimbus::nvme
