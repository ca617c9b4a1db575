// The calling process's buffer pinned through AddressSpace::pin_frames, as pieces of the direct
// map (consecutive pages whose frames are adjacent in physical memory make one piece).
#include "kernel/linux/program_buffer_pinner.h"

#include "kernel/linux/process.h"
#include "kernel/mm/physical.h"

namespace nimbus::linux {
namespace {

// Frames pinned or given back per AddressSpace call, held on the stack.
constexpr size_t kFramesPerCall = 64;

class ProgramBufferPinner final : public fs::BufferPinner {
 public:
  Result<fs::PinnedMemory> pin(std::span<const std::byte> buffer, fs::DeviceAccess access,
                               std::span<fs::MemoryPiece> pieces) override {
    uintptr_t address = reinterpret_cast<uintptr_t>(buffer.data());
    // The space is held until unpin: it gets the frames back even if the process has moved on
    // to another one meanwhile (execve by another thread).
    AddressSpace& space = address_space();
    space.retain();
    uint64_t frames[kFramesPerCall];
    size_t used = 0;
    for (size_t done = 0; done < buffer.size();) {
      uintptr_t at = address + done;
      size_t in_page = at % kPageSize;
      size_t most = kFramesPerCall * kPageSize - in_page;
      size_t length = buffer.size() - done < most ? buffer.size() - done : most;
      size_t count = (in_page + length + kPageSize - 1) / kPageSize;
      Result<> pinned = error(Errno::einval);
      if (used + count <= pieces.size())
        pinned = space.pin_frames(at, length, access == fs::DeviceAccess::writes, {frames, count});
      if (!pinned) {
        unpin(pieces.first(used), &space);
        return error(pinned.error());
      }
      for (size_t i = 0; i < count; i++) {
        size_t begin = i == 0 ? in_page : 0;
        size_t end = in_page + length - i * kPageSize < kPageSize ? in_page + length - i * kPageSize : kPageSize;
        std::byte* data = phys_to_virt<std::byte>(frames[i]) + begin;
        fs::MemoryPiece* last = used ? &pieces[used - 1] : nullptr;
        if (last && last->data + last->length == data) {
          last->length += end - begin;
        } else {
          pieces[used++] = {data, end - begin};
        }
      }
      done += length;
    }
    return fs::PinnedMemory{used, &space};
  }

  void unpin(std::span<const fs::MemoryPiece> pieces, void* holder) override {
    AddressSpace& space = *static_cast<AddressSpace*>(holder);
    uint64_t frames[kFramesPerCall];
    size_t count = 0;
    for (const fs::MemoryPiece& piece : pieces) {
      uint64_t begin = align_down(virt_to_phys(piece.data), kPageSize);
      uint64_t end = align_up(virt_to_phys(piece.data) + piece.length, kPageSize);
      for (uint64_t phys = begin; phys < end; phys += kPageSize) {
        frames[count++] = phys;
        if (count == kFramesPerCall) {
          space.unpin_frames({frames, count});
          count = 0;
        }
      }
    }
    space.unpin_frames({frames, count});
    space.release();
  }
};

ProgramBufferPinner g_pinner;

}  // namespace

fs::BufferPinner& program_buffer_pinner() { return g_pinner; }

}  // namespace nimbus::linux
