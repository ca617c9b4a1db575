// The application's address space.
#include "kernel/mm/address_space.h"

#include <cstring>
#include <new>

#include "kernel/arch/x86_64/page_tables.h"
#include "kernel/arch/x86_64/tlb.h"
#include "kernel/lib/panic.h"
#include "kernel/mm/frame_allocator.h"
#include "kernel/mm/frame_references.h"
#include "kernel/mm/heap.h"
#include "kernel/mm/heap_node_source.h"
#include "kernel/mm/physical.h"

namespace nimbus {
namespace {

HeapNodeSource g_nodes;

// Private and anonymous frames may be shared with other address spaces since a fork.
void free_frame(uint64_t phys) { frame_refs::release(phys); }
// A shared file mapping's frames belong to the file.
void keep_frame(uint64_t) {}

bool shows_file_pages(const Vma& vma) { return vma.shared && vma.file; }

bool valid_range(uintptr_t begin, size_t length) {
  return begin >= AddressSpace::kBegin && length <= AddressSpace::kEnd && begin <= AddressSpace::kEnd - length;
}

// The part of [begin, end) inside the mmap placement window.
bool window_part(const VirtualRangeAllocator& window, uintptr_t begin, uintptr_t end, uintptr_t& out_begin,
                 uintptr_t& out_end) {
  out_begin = begin > window.begin() ? begin : window.begin();
  out_end = end < window.end() ? end : window.end();
  return out_begin < out_end;
}

Vma* new_vma(const Vma& from) {
  void* memory = heap::allocate(sizeof(Vma), alignof(Vma));
  if (!memory) return nullptr;
  auto* vma = new (memory) Vma(from);
  vma->node = ListNode{};
  return vma;
}

void delete_vma(Vma* vma) {
  vma->~Vma();
  heap::free(vma);
}

}  // namespace

Result<AddressSpace*> AddressSpace::try_create(uintptr_t mmap_begin) {
  if (mmap_begin < kBegin || mmap_begin >= kMmapEnd) return error(Errno::einval);
  auto placement = TRY(VirtualRangeAllocator::try_create(mmap_begin, kMmapEnd, g_nodes));
  uint64_t root = TRY(mmu::create_root());
  void* memory = heap::allocate(sizeof(AddressSpace), alignof(AddressSpace));
  if (!memory) {
    mmu::destroy_root(root);
    return error(Errno::enomem);
  }
  return new (memory) AddressSpace(static_cast<VirtualRangeAllocator&&>(placement), root);
}

void AddressSpace::release() {
  if (m_references.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  // A kernel thread may still run on these tables (the scheduler's lazy switch): every CPU
  // leaves them first, so no TLB holds a page freed below.
  tlb::forget(m_tlb);
  {
    MutexGuard guard(m_lock);
    unmap_locked(kBegin, kEnd, Loaded::nowhere);
  }
  mmu::destroy_root(m_tlb.root);
  this->~AddressSpace();
  heap::free(this);
}

Result<AddressSpace*> AddressSpace::try_clone() {
  TRY(frame_refs::init());
  AddressSpace* copy = TRY(try_create(m_placement.begin()));
  MutexGuard guard(m_lock);
  // Pinned frames are under a device's I/O: sharing them copy-on-write now could leave the
  // data in the frame the other side keeps. Direct I/O ends soon; fork waits for it.
  while (m_pinned_frames) m_all_unpinned.wait(m_lock);
  auto fail = [&](Errno e) -> Result<AddressSpace*> {
    copy->release();
    return error(e);
  };
  copy->m_break_base = m_break_base;
  copy->m_break = m_break;
  copy->m_lock_future = m_lock_future;
  copy->m_populate_future = m_populate_future;
  bool cow_made = false;
  for (Vma* v = m_vmas.front(); v; v = m_vmas.next(v)) {
    Vma* vma = new_vma(*v);
    if (!vma) return fail(Errno::enomem);
    if (vma->file) vma->file->retain();
    copy->m_vmas.push_back(vma);
    if (uintptr_t wb, we; window_part(m_placement, v->begin, v->end, wb, we)) {
      if (!copy->m_placement.allocate_fixed(wb, we - wb)) return fail(Errno::enomem);
    }
    // A shared file mapping's pages are the file's: the child finds them there on touch.
    if (shows_file_pages(*v)) continue;
    // Private pages are shared read-only until one side writes; shared anonymous ones stay
    // shared and writable.
    auto shared = mmu::share_range(m_tlb.root, copy->m_tlb.root, v->begin, v->end, !v->shared, frame_refs::share);
    if (!shared) return fail(shared.error());
    cow_made |= !v->shared;
  }
  copy->m_resident_pages = m_resident_pages;
  // This side's writable entries became read-only: forget the writable ones every CPU holds.
  if (cow_made) tlb::flush_range_everywhere(m_tlb, kBegin, kEnd);
  return copy;
}

Vma* AddressSpace::find_locked(uintptr_t address) {
  // System calls check user buffers in the same few mappings again and again (a server's
  // heap), while the list of a program with many libraries is long: try the last one found.
  // The list is sorted and non-overlapping, so the VMA whose bounds hold `address` is the one.
  if (Vma* last = m_last_found; last && last->begin <= address && address < last->end) return last;
  for (Vma* v = m_vmas.front(); v && v->begin <= address; v = m_vmas.next(v)) {
    if (address < v->end) {
      m_last_found = v;
      return v;
    }
  }
  return nullptr;
}

bool AddressSpace::overlaps_locked(uintptr_t begin, uintptr_t end) {
  for (Vma* v = m_vmas.front(); v && v->begin < end; v = m_vmas.next(v)) {
    if (v->end > begin) return true;
  }
  return false;
}

void AddressSpace::insert_locked(Vma* vma) {
  Vma* after = m_vmas.front();
  while (after && after->begin < vma->begin) after = m_vmas.next(after);
  Vma* before = after ? m_vmas.prev(after) : m_vmas.back();
  // Merge with an adjacent anonymous mapping of the same kind (brk and stack growth).
  auto mergeable = [&](Vma* a, Vma* b) {
    return a && b && a->end == b->begin && !a->file && !b->file && a->prot == b->prot && a->shared == b->shared &&
           a->locked == b->locked;
  };
  if (mergeable(before, vma)) {
    before->end = vma->end;
    if (m_last_found == vma) m_last_found = nullptr;
    delete_vma(vma);
    return;
  }
  m_vmas.insert_before(after, vma);
}

Result<> AddressSpace::split_at_locked(uintptr_t address) {
  Vma* vma = find_locked(address);
  if (!vma || vma->begin == address) return {};
  Vma* upper = new_vma(*vma);
  if (!upper) return error(Errno::enomem);
  upper->begin = address;
  if (upper->file) {
    upper->file_offset += address - vma->begin;
    upper->file->retain();
  }
  vma->end = address;
  m_vmas.insert_before(m_vmas.next(vma), upper);
  return {};
}

void AddressSpace::release_pages_locked(uintptr_t begin, uintptr_t end, Loaded loaded) {
  size_t detached = mmu::detach_range(m_tlb.root, begin, end);
  if (detached == 0) return;
  if (loaded == Loaded::maybe) tlb::flush_range_everywhere(m_tlb, begin, end);
  for (Vma* v = m_vmas.front(); v && v->begin < end; v = m_vmas.next(v)) {
    if (v->end <= begin) continue;
    mmu::release_detached_range(m_tlb.root, v->begin > begin ? v->begin : begin, v->end < end ? v->end : end,
                                shows_file_pages(*v) ? keep_frame : free_frame);
  }
  m_resident_pages -= detached;
}

void AddressSpace::unreserve_locked(uintptr_t begin, uintptr_t end) {
  uintptr_t wb, we;
  if (window_part(m_placement, begin, end, wb, we)) (void)m_placement.free(wb, we - wb);
}

void AddressSpace::unmap_locked(uintptr_t begin, uintptr_t end, Loaded loaded) {
  release_pages_locked(begin, end, loaded);
  for (Vma* v = m_vmas.front(); v && v->begin < end;) {
    Vma* next = m_vmas.next(v);
    if (v->begin >= begin && v->end <= end) {
      unreserve_locked(v->begin, v->end);
      m_vmas.remove(v);
      if (v->file) v->file->release();
      if (m_last_found == v) m_last_found = nullptr;
      delete_vma(v);
    }
    v = next;
  }
}

Result<uintptr_t> AddressSpace::reserve_locked(uintptr_t address, size_t length, Placement placement) {
  uintptr_t begin = 0;
  switch (placement) {
    case Placement::fixed:
    case Placement::fixed_noreplace:
      if (address & 4095) return error(Errno::einval);
      if (!valid_range(address, length)) return error(Errno::enomem);
      if (overlaps_locked(address, address + length)) {
        if (placement == Placement::fixed_noreplace) return error(Errno::eexist);
        TRY(split_at_locked(address));
        TRY(split_at_locked(address + length));
        unmap_locked(address, address + length);
      }
      begin = address;
      break;
    case Placement::hint:
      address = align_down(address, kPageSize);
      if (valid_range(address, length) && !overlaps_locked(address, address + length)) {
        begin = address;
        break;
      }
      [[fallthrough]];
    case Placement::anywhere:
      // Already reserved in the window by allocating it there.
      return m_placement.allocate(length, kPageSize);
  }
  if (uintptr_t wb, we; window_part(m_placement, begin, begin + length, wb, we)) TRY(m_placement.allocate_fixed(wb, we - wb));
  return begin;
}

Result<uintptr_t> AddressSpace::map(uintptr_t address, size_t length, uint32_t prot, Placement placement,
                                    bool shared, MappedFile* file, uint64_t file_offset, uint64_t file_limit) {
  if (length == 0 || (file_offset & 4095)) return error(Errno::einval);
  if (length > kEnd) return error(Errno::enomem);
  length = align_up(length, kPageSize);
  bool populate_now;
  uintptr_t begin;
  {
    MutexGuard guard(m_lock);
    begin = TRY(reserve_locked(address, length, placement));
    Vma* vma =
        new_vma(Vma{begin, begin + length, prot, shared, m_lock_future, file, file_offset, file_limit, {}});
    if (!vma) {
      unreserve_locked(begin, begin + length);
      return error(Errno::enomem);
    }
    if (file) file->retain();
    insert_locked(vma);
    populate_now = m_populate_future;
  }
  // mlockall(MCL_FUTURE): as Linux, a mapping that cannot be populated still stands.
  if (populate_now) (void)populate(begin, length);
  return begin;
}

template <typename Check>
Result<> AddressSpace::check_covered_locked(uintptr_t begin, uintptr_t end, Check check) {
  for (uintptr_t at = begin; at < end;) {
    Vma* v = find_locked(at);
    if (!v) return error(Errno::enomem);
    TRY(check(*v));
    at = v->end;
  }
  return {};
}

Result<> AddressSpace::unmap(uintptr_t address, size_t length) {
  if ((address & 4095) || length == 0 || !valid_range(address, length)) return error(Errno::einval);
  uintptr_t end = address + align_up(length, kPageSize);
  MutexGuard guard(m_lock);
  TRY(split_at_locked(address));
  TRY(split_at_locked(end));
  unmap_locked(address, end);
  return {};
}

Result<> AddressSpace::protect(uintptr_t address, size_t length, uint32_t new_prot) {
  if ((address & 4095) || !valid_range(address, length)) return error(Errno::einval);
  uintptr_t end = address + align_up(length, kPageSize);
  MutexGuard guard(m_lock);
  TRY(check_covered_locked(address, end, [new_prot](const Vma& v) -> Result<> {
    // A shared file mapping writes to the file: only if it was opened for writing.
    if ((new_prot & prot::kWrite) && shows_file_pages(v) && !v.file->writable()) return error(Errno::eacces);
    return {};
  }));
  TRY(split_at_locked(address));
  TRY(split_at_locked(end));
  for (Vma* v = find_locked(address); v && v->begin < end; v = m_vmas.next(v)) v->prot = new_prot;
  uint64_t flags = mmu::application_flags(new_prot & prot::kWrite, new_prot & prot::kExec);
  if (new_prot == 0) {
    // No access at all, but the data stays for when access comes back (GC and JIT runtimes
    // rely on it): the entries keep their frames, hidden from the CPU.
    if (mmu::hide_range(m_tlb.root, address, end)) tlb::flush_range_everywhere(m_tlb, address, end);
    return {};
  }
  if (mmu::protect_range(m_tlb.root, address, end, flags)) tlb::flush_range_everywhere(m_tlb, address, end);
  return {};
}

Result<> AddressSpace::discard(uintptr_t address, size_t length, Discard kind) {
  if ((address & 4095) || !valid_range(address, length)) return error(Errno::einval);
  uintptr_t end = address + align_up(length, kPageSize);
  MutexGuard guard(m_lock);
  TRY(check_covered_locked(address, end, [kind](const Vma& v) -> Result<> {
    if (v.locked && kind != Discard::dontneed_locked) return error(Errno::einval);
    if (kind == Discard::free && (v.file || v.shared)) return error(Errno::einval);
    return {};
  }));
  release_pages_locked(address, end);
  return {};
}

Result<> AddressSpace::fill_anonymous_locked(Vma& vma, uintptr_t page) {
  uint64_t phys = TRY(frames::allocate(0));
  memset(phys_to_virt<uint8_t>(phys), 0, kPageSize);
  uint64_t flags = mmu::application_flags(vma.prot & prot::kWrite, vma.prot & prot::kExec);
  if (auto mapped = mmu::map_page_in(m_tlb.root, page, phys, flags); !mapped) {
    frames::free(phys, 0);
    return mapped;
  }
  m_resident_pages++;
  return {};
}

Result<bool> AddressSpace::map_if_unchanged_locked(const Vma& snapshot, uintptr_t page, uint64_t phys,
                                                   bool copy_on_write) {
  // munmap, mprotect or mremap may have run while the file was read.
  Vma* v = find_locked(page);
  if (!v || v->file != snapshot.file || v->shared != snapshot.shared || v->prot == 0) return false;
  if (v->file_offset + (page - v->begin) != snapshot.file_offset + (page - snapshot.begin)) return false;
  if (mmu::lookup_page(m_tlb.root, page) & mmu::pte::kPresent) return false;
  uint64_t flags = mmu::application_flags(v->prot & prot::kWrite, v->prot & prot::kExec);
  // Read-only until a write fault copies it (mprotect keeps it so: protect_range).
  if (copy_on_write) flags = (flags & ~mmu::pte::kWritable) | mmu::pte::kCopyOnWrite;
  TRY(mmu::map_page_in(m_tlb.root, page, phys, flags));
  m_resident_pages++;
  return true;
}

FaultOutcome AddressSpace::fill_from_file(const Vma& snapshot, uintptr_t page) {
  uint64_t offset = snapshot.file_offset + (page - snapshot.begin);
  if (snapshot.shared) {
    class Mapper final : public SharedPageMapper {
     public:
      Mapper(AddressSpace& space, const Vma& snapshot, uintptr_t page)
          : m_space(space), m_snapshot(snapshot), m_page(page) {}
      Result<> map(uint64_t phys) override {
        MutexGuard guard(m_space.m_lock);
        TRY(m_space.map_if_unchanged_locked(m_snapshot, m_page, phys));
        return {};
      }

     private:
      AddressSpace& m_space;
      const Vma& m_snapshot;
      uintptr_t m_page;
    } mapper(*this, snapshot, page);
    return snapshot.file->share_page(offset, mapper) ? FaultOutcome::handled : FaultOutcome::file_error;
  }
  // Private, from the page cache: its frame, copy-on-write, when the whole page is file data
  // (the ELF loader's last partial page wants zeros past its limit: copied below).
  if (snapshot.file_limit == kNoFileLimit || offset + kPageSize <= snapshot.file_limit) {
    auto cached = snapshot.file->take_cached_page(offset);
    if (cached) {
      MutexGuard guard(m_lock);
      auto mapped = map_if_unchanged_locked(snapshot, page, *cached, true);
      if (mapped && *mapped) return FaultOutcome::handled;
      frame_refs::release(*cached);
      return mapped ? FaultOutcome::handled : FaultOutcome::out_of_memory;
    }
    if (cached.error() == Errno::enxio && snapshot.file_limit == kNoFileLimit) return FaultOutcome::file_error;
  }
  // Private: the page is the file's data as of the first touch, copied into a frame of our own.
  auto phys = frames::allocate(0);
  if (!phys) return FaultOutcome::out_of_memory;
  auto* bytes = phys_to_virt<uint8_t>(*phys);
  memset(bytes, 0, kPageSize);
  if (offset < snapshot.file_limit) {
    size_t wanted = snapshot.file_limit - offset < kPageSize ? snapshot.file_limit - offset : kPageSize;
    auto read = snapshot.file->read_at(offset, std::span<uint8_t>(bytes, wanted));
    // A page wholly past the end of the file is a SIGBUS (mmap's mappings have no explicit
    // limit; the ELF loader's zero-fill past theirs).
    if (!read || (*read == 0 && snapshot.file_limit == kNoFileLimit)) {
      frames::free(*phys, 0);
      return FaultOutcome::file_error;
    }
  }
  MutexGuard guard(m_lock);
  auto mapped = map_if_unchanged_locked(snapshot, page, *phys);
  if (mapped && *mapped) return FaultOutcome::handled;
  frames::free(*phys, 0);
  // The mapping changed meanwhile: the access, retried, decides afresh. An error: no page table.
  return mapped ? FaultOutcome::handled : FaultOutcome::out_of_memory;
}

FaultOutcome AddressSpace::copy_on_write_locked(const Vma& vma, uintptr_t page, uint64_t entry) {
  uint64_t phys = entry & mmu::pte::kAddressMask;
  uint64_t flags = mmu::application_flags(true, vma.prot & prot::kExec);
  if (!frame_refs::is_shared(phys)) {
    // The other sides have copied or gone: the frame is ours alone again.
    mmu::set_entry(m_tlb.root, page, phys | mmu::pte::kPresent | flags);
    tlb::flush_range_everywhere(m_tlb, page, page + kPageSize);
    return FaultOutcome::handled;
  }
  auto copy = frames::allocate(0);
  if (!copy) return FaultOutcome::out_of_memory;
  memcpy(phys_to_virt<uint8_t>(*copy), phys_to_virt<uint8_t>(phys), kPageSize);
  mmu::set_entry(m_tlb.root, page, *copy | mmu::pte::kPresent | flags);
  // No CPU may go on reading the old frame through this address space once it is dropped.
  tlb::flush_range_everywhere(m_tlb, page, page + kPageSize);
  frame_refs::release(phys);
  return FaultOutcome::handled;
}

AddressSpace::WordIdentity AddressSpace::identify_word(uintptr_t address) {
  MutexGuard guard(m_lock);
  Vma* v = find_locked(address);
  if (v && shows_file_pages(*v)) return {v->file->identity(), v->file_offset + (address - v->begin)};
  return {this, address};
}

FaultOutcome AddressSpace::handle_fault(uintptr_t address, bool write, bool execute) {
  uintptr_t page = align_down(address, kPageSize);
  Vma snapshot;
  {
    MutexGuard guard(m_lock);
    Vma* vma = find_locked(address);
    if (!vma) return FaultOutcome::no_mapping;
    if ((write && !(vma->prot & prot::kWrite)) || (execute && !(vma->prot & prot::kExec)) || vma->prot == 0)
      return FaultOutcome::bad_access;
    // Another thread may have filled it meanwhile.
    uint64_t entry = mmu::lookup_page(m_tlb.root, page);
    if (entry & mmu::pte::kPresent) {
      if (write && (entry & mmu::pte::kCopyOnWrite)) return copy_on_write_locked(*vma, page, entry);
      return FaultOutcome::handled;
    }
    if (!vma->file) return fill_anonymous_locked(*vma, page) ? FaultOutcome::handled : FaultOutcome::out_of_memory;
    snapshot = *vma;
    snapshot.file->retain();
  }
  // The file's lock ranks above ours (a file being truncated unmaps its pages from shared
  // mappings while holding its lock), so the file is read with ours released.
  FaultOutcome outcome = fill_from_file(snapshot, page);
  snapshot.file->release();
  return outcome;
}

Result<> AddressSpace::populate(uintptr_t address, size_t length) {
  uintptr_t end = address + align_up(length, kPageSize);
  for (uintptr_t page = align_down(address, kPageSize); page < end; page += kPageSize) {
    switch (handle_fault(page, false, false)) {
      case FaultOutcome::handled: break;
      case FaultOutcome::no_mapping:
      case FaultOutcome::out_of_memory: return error(Errno::enomem);
      case FaultOutcome::bad_access: {
        // PROT_NONE pages stay empty; anything else failed for want of memory.
        MutexGuard guard(m_lock);
        Vma* vma = find_locked(page);
        if (vma && vma->prot != 0) return error(Errno::enomem);
        break;
      }
      case FaultOutcome::file_error: break;  // past the end of the file: left to fault
    }
  }
  return {};
}

Result<> AddressSpace::pin_frames(uintptr_t address, size_t length, bool device_writes, std::span<uint64_t> frames) {
  if (length == 0) return {};
  if (!valid_range(address, length)) return error(Errno::efault);
  uintptr_t first = align_down(address, kPageSize);
  size_t count = (align_up(address + length, kPageSize) - first) / kPageSize;
  if (frames.size() < count) return error(Errno::einval);
  TRY(frame_refs::init());
  uint32_t needed = device_writes ? prot::kWrite : prot::kRead;
  size_t pinned = 0;
  Result<> outcome;
  // A page that another thread keeps unmapping between our fault and our look is given up on.
  constexpr int kFaultsPerPage = 4;
  int faults = 0;
  while (pinned < count && outcome) {
    uintptr_t page = first + pinned * kPageSize;
    {
      MutexGuard guard(m_lock);
      // The pages already there are taken in one go under the lock.
      for (; pinned < count; pinned++, page += kPageSize, faults = 0) {
        Vma* vma = find_locked(page);
        if (!vma || (vma->prot & needed) != needed) {
          outcome = error(Errno::efault);
          break;
        }
        if (shows_file_pages(*vma)) {
          outcome = error(Errno::eopnotsupp);
          break;
        }
        uint64_t entry = mmu::lookup_page(m_tlb.root, page);
        bool usable = (entry & mmu::pte::kPresent) &&
                      (!device_writes || ((entry & mmu::pte::kWritable) && !(entry & mmu::pte::kCopyOnWrite)));
        if (!usable) break;
        uint64_t phys = entry & mmu::pte::kAddressMask;
        if (phys >= frames::ram_end()) {
          outcome = error(Errno::eopnotsupp);
          break;
        }
        frame_refs::share(phys);
        frames[pinned] = phys;
        m_pinned_frames++;
      }
    }
    if (pinned == count || !outcome) break;
    if (++faults > kFaultsPerPage || handle_fault(page, device_writes, false) != FaultOutcome::handled)
      outcome = error(Errno::efault);
  }
  if (!outcome) unpin_frames(frames.first(pinned));
  return outcome;
}

void AddressSpace::unpin_frames(std::span<const uint64_t> frames) {
  if (frames.empty()) return;
  for (uint64_t phys : frames) frame_refs::release(phys);
  MutexGuard guard(m_lock);
  m_pinned_frames -= frames.size();
  if (m_pinned_frames == 0) m_all_unpinned.notify_all();
}

bool AddressSpace::check_access(uintptr_t address, size_t length, uint32_t wanted) {
  if (length == 0) return true;
  if (!valid_range(address, length)) return false;
  uintptr_t end = address + length;
  bool file_backed = false;
  {
    MutexGuard guard(m_lock);
    auto allowed = check_covered_locked(address, end, [wanted, &file_backed](const Vma& v) -> Result<> {
      if ((v.prot & wanted) != wanted) return error(Errno::efault);
      file_backed |= v.file != nullptr;
      return {};
    });
    if (!allowed) return false;
  }
  // The kernel is about to touch this memory, maybe while holding a file's lock: a fault on
  // a file-backed page then would need a file's lock too (perhaps the same one), so those
  // pages are filled now. (A thread that unmaps them meanwhile can still make it wait.)
  if (file_backed && wanted) {
    for (uintptr_t page = align_down(address, kPageSize); page < end; page += kPageSize) {
      if (handle_fault(page, wanted & prot::kWrite, false) != FaultOutcome::handled) return false;
    }
  }
  return true;
}

Result<> AddressSpace::resident_pages(uintptr_t address, std::span<uint8_t> out) {
  if (address & 4095) return error(Errno::einval);
  if (!valid_range(address, out.size() * kPageSize)) return error(Errno::enomem);
  MutexGuard guard(m_lock);
  for (size_t i = 0; i < out.size(); i++) {
    uintptr_t page = address + i * kPageSize;
    Vma* vma = find_locked(page);
    if (!vma) return error(Errno::enomem);
    out[i] = (vma->file || (mmu::lookup_page(m_tlb.root, page) & mmu::pte::kPresent)) ? 1 : 0;
  }
  return {};
}

Result<uintptr_t> AddressSpace::remap(const Remap& request) {
  uintptr_t old_begin = request.old_address;
  size_t old_size = align_up(request.old_size, kPageSize);
  size_t new_size = align_up(request.new_size, kPageSize);
  if ((old_begin & 4095) || new_size == 0 || old_size == 0) return error(Errno::einval);
  bool fixed = request.placement == Placement::fixed;
  if (fixed) {
    uintptr_t to = request.new_address;
    if ((to & 4095) || !valid_range(to, new_size)) return error(Errno::einval);
    if (to < old_begin + old_size && old_begin < to + new_size) return error(Errno::einval);
  }
  if (!valid_range(old_begin, old_size)) return error(Errno::efault);
  MutexGuard guard(m_lock);
  Vma* vma = find_locked(old_begin);
  if (!vma || old_size > vma->end - old_begin) return error(Errno::efault);
  if (new_size < old_size && !request.keep_old) {
    // Shrinking: the tail goes first, whether or not the rest moves.
    TRY(split_at_locked(old_begin + new_size));
    TRY(split_at_locked(old_begin + old_size));
    unmap_locked(old_begin + new_size, old_begin + old_size);
    old_size = new_size;
    if (!fixed) return old_begin;
  }
  if (!fixed && !request.keep_old) {
    if (new_size == old_size) return old_begin;
    // Grow in place when the mapping ends there and the space after it is free.
    uintptr_t grow_end = old_begin + new_size;
    if (old_begin + old_size == vma->end && valid_range(old_begin, new_size) &&
        !overlaps_locked(vma->end, grow_end)) {
      if (uintptr_t wb, we; window_part(m_placement, vma->end, grow_end, wb, we)) TRY(m_placement.allocate_fixed(wb, we - wb));
      vma->end = grow_end;
      return old_begin;
    }
  }
  if (!request.may_move) return error(Errno::enomem);
  // Move: the page-table entries go to the new place, the data stays where it is.
  uintptr_t to = TRY(reserve_locked(request.new_address, new_size, request.placement));
  // A fixed placement's unmap or the splits may change the VMA: find it again.
  bool split = split_at_locked(old_begin) && split_at_locked(old_begin + old_size);
  vma = split ? find_locked(old_begin) : nullptr;
  Vma* moved = vma ? new_vma(*vma) : nullptr;
  if (!moved) {
    unreserve_locked(to, to + new_size);
    return error(Errno::enomem);
  }
  moved->begin = to;
  moved->end = to + new_size;
  if (auto entries = mmu::move_range(m_tlb.root, old_begin, old_begin + old_size, to); !entries) {
    if (m_last_found == moved) m_last_found = nullptr;
    delete_vma(moved);
    unreserve_locked(to, to + new_size);
    return error(entries.error());
  }
  tlb::flush_range_everywhere(m_tlb, old_begin, old_begin + old_size);
  if (moved->file) moved->file->retain();
  // MREMAP_DONTUNMAP leaves the old range mapped, empty: it fills again on touch.
  if (!request.keep_old) unmap_locked(old_begin, old_begin + old_size);
  insert_locked(moved);
  return to;
}

Result<> AddressSpace::set_locked(uintptr_t address, size_t length, bool locked, bool populate_now) {
  uintptr_t begin = align_down(address, kPageSize);
  if (length > kEnd) return error(Errno::enomem);
  uintptr_t end = align_up(address + length, kPageSize);
  if (begin == end) return {};
  if (!valid_range(begin, end - begin)) return error(Errno::enomem);
  {
    MutexGuard guard(m_lock);
    TRY(check_covered_locked(begin, end, [](const Vma&) -> Result<> { return {}; }));
    TRY(split_at_locked(begin));
    TRY(split_at_locked(end));
    for (Vma* v = find_locked(begin); v && v->begin < end; v = m_vmas.next(v)) v->locked = locked;
  }
  if (locked && populate_now) TRY(populate(begin, end - begin));
  return {};
}

Result<> AddressSpace::set_all_locked(bool current, bool future, bool populate_now) {
  uintptr_t next = 0;
  {
    MutexGuard guard(m_lock);
    m_lock_future = future;
    m_populate_future = future && populate_now;
    if (current || !future) {
      for (Vma* v = m_vmas.front(); v; v = m_vmas.next(v)) v->locked = current;
    }
  }
  if (!current || !populate_now) return {};
  // One mapping at a time, as the list may change while pages are filled.
  for (;;) {
    uintptr_t begin, end;
    {
      MutexGuard guard(m_lock);
      Vma* v = m_vmas.front();
      while (v && v->end <= next) v = m_vmas.next(v);
      if (!v) return {};
      begin = v->begin > next ? v->begin : next;
      end = v->end;
    }
    TRY(populate(begin, end - begin));
    next = end;
  }
}

uint64_t AddressSpace::locked_bytes() {
  MutexGuard guard(m_lock);
  uint64_t total = 0;
  for (Vma* v = m_vmas.front(); v; v = m_vmas.next(v)) {
    if (v->locked) total += v->end - v->begin;
  }
  return total;
}

bool AddressSpace::any_locked(uintptr_t address, size_t length) {
  uintptr_t end = address + align_up(length, kPageSize);
  MutexGuard guard(m_lock);
  for (Vma* v = m_vmas.front(); v && v->begin < end; v = m_vmas.next(v)) {
    if (v->end > address && v->locked) return true;
  }
  return false;
}

void AddressSpace::unmap_shared_file_pages(const void* file_identity, uint64_t offset) {
  MutexGuard guard(m_lock);
  for (Vma* v = m_vmas.front(); v; v = m_vmas.next(v)) {
    if (!shows_file_pages(*v) || v->file->identity() != file_identity) continue;
    uint64_t length = v->end - v->begin;
    if (offset >= v->file_offset + length) continue;
    uintptr_t from = offset > v->file_offset ? v->begin + align_up(offset - v->file_offset, kPageSize) : v->begin;
    release_pages_locked(from, v->end);
  }
}

void AddressSpace::set_break_base(uintptr_t base) {
  MutexGuard guard(m_lock);
  m_break_base = m_break = align_up(base, kPageSize);
}

uintptr_t AddressSpace::set_break(uintptr_t requested) {
  uintptr_t current;
  {
    MutexGuard guard(m_lock);
    current = m_break;
    // Below the start, or past the end of the address space (where the rounding up would
    // wrap): refused, the break stays.
    if (requested < m_break_base || requested > kEnd) return current;
  }
  uintptr_t old_end = align_up(current, kPageSize);
  uintptr_t new_end = align_up(requested, kPageSize);
  if (new_end > old_end) {
    if (!map(old_end, new_end - old_end, prot::kRead | prot::kWrite, Placement::fixed_noreplace, false, nullptr, 0))
      return current;
  } else if (new_end < old_end) {
    (void)unmap(new_end, old_end - new_end);
  }
  MutexGuard guard(m_lock);
  m_break = requested;
  return requested;
}

}  // namespace nimbus
