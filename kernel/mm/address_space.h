// The application's address space: its mappings (VMAs) in the lower half, placed by mmap,
// filled on first touch by the page-fault handler, protected and unmapped on request.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/arch/x86_64/tlb.h"
#include "kernel/lib/intrusive_list.h"
#include "kernel/lib/result.h"
#include "kernel/mm/virtual_range_allocator.h"
#include "kernel/sync/mutex.h"

namespace nimbus {

// Receives the frame a shared file mapping shows (MappedFile::share_page).
class SharedPageMapper {
 public:
  virtual Result<> map(uint64_t phys) = 0;

 protected:
  ~SharedPageMapper() = default;
};

// What a file-backed mapping reads its pages from (the file layer implements it).
class MappedFile {
 public:
  virtual void retain() = 0;
  virtual void release() = 0;
  // Reads up to out.size() bytes at `offset`; fewer at the end of the file.
  virtual Result<size_t> read_at(uint64_t offset, std::span<uint8_t> out) = 0;
  // The file's path for /proc/self/maps, or nullptr.
  virtual const char* path() const { return nullptr; }
  // MAP_SHARED: hands the file's own frame for the page at `offset` to `mapper`, making the
  // page if the file has none there yet. The file holds the page in place until `mapper`
  // returns, and unmaps it from every shared mapping (unmap_shared_file_pages) before it
  // ever drops it. Errno::enxio at or past the end of the file (the mapping's SIGBUS).
  virtual Result<> share_page(uint64_t, SharedPageMapper&) { return error(Errno::enodev); }
  // A private mapping's page straight from the page cache: the frame holding the file's page at
  // `offset` with one ownership for the mapping, which maps it copy-on-write. ENODEV when the
  // file is not in the page cache (the page is then copied through read_at).
  virtual Result<uint64_t> take_cached_page(uint64_t) { return error(Errno::enodev); }
  // The object whose pages shared mappings show: every MappedFile of one file gives the same.
  virtual const void* identity() const { return this; }
  // Whether a shared mapping may be made writable (mprotect): the file was opened for writing.
  virtual bool writable() const { return false; }

 protected:
  ~MappedFile() = default;
};

namespace prot {
constexpr uint32_t kRead = 1;
constexpr uint32_t kWrite = 2;
constexpr uint32_t kExec = 4;
}  // namespace prot

// A file mapping without a limit: pages wholly past the end of the file are a SIGBUS.
constexpr uint64_t kNoFileLimit = ~0ull;

struct Vma {
  uintptr_t begin;
  uintptr_t end;
  uint32_t prot;
  bool shared;
  bool locked;  // mlock: populated when mapped, and counted in VmLck
  MappedFile* file;  // nullptr: anonymous (zero-filled)
  uint64_t file_offset;  // of `begin`
  uint64_t file_limit;   // file offset where the backing data ends (zeroes beyond: ELF bss), or kNoFileLimit
  ListNode node;
};

// file_error: the file has no page there (past its end) or could not give it: SIGBUS.
enum class FaultOutcome { handled, no_mapping, bad_access, file_error, out_of_memory };

class AddressSpace {
 public:
  // Application addresses: above the first 64 KiB (so null+offset faults), below the
  // canonical hole.
  static constexpr uintptr_t kBegin = 0x10000;
  static constexpr uintptr_t kEnd = 0x00007ffffffff000;
  // Where mmap places mappings without a fixed address (lowest first): from kMmapBegin, or
  // lower when the layout is randomized (kernel/linux/layout_randomization.h), to kMmapEnd.
  static constexpr uintptr_t kMmapBegin = 0x00007f0000000000;
  static constexpr uintptr_t kMmapEnd = 0x00007ff000000000;

  // An empty address space with its own page-table root, one reference held; mmap places
  // from `mmap_begin` up (EINVAL outside [kBegin, kMmapEnd)).
  static Result<AddressSpace*> try_create(uintptr_t mmap_begin = kMmapBegin);
  // fork: a copy of every mapping; private pages are shared copy-on-write, shared anonymous
  // pages stay shared, shared file pages come from the file again on touch.
  Result<AddressSpace*> try_clone();
  // Processes sharing it (vfork, CLONE_VM) hold a reference each; the last frees it all.
  void retain() { m_references.fetch_add(1, std::memory_order_relaxed); }
  void release();
  // The page tables as the TLBs know them, for loading them (tlb::load).
  tlb::Context& tlb_context() { return m_tlb; }

  enum class Placement { anywhere, hint, fixed, fixed_noreplace };
  // mmap: `file` is retained for the mapping's lifetime.
  Result<uintptr_t> map(uintptr_t address, size_t length, uint32_t prot, Placement placement, bool shared,
                        MappedFile* file, uint64_t file_offset, uint64_t file_limit = kNoFileLimit);
  Result<> unmap(uintptr_t address, size_t length);
  Result<> protect(uintptr_t address, size_t length, uint32_t prot);
  // MADV_DONTNEED, MADV_DONTNEED_LOCKED, MADV_FREE: frees the pages; the next touch sees
  // zeroes (or the file again). EINVAL for locked mappings (but with dontneed_locked), and for
  // MADV_FREE of anything but private anonymous memory; ENOMEM if a page is unmapped.
  enum class Discard { dontneed, dontneed_locked, free };
  Result<> discard(uintptr_t address, size_t length, Discard kind);
  // Maps every page now (MAP_POPULATE, mlock).
  Result<> populate(uintptr_t address, size_t length);
  // mremap: resizes the mapping at [old_address, +old_size) (inside one VMA), in place when
  // the space after it is free, else (with `may_move`) by moving its page-table entries to
  // a new place (`new_address` with Placement::fixed). `keep_old` (MREMAP_DONTUNMAP) leaves
  // the old range mapped but empty. Returns the new address.
  struct Remap {
    uintptr_t old_address;
    size_t old_size;
    size_t new_size;
    bool may_move;
    bool keep_old;
    Placement placement;  // anywhere or fixed
    uintptr_t new_address;
  };
  Result<uintptr_t> remap(const Remap& request);
  // mlock/munlock: marks the range (populated first when `populate`); ENOMEM if any page of
  // it is unmapped. Memory is never swapped, so a locked page is simply a present one.
  Result<> set_locked(uintptr_t address, size_t length, bool locked, bool populate);
  // mlockall/munlockall: every current mapping, and (`future`) the ones to come.
  Result<> set_all_locked(bool current, bool future, bool populate);
  uint64_t locked_bytes();
  // Whether any mapping overlapping [address, +length) is locked (msync's MS_INVALIDATE on
  // locked memory is EBUSY).
  bool any_locked(uintptr_t address, size_t length);
  // A file is dropping its pages from `offset` on (truncate): unmaps them from every shared
  // mapping of `file_identity` (MappedFile::identity); touching them then is a SIGBUS.
  void unmap_shared_file_pages(const void* file_identity, uint64_t offset);
  // brk: the program break grows from `base` (the end of the loaded image).
  void set_break_base(uintptr_t base);
  uintptr_t set_break(uintptr_t requested);
  uintptr_t current_break() {
    MutexGuard guard(m_lock);
    return m_break;
  }

  // What a futex on the word at `address` is known by: the file and offset under a shared
  // file mapping (so that every process mapping it meets there), else this space and the
  // address (another process's word at the same address is another futex).
  struct WordIdentity {
    const void* object;
    uint64_t offset;
    bool operator==(const WordIdentity&) const = default;
  };
  WordIdentity identify_word(uintptr_t address);

  FaultOutcome handle_fault(uintptr_t address, bool write, bool execute);
  // Direct I/O into or out of the program's own frames (Linux's pin_user_pages): fills the
  // pages of [address, +length) as the program's access would (for writing when the device
  // writes them: a copy-on-write page is copied first), gives each frame one more owner
  // (frame_refs) and stores it in `frames`, one per page. A munmap, MADV_DONTNEED or mremap
  // meanwhile leaves the frame to the I/O, and fork waits for unpin_frames (a page made
  // copy-on-write under a device's write would leave the data to whichever side kept the old
  // frame). EFAULT where the access is not allowed or a page cannot be filled; EOPNOTSUPP for
  // a shared file mapping (the frames are its file's page cache, which a device must not
  // change behind the file's back) and for memory that is not RAM. Nothing stays pinned on
  // error. Called without a file system's lock (filling a page of a file mapping takes it).
  Result<> pin_frames(uintptr_t address, size_t length, bool device_writes, std::span<uint64_t> frames);
  // Gives back the owners pin_frames took.
  void unpin_frames(std::span<const uint64_t> frames);
  // Whether [address, address+length) lies in mappings allowing `prot` (0: just mapped).
  // With a `prot`, file-backed pages of the range are filled now: the kernel may touch them
  // while holding a file's lock, and filling them then would need a file's lock too.
  bool check_access(uintptr_t address, size_t length, uint32_t prot);
  // mincore: for each page from `address` (page-aligned), whether it is in memory: mapped
  // now, or file-backed (a file's data always is, here). ENOMEM if a page is unmapped.
  Result<> resident_pages(uintptr_t address, std::span<uint8_t> out);

  // For /proc/self/maps: calls visit(vma) for each mapping in address order.
  template <typename F>
  void for_each_vma(F&& visit) {
    MutexGuard guard(m_lock);
    for (Vma* v = m_vmas.front(); v; v = m_vmas.next(v)) visit(*v);
  }
  uint64_t resident_bytes() const { return m_resident_pages * 4096; }

 private:
  AddressSpace(VirtualRangeAllocator&& placement, uint64_t root)
      : m_placement(static_cast<VirtualRangeAllocator&&>(placement)), m_tlb(root) {}
  // A write to a present copy-on-write page: copies it, or takes it back if no longer shared.
  FaultOutcome copy_on_write_locked(const Vma& vma, uintptr_t page, uint64_t entry);
  Vma* find_locked(uintptr_t address);
  // Checks that VMAs cover all of [begin, end), ENOMEM at the first hole (as Linux's range
  // calls answer), and passes each to `check`, whose first error is returned.
  template <typename Check>
  Result<> check_covered_locked(uintptr_t begin, uintptr_t end, Check check);
  // Finds room for [address, +length) as `placement` asks (unmapping what a fixed placement
  // covers) and reserves it in the mmap window.
  Result<uintptr_t> reserve_locked(uintptr_t address, size_t length, Placement placement);
  void unreserve_locked(uintptr_t begin, uintptr_t end);
  // Splits so that a VMA boundary falls at `address` (if a VMA spans it).
  Result<> split_at_locked(uintptr_t address);
  // Removes the mappings in [begin, end) (VMA boundaries must fall at both ends).
  // Whether another CPU may use this space's translations: not once the last reference is
  // dropped, since every CPU has moved to other page tables (tlb::forget), and a PCID that
  // still tags its entries is flushed before it serves another space, so a dying space frees
  // its pages without a shootdown.
  enum class Loaded { maybe, nowhere };
  void unmap_locked(uintptr_t begin, uintptr_t end, Loaded loaded = Loaded::maybe);
  // Fills a page of anonymous memory.
  Result<> fill_anonymous_locked(Vma& vma, uintptr_t page);
  // Fills a page of a file mapping. Called without m_lock: the file's lock comes first.
  FaultOutcome fill_from_file(const Vma& snapshot, uintptr_t page);
  // Maps `phys` at `page` if `snapshot` still describes the mapping there and the page is
  // still absent; false otherwise (the caller then keeps the frame), ENOMEM without a page
  // table.
  Result<bool> map_if_unchanged_locked(const Vma& snapshot, uintptr_t page, uint64_t phys,
                                       bool copy_on_write = false);
  bool overlaps_locked(uintptr_t begin, uintptr_t end);
  void insert_locked(Vma* vma);
  // Unmaps the pages of [begin, end), shooting down TLBs: anonymous and private frames are
  // freed, a shared file mapping's frames stay the file's.
  void release_pages_locked(uintptr_t begin, uintptr_t end, Loaded loaded = Loaded::maybe);

  Mutex m_lock;  // guards everything below
  IntrusiveList<Vma, &Vma::node> m_vmas;  // sorted by address, non-overlapping
  Vma* m_last_found = nullptr;             // find_locked's cache: cleared when that VMA is deleted
  VirtualRangeAllocator m_placement;       // free space in [mmap_begin, kMmapEnd)
  uintptr_t m_break_base = 0;
  uintptr_t m_break = 0;
  uint64_t m_resident_pages = 0;
  uint64_t m_pinned_frames = 0;      // held by pin_frames for direct I/O; fork waits for 0
  ConditionVariable m_all_unpinned;  // notified when m_pinned_frames drops to 0
  bool m_lock_future = false;  // mlockall(MCL_FUTURE)
  bool m_populate_future = false;
  tlb::Context m_tlb;  // the root table, and what shootdowns need
  std::atomic<uint32_t> m_references{1};
};

}  // namespace nimbus
