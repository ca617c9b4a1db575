// BufferPinner: direct I/O straight into or out of a program's own pages (Linux's
// pin_user_pages): the pages under a buffer held in place while a device reads or writes
// them, described as physically contiguous pieces of the direct map.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/lib/result.h"

namespace nimbus::fs {

// A physically contiguous piece of memory in the direct map, which a block request can carry.
struct MemoryPiece {
  std::byte* data;
  size_t length;
};

// What the device does with the pinned memory.
enum class DeviceAccess : uint8_t { reads, writes };

// What pin() holds: `pieces` entries of its array, and the pinner's note of whose they are.
struct PinnedMemory {
  size_t pieces = 0;
  void* holder = nullptr;
};

class BufferPinner {
 public:
  // Holds the pages under `buffer` for the device (faulting them in first, writable when the
  // device writes them) and describes them in `pieces`, in order. `pieces` needs one entry per
  // page the buffer touches. EFAULT where the program may not access the buffer so; EOPNOTSUPP
  // for memory that is not the program's own (a shared file mapping shows its file's
  // page-cache frames) and ENOMEM: the caller copies through a bounce buffer. Never called
  // with a file system's lock held (filling a page may take it).
  virtual Result<PinnedMemory> pin(std::span<const std::byte> buffer, DeviceAccess access,
                                   std::span<MemoryPiece> pieces) = 0;
  // Lets go of what pin() held (its pieces as it gave them, and its PinnedMemory's holder).
  virtual void unpin(std::span<const MemoryPiece> pieces, void* holder) = 0;

 protected:
  ~BufferPinner() = default;
};

// The kernel's pinner for program memory (installed by the Linux layer before it mounts
// volumes); none in host tests unless a test installs one, and then direct I/O copies.
void set_buffer_pinner(BufferPinner* pinner);
BufferPinner* buffer_pinner();

}  // namespace nimbus::fs
