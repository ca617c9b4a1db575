// The application's address space.
#include "kernel/mm/address_space.h"

#include <cstring>
#include <new>

#include "kernel/arch/x86_64/page_tables.h"
#include "kernel/arch/x86_64/tlb.h"
#include "kernel/lib/panic.h"
#include "kernel/mm/frame_allocator.h"
#include "kernel/mm/heap.h"
#include "kernel/mm/heap_node_source.h"
#include "kernel/mm/physical.h"

namespace nimbus {
namespace {

HeapNodeSource g_nodes;

void free_frame(uint64_t phys) { frames::free(phys, 0); }

bool valid_range(uintptr_t begin, size_t length) {
  return begin >= AddressSpace::kBegin && length <= AddressSpace::kEnd && begin <= AddressSpace::kEnd - length;
}

// The part of [begin, end) inside the mmap placement window.
bool window_part(uintptr_t begin, uintptr_t end, uintptr_t& out_begin, uintptr_t& out_end) {
  out_begin = begin > AddressSpace::kMmapBegin ? begin : AddressSpace::kMmapBegin;
  out_end = end < AddressSpace::kMmapEnd ? end : AddressSpace::kMmapEnd;
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

Result<AddressSpace*> AddressSpace::try_create() {
  auto placement = TRY(VirtualRangeAllocator::try_create(kMmapBegin, kMmapEnd, g_nodes));
  void* memory = heap::allocate(sizeof(AddressSpace), alignof(AddressSpace));
  if (!memory) return error(Errno::enomem);
  return new (memory) AddressSpace(static_cast<VirtualRangeAllocator&&>(placement));
}

Vma* AddressSpace::find_locked(uintptr_t address) {
  for (Vma* v = m_vmas.front(); v && v->begin <= address; v = m_vmas.next(v)) {
    if (address < v->end) return v;
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
    return a && b && a->end == b->begin && !a->file && !b->file && a->prot == b->prot && a->shared == b->shared;
  };
  if (mergeable(before, vma)) {
    before->end = vma->end;
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

void AddressSpace::release_pages(uintptr_t begin, uintptr_t end) {
  size_t detached = mmu::detach_range(begin, end);
  if (detached == 0) return;
  tlb::flush_range_everywhere(begin, end);
  mmu::release_detached_range(begin, end, free_frame);
  m_resident_pages -= detached;
}

void AddressSpace::unmap_locked(uintptr_t begin, uintptr_t end) {
  release_pages(begin, end);
  for (Vma* v = m_vmas.front(); v && v->begin < end;) {
    Vma* next = m_vmas.next(v);
    if (v->begin >= begin && v->end <= end) {
      uintptr_t wb, we;
      if (window_part(v->begin, v->end, wb, we)) (void)m_placement.free(wb, we - wb);
      m_vmas.remove(v);
      if (v->file) v->file->release();
      delete_vma(v);
    }
    v = next;
  }
}

Result<uintptr_t> AddressSpace::map(uintptr_t address, size_t length, uint32_t prot, Placement placement,
                                    bool shared, MappedFile* file, uint64_t file_offset, uint64_t file_limit) {
  if (length == 0 || (file_offset & 4095)) return error(Errno::einval);
  if (length > kEnd) return error(Errno::enomem);
  length = align_up(length, kPageSize);
  MutexGuard guard(m_lock);
  uintptr_t begin = 0;
  bool placed_by_window = false;  // already reserved in m_placement
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
      begin = TRY(m_placement.allocate(length, kPageSize));
      placed_by_window = true;
      break;
  }
  if (uintptr_t wb, we; !placed_by_window && window_part(begin, begin + length, wb, we))
    TRY(m_placement.allocate_fixed(wb, we - wb));
  Vma* vma = new_vma(Vma{begin, begin + length, prot, shared, file, file_offset, file_limit, {}});
  if (!vma) {
    uintptr_t wb, we;
    if (window_part(begin, begin + length, wb, we)) (void)m_placement.free(wb, we - wb);
    return error(Errno::enomem);
  }
  if (file) file->retain();
  insert_locked(vma);
  return begin;
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
  // Linux: ENOMEM if any page of the range is unmapped.
  for (uintptr_t at = address; at < end;) {
    Vma* v = find_locked(at);
    if (!v) return error(Errno::enomem);
    at = v->end;
  }
  TRY(split_at_locked(address));
  TRY(split_at_locked(end));
  for (Vma* v = find_locked(address); v && v->begin < end; v = m_vmas.next(v)) v->prot = new_prot;
  uint64_t flags = mmu::application_flags(new_prot & prot::kWrite, new_prot & prot::kExec);
  if (new_prot == 0) {
    // No access at all: drop the mappings; the VMA keeps the data source for later.
    if (mmu::protect_range(address, end, flags)) {
      size_t detached = mmu::detach_range(address, end);
      tlb::flush_range_everywhere(address, end);
      mmu::release_detached_range(address, end, free_frame);
      m_resident_pages -= detached;
    }
    return {};
  }
  if (mmu::protect_range(address, end, flags)) tlb::flush_range_everywhere(address, end);
  return {};
}

Result<> AddressSpace::discard(uintptr_t address, size_t length) {
  if ((address & 4095) || !valid_range(address, length)) return error(Errno::einval);
  uintptr_t end = address + align_up(length, kPageSize);
  MutexGuard guard(m_lock);
  release_pages(address, end);
  return {};
}

Result<> AddressSpace::fill_page_locked(Vma& vma, uintptr_t page) {
  uint64_t phys = TRY(frames::allocate(0));
  auto* bytes = phys_to_virt<uint8_t>(phys);
  memset(bytes, 0, kPageSize);
  uint64_t offset = vma.file_offset + (page - vma.begin);
  if (vma.file && offset < vma.file_limit) {
    size_t wanted = vma.file_limit - offset < kPageSize ? vma.file_limit - offset : kPageSize;
    auto read = vma.file->read_at(offset, std::span<uint8_t>(bytes, wanted));
    if (!read) {
      frames::free(phys, 0);
      return error(read.error());
    }
  }
  uint64_t flags = mmu::application_flags(vma.prot & prot::kWrite, vma.prot & prot::kExec);
  if (auto mapped = mmu::map_page(page, phys, flags); !mapped) {
    frames::free(phys, 0);
    return mapped;
  }
  m_resident_pages++;
  return {};
}

FaultOutcome AddressSpace::handle_fault(uintptr_t address, bool write, bool execute) {
  MutexGuard guard(m_lock);
  Vma* vma = find_locked(address);
  if (!vma) return FaultOutcome::no_mapping;
  if ((write && !(vma->prot & prot::kWrite)) || (execute && !(vma->prot & prot::kExec)) || vma->prot == 0)
    return FaultOutcome::bad_access;
  uintptr_t page = align_down(address, kPageSize);
  // Another thread may have filled it meanwhile.
  if (mmu::lookup_page(page) & mmu::pte::kPresent) return FaultOutcome::handled;
  if (!fill_page_locked(*vma, page)) return FaultOutcome::bad_access;
  return FaultOutcome::handled;
}

Result<> AddressSpace::populate(uintptr_t address, size_t length) {
  uintptr_t end = address + align_up(length, kPageSize);
  MutexGuard guard(m_lock);
  for (uintptr_t page = align_down(address, kPageSize); page < end; page += kPageSize) {
    Vma* vma = find_locked(page);
    if (!vma) return error(Errno::enomem);
    if (vma->prot == 0 || (mmu::lookup_page(page) & mmu::pte::kPresent)) continue;
    TRY(fill_page_locked(*vma, page));
  }
  return {};
}

bool AddressSpace::check_access(uintptr_t address, size_t length, uint32_t wanted) {
  if (length == 0) return true;
  if (!valid_range(address, length)) return false;
  uintptr_t end = address + length;
  MutexGuard guard(m_lock);
  for (uintptr_t at = address; at < end;) {
    Vma* v = find_locked(at);
    if (!v || (v->prot & wanted) != wanted) return false;
    at = v->end;
  }
  return true;
}

Result<> AddressSpace::resident_pages(uintptr_t address, size_t length, std::span<uint8_t> out) {
  if (address & 4095) return error(Errno::einval);
  size_t pages = align_up(length, kPageSize) / kPageSize;
  if (out.size() < pages) return error(Errno::efault);
  MutexGuard guard(m_lock);
  for (size_t i = 0; i < pages; i++) {
    uintptr_t page = address + i * kPageSize;
    if (!find_locked(page)) return error(Errno::enomem);
    out[i] = (mmu::lookup_page(page) & mmu::pte::kPresent) ? 1 : 0;
  }
  return {};
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
    if (requested < m_break_base) return current;
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
