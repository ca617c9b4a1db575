// The application's address space: its mappings (VMAs) in the lower half, placed by mmap,
// filled on first touch by the page-fault handler, protected and unmapped on request.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/lib/intrusive_list.h"
#include "kernel/lib/result.h"
#include "kernel/mm/virtual_range_allocator.h"
#include "kernel/sync/mutex.h"

namespace nimbus {

// What a file-backed mapping reads its pages from (the file layer implements it).
class MappedFile {
 public:
  virtual void retain() = 0;
  virtual void release() = 0;
  // Reads up to out.size() bytes at `offset`; fewer at the end of the file.
  virtual Result<size_t> read_at(uint64_t offset, std::span<uint8_t> out) = 0;
  // The file's path for /proc/self/maps, or nullptr.
  virtual const char* path() const { return nullptr; }

 protected:
  ~MappedFile() = default;
};

namespace prot {
constexpr uint32_t kRead = 1;
constexpr uint32_t kWrite = 2;
constexpr uint32_t kExec = 4;
}  // namespace prot

struct Vma {
  uintptr_t begin;
  uintptr_t end;
  uint32_t prot;
  bool shared;
  MappedFile* file;  // nullptr: anonymous (zero-filled)
  uint64_t file_offset;  // of `begin`
  uint64_t file_limit;   // file offset where the backing data ends (zeroes beyond: ELF bss)
  ListNode node;
};

enum class FaultOutcome { handled, no_mapping, bad_access };

class AddressSpace {
 public:
  // Application addresses: above the first 64 KiB (so null+offset faults), below the
  // canonical hole.
  static constexpr uintptr_t kBegin = 0x10000;
  static constexpr uintptr_t kEnd = 0x00007ffffffff000;
  // Where mmap places mappings without a fixed address, as on Linux.
  static constexpr uintptr_t kMmapBegin = 0x00007f0000000000;
  static constexpr uintptr_t kMmapEnd = 0x00007ff000000000;

  static Result<AddressSpace*> try_create();

  enum class Placement { anywhere, hint, fixed, fixed_noreplace };
  // mmap: `file` is retained for the mapping's lifetime.
  Result<uintptr_t> map(uintptr_t address, size_t length, uint32_t prot, Placement placement, bool shared,
                        MappedFile* file, uint64_t file_offset, uint64_t file_limit = ~0ull);
  Result<> unmap(uintptr_t address, size_t length);
  Result<> protect(uintptr_t address, size_t length, uint32_t prot);
  // MADV_DONTNEED: frees the pages; the next touch sees zeroes (or the file again).
  Result<> discard(uintptr_t address, size_t length);
  // Maps every page now (MAP_POPULATE, mlock).
  Result<> populate(uintptr_t address, size_t length);
  // brk: the program break grows from `base` (the end of the loaded image).
  void set_break_base(uintptr_t base);
  uintptr_t set_break(uintptr_t requested);
  uintptr_t current_break() {
    MutexGuard guard(m_lock);
    return m_break;
  }

  FaultOutcome handle_fault(uintptr_t address, bool write, bool execute);
  // Whether [address, address+length) lies in mappings allowing `prot`.
  bool check_access(uintptr_t address, size_t length, uint32_t prot);
  // Whether any page of the range is mapped right now (mincore).
  Result<> resident_pages(uintptr_t address, size_t length, std::span<uint8_t> out);

  // For /proc/self/maps: calls visit(vma) for each mapping in address order.
  template <typename F>
  void for_each_vma(F&& visit) {
    MutexGuard guard(m_lock);
    for (Vma* v = m_vmas.front(); v; v = m_vmas.next(v)) visit(*v);
  }
  uint64_t resident_bytes() const { return m_resident_pages * 4096; }

 private:
  explicit AddressSpace(VirtualRangeAllocator&& placement) : m_placement(static_cast<VirtualRangeAllocator&&>(placement)) {}
  Vma* find_locked(uintptr_t address);
  // Splits so that a VMA boundary falls at `address` (if a VMA spans it).
  Result<> split_at_locked(uintptr_t address);
  // Removes the mappings in [begin, end), returning the freed frames to `frames` of up
  // to `capacity`; the caller flushes TLBs and then frees them.
  void unmap_locked(uintptr_t begin, uintptr_t end);
  Result<> fill_page_locked(Vma& vma, uintptr_t page);
  bool overlaps_locked(uintptr_t begin, uintptr_t end);
  void insert_locked(Vma* vma);
  void release_pages(uintptr_t begin, uintptr_t end);

  Mutex m_lock;  // guards everything below
  IntrusiveList<Vma, &Vma::node> m_vmas;  // sorted by address, non-overlapping
  VirtualRangeAllocator m_placement;       // free space in [kMmapBegin, kMmapEnd)
  uintptr_t m_break_base = 0;
  uintptr_t m_break = 0;
  uint64_t m_resident_pages = 0;
};

}  // namespace nimbus
