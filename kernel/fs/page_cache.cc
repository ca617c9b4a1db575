// The kernel's page cache: file pages in frames of their own, found by (file, index) in a hash,
// kept least recently used first, and reclaimed by the frame allocator when it runs dry (clean
// pages only: dirty ones wait on their own list until their file system writes them back).
//
// Locking: one spinlock (g_lock) guards the hash, the lists and every entry's state. It is a
// leaf: nothing else is locked, no frame or heap memory is allocated or freed and no I/O is
// done while it is held (pages are read with it released, their entries marked `loading`
// meanwhile). The block cache's mutex, which a PageSource takes to read extent blocks, is
// therefore never held together with it, in either order. reclaim() runs inside the frame
// allocator's allocate() (after its own lock is released) and only try-locks, so that an
// allocation made by a thread that holds the cache lock cannot deadlock.
//
// Ownership of frames goes through frame_refs: the cache owns each of its frames once; a
// private mapping or a read() in progress owns it once more. A frame that only the cache owns
// can be reclaimed; a private mapping's copy-on-write sees a frame still shared with the cache
// and copies before the first write.
#include "kernel/fs/page_cache.h"

#include <cstring>
#include <new>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/lib/intrusive_list.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/mm/frame_allocator.h"
#include "kernel/mm/frame_references.h"
#include "kernel/mm/physical.h"
#include "kernel/sched/scheduler.h"
#include "kernel/sync/spinlock.h"

namespace nimbus::fs {
namespace {

constexpr size_t kPage = 4096;
constexpr size_t kBuckets = 1024;
// Pages read on a miss: a fault reads 64 KiB (Linux faults around 16 pages too), a read(2)
// what its caller's readahead window says, up to 2 MiB at once (a device request per page,
// which the block layer merges into multi-segment requests).
constexpr size_t kFaultReadahead = 16;
constexpr size_t kMaxReadahead = 512;
// Entries and page pointers of a fill of up to this many pages live on the stack; larger
// fills take them from the heap.
constexpr size_t kStackFill = 64;
constexpr uint64_t kMaxDirtyPages = 8192;
// How far reclaim looks past pages it cannot take (mapped elsewhere) per page it wants.
constexpr size_t kReclaimScanFactor = 4;

struct Entry {
  CachedFileKey key;
  uint64_t index = 0;
  uint64_t phys = 0;
  bool loading = false;  // being read; in the hash but on no list
  bool pinned = false;   // shown by a shared mapping: on the pinned list, never reclaimed
  bool dirty = false;    // changed since read or last handed out for write-back
  bool shared_writable = false;  // pinned and writable through a shared mapping: always dirty
  uint64_t written_pass = 0;     // the last write-back pass that took it (shared_writable pages)
  ListNode bucket_node;
  ListNode list_node;  // the LRU, the dirty list (unpinned dirty), the pinned list, or the free list
};

using Bucket = IntrusiveList<Entry, &Entry::bucket_node>;
using EntryList = IntrusiveList<Entry, &Entry::list_node>;

Spinlock g_lock;
Bucket g_buckets[kBuckets];
EntryList g_lru;     // loaded, unpinned clean pages, least recently used first
EntryList g_dirty;   // loaded, unpinned dirty pages, oldest first (never reclaimed)
EntryList g_pinned;  // loaded, pinned pages (clean or dirty)
EntryList g_spare;   // recycled entries, so that reclaim never touches the heap
PageCacheStatistics g_statistics;

size_t bucket_of(const CachedFileKey& key, uint64_t index) {
  uint64_t h = reinterpret_cast<uintptr_t>(key.owner) * 0x9e3779b97f4a7c15ull;
  h ^= key.file * 0xc2b2ae3d27d4eb4full;
  h ^= index * 0x165667b19e3779f9ull;
  return (h ^ (h >> 29)) % kBuckets;
}

Entry* find_locked(const CachedFileKey& key, uint64_t index) {
  Bucket& bucket = g_buckets[bucket_of(key, index)];
  for (Entry* e = bucket.front(); e; e = bucket.next(e))
    if (e->index == index && e->key == key) return e;
  return nullptr;
}

EntryList& list_of(Entry* e) {
  if (e->pinned) return g_pinned;
  return e->dirty ? g_dirty : g_lru;
}

// The frame of a loaded entry for the caller (one more owner), as a use.
uint64_t hand_out_locked(Entry* e, bool pin) {
  if (pin && !e->pinned) {
    list_of(e).remove(e);
    e->pinned = true;
    g_pinned.push_back(e);
  } else if (!e->pinned && !e->dirty) {
    g_lru.remove(e);
    g_lru.push_back(e);
  }
  frame_refs::share(e->phys);
  return e->phys;
}

Entry* new_entry() {
  {
    SpinlockGuard guard(g_lock);
    if (Entry* spare = g_spare.pop_front()) return spare;
  }
  return new (kNoThrow) Entry;
}

void recycle(Entry* e) {
  SpinlockGuard guard(g_lock);
  g_spare.push_back(e);
}

// Reads the pages [index, index + count) that are not cached yet (stopping at the first that
// is) and hands out the first; ENOMEM when not even one frame can be had.
Result<uint64_t> fill(const CachedFileKey& key, uint64_t index, size_t count, PageSource& source, bool pin) {
  Entry* stack_entries[kStackFill];
  std::byte* stack_pages[kStackFill];
  Entry** entries = stack_entries;
  std::byte** pages = stack_pages;
  if (count > kStackFill) {
    entries = new (kNoThrow) Entry*[count];
    pages = entries ? new (kNoThrow) std::byte*[count] : nullptr;
    if (!pages) {
      delete[] entries;
      entries = stack_entries;
      pages = stack_pages;
      count = kStackFill;
    }
  }
  struct FreeArrays {
    Entry** entries;
    std::byte** pages;
    Entry** stack;
    ~FreeArrays() {
      if (entries != stack) {
        delete[] entries;
        delete[] pages;
      }
    }
  } free_arrays{entries, pages, stack_entries};
  size_t made = 0;
  for (; made < count; made++) {
    auto phys = frames::allocate(0);
    if (!phys) break;
    Entry* e = new_entry();
    if (!e) {
      frames::free(*phys, 0);
      break;
    }
    e->key = key;
    e->index = index + made;
    e->phys = *phys;
    e->loading = true;
    e->pinned = false;
    e->dirty = false;
    e->shared_writable = false;
    entries[made] = e;
    pages[made] = phys_to_virt<std::byte>(*phys);
  }
  if (made == 0) return error(Errno::enomem);
  size_t claimed = 0;
  {
    SpinlockGuard guard(g_lock);
    for (; claimed < made; claimed++) {
      if (find_locked(key, index + claimed)) break;  // read by someone else meanwhile
      g_buckets[bucket_of(key, index + claimed)].push_back(entries[claimed]);
    }
  }
  for (size_t i = claimed; i < made; i++) {
    frames::free(entries[i]->phys, 0);
    recycle(entries[i]);
  }
  if (claimed == 0) return error(Errno::eagain);  // the first page: look it up again

  Result<> read = source.read_pages(index, {pages, claimed});
  uint64_t handed = 0;
  {
    SpinlockGuard guard(g_lock);
    for (size_t i = 0; i < claimed; i++) {
      Entry* e = entries[i];
      if (!read) {
        g_buckets[bucket_of(key, e->index)].remove(e);
        continue;
      }
      e->loading = false;
      if (i == 0 && pin) {
        e->pinned = true;
        g_pinned.push_back(e);
      } else {
        g_lru.push_back(e);
      }
      g_statistics.pages++;
      g_statistics.misses++;
    }
    if (read) {
      frame_refs::share(entries[0]->phys);
      handed = entries[0]->phys;
    }
  }
  if (!read) {
    for (size_t i = 0; i < claimed; i++) {
      frames::free(entries[i]->phys, 0);
      recycle(entries[i]);
    }
    return error(read.error());
  }
  return handed;
}

// Frees up to `wanted` pages that only the cache owns, least recently used first. A page that
// a program maps (its frame shared) cannot go; it moves to the back of the LRU as it is passed,
// as Linux activates referenced mapped pages, so that the libraries a program mapped first do
// not sit at the front hiding the clean pages behind them. The scan stops after
// kReclaimScanFactor pages per page wanted, unless it has found nothing yet: then it goes on
// through the whole list once, since the allocation that asked fails if this finds nothing.
size_t reclaim(size_t wanted) {
  bool interrupts = x86::save_and_disable_interrupts();
  if (!g_lock.try_lock_raw()) {
    x86::restore_interrupts(interrupts);
    return 0;
  }
  EntryList victims;
  const size_t listed = g_lru.size();
  const size_t enough_scanned = wanted * kReclaimScanFactor + 64;
  for (size_t scanned = 0; scanned < listed && victims.size() < wanted; scanned++) {
    if (scanned >= enough_scanned && !victims.empty()) break;
    Entry* e = g_lru.front();
    g_lru.remove(e);
    if (frame_refs::is_shared(e->phys)) {
      g_lru.push_back(e);
      continue;
    }
    g_buckets[bucket_of(e->key, e->index)].remove(e);
    victims.push_back(e);
  }
  size_t freed = victims.size();
  g_statistics.pages -= freed;
  g_statistics.reclaimed += freed;
  g_lock.unlock_raw();
  x86::restore_interrupts(interrupts);
  // Outside the lock: frames::free takes the frame allocator's; the entries go back to the
  // spare list (the heap may be what asked for memory).
  for (Entry* e = victims.front(); e; e = victims.front()) {
    victims.remove(e);
    frame_refs::release(e->phys);
    recycle(e);
  }
  return freed;
}

class KernelPageCache final : public PageCache {
 public:
  Result<size_t> read(CachedFileKey key, uint64_t file_size, uint64_t offset, std::span<std::byte> buffer,
                      PageSource& source) override {
    if (offset >= file_size) return 0;
    size_t total = file_size - offset < buffer.size() ? static_cast<size_t>(file_size - offset) : buffer.size();
    size_t done = 0;
    while (done < total) {
      uint64_t position = offset + done;
      uint64_t index = position / kPage;
      size_t in_page = position % kPage;
      size_t chunk = kPage - in_page < total - done ? kPage - in_page : total - done;
      size_t wanted_pages = (total - done + in_page + kPage - 1) / kPage;
      if (wanted_pages > 64) wanted_pages = 64;
      uint64_t phys = TRY(take(key, file_size, index, source, false, wanted_pages));
      memcpy(buffer.data() + done, phys_to_virt<std::byte>(phys) + in_page, chunk);
      frame_refs::release(phys);
      done += chunk;
    }
    return total;
  }

  Result<uint64_t> take_page(CachedFileKey key, uint64_t file_size, uint64_t index, PageSource& source,
                             bool pin) override {
    return take(key, file_size, index, source, pin, kFaultReadahead);
  }

  Result<uint64_t> take_page_ahead(CachedFileKey key, uint64_t file_size, uint64_t index, PageSource& source,
                                   size_t readahead) override {
    return take(key, file_size, index, source, false, readahead);
  }

  Result<uint64_t> take_page_for_write(CachedFileKey key, uint64_t index) override {
    for (;;) {
      bool loading = false;
      {
        SpinlockGuard guard(g_lock);
        Entry* e = find_locked(key, index);
        if (e && !e->loading) {
          g_statistics.hits++;
          return hand_out_locked(e, false);
        }
        loading = e != nullptr;
      }
      if (loading) {
        scheduler::yield();  // being read by someone else: its contents count
        continue;
      }
      auto phys = frames::allocate(0);
      if (!phys) return error(Errno::enomem);
      Entry* e = new_entry();
      if (!e) {
        frames::free(*phys, 0);
        return error(Errno::enomem);
      }
      memset(phys_to_virt<std::byte>(*phys), 0, kPage);
      e->key = key;
      e->index = index;
      e->phys = *phys;
      e->loading = false;
      e->pinned = false;
      e->dirty = false;
      e->shared_writable = false;
      {
        SpinlockGuard guard(g_lock);
        if (!find_locked(key, index)) {
          g_buckets[bucket_of(key, index)].push_back(e);
          g_lru.push_back(e);
          g_statistics.pages++;
          frame_refs::share(e->phys);
          return e->phys;
        }
      }
      frames::free(*phys, 0);  // made by someone else meanwhile: use theirs
      recycle(e);
    }
  }

  void mark_dirty(CachedFileKey key, uint64_t index) override {
    SpinlockGuard guard(g_lock);
    Entry* e = find_locked(key, index);
    if (!e || e->loading || e->dirty) return;
    if (!e->pinned) {
      g_lru.remove(e);
      g_dirty.push_back(e);
    }
    e->dirty = true;
    g_statistics.dirty++;
  }

  void mark_shared_writable(CachedFileKey key, uint64_t index) override {
    SpinlockGuard guard(g_lock);
    Entry* e = find_locked(key, index);
    if (!e || e->loading || !e->pinned) return;
    e->shared_writable = true;
  }

  std::byte* page_data(uint64_t phys) override { return phys_to_virt<std::byte>(phys); }
  void release_page(uint64_t phys) override { frame_refs::release(phys); }

  size_t take_dirty(const void* owner, DirtyPage* pages, size_t max, uint64_t pass) override {
    size_t taken = 0;
    SpinlockGuard guard(g_lock);
    // Shared-writable pages too: written each time (once per call: the pinned list is last).
    for (EntryList* list : {&g_dirty, &g_pinned}) {
      for (Entry* e = list->front(); e && taken < max;) {
        Entry* next = list->next(e);
        bool shared_due = e->shared_writable && e->written_pass != pass;
        if ((e->dirty || shared_due) && e->key.owner == owner) {
          e->written_pass = pass;
          if (e->dirty) g_statistics.dirty--;
          e->dirty = false;
          g_statistics.written++;
          if (!e->pinned) {
            g_dirty.remove(e);
            g_lru.push_back(e);
          }
          frame_refs::share(e->phys);
          pages[taken++] = DirtyPage{e->key.file, e->index, e->phys, phys_to_virt<std::byte>(e->phys)};
        }
        e = next;
      }
    }
    return taken;
  }

  void finish_write_back(const void* owner, const DirtyPage* pages, size_t count, bool written) override {
    for (size_t i = 0; i < count; i++) {
      if (!written) mark_dirty(CachedFileKey{owner, pages[i].file}, pages[i].index);
      frame_refs::release(pages[i].phys);
    }
  }

  bool has_dirty(const void* owner) override {
    SpinlockGuard guard(g_lock);
    if (!owner) return g_statistics.dirty != 0;
    for (Entry* e = g_dirty.front(); e; e = g_dirty.next(e))
      if (e->key.owner == owner) return true;
    for (Entry* e = g_pinned.front(); e; e = g_pinned.next(e))
      if ((e->dirty || e->shared_writable) && e->key.owner == owner) return true;
    return false;
  }

  size_t dirty_count() override {
    SpinlockGuard guard(g_lock);
    return g_statistics.dirty;
  }

  bool over_dirty_limit() override {
    // An eighth of the memory, at most 32 MiB, may be dirty (Linux's dirty_ratio is a share
    // of the memory too): dirty pages cannot be reclaimed, so they must not crowd out the rest.
    uint64_t limit = frames::total_bytes() / 8 / kPage;
    if (limit > kMaxDirtyPages) limit = kMaxDirtyPages;
    if (limit < 64) limit = 64;
    return dirty_count() >= limit;
  }

  RangeState range_state(CachedFileKey key, uint64_t first, uint64_t end) override {
    RangeState state;
    SpinlockGuard guard(g_lock);
    // Direct I/O asks about its own range (a few to a few hundred pages): one hash lookup per
    // page is cheaper than a walk of every cached page.
    for (uint64_t index = first; index < end && !state.dirty; index++) {
      Entry* e = find_locked(key, index);
      if (!e) continue;
      state.cached = true;
      state.dirty = e->loading || e->dirty || e->shared_writable;
    }
    return state;
  }

  void forget(CachedFileKey key, uint64_t first) override {
    EntryList dropped;
    {
      SpinlockGuard guard(g_lock);
      for (EntryList* list : {&g_lru, &g_dirty, &g_pinned}) {
        for (Entry* e = list->front(); e;) {
          Entry* next = list->next(e);
          if (e->key == key && e->index >= first) {
            list->remove(e);
            g_buckets[bucket_of(e->key, e->index)].remove(e);
            dropped.push_back(e);
            g_statistics.pages--;
            if (e->dirty) g_statistics.dirty--;
            e->dirty = false;
          }
          e = next;
        }
      }
    }
    for (Entry* e = dropped.front(); e; e = dropped.front()) {
      dropped.remove(e);
      frame_refs::release(e->phys);  // a mapping that still shows the frame keeps it
      recycle(e);
    }
  }

 private:
  Result<uint64_t> take(const CachedFileKey& key, uint64_t file_size, uint64_t index, PageSource& source, bool pin,
                        size_t readahead) {
    uint64_t page_count = (file_size + kPage - 1) / kPage;
    if (index >= page_count) return error(Errno::enxio);
    for (;;) {
      bool missing = false;
      {
        SpinlockGuard guard(g_lock);
        Entry* e = find_locked(key, index);
        if (e && !e->loading) {
          g_statistics.hits++;
          return hand_out_locked(e, pin);
        }
        missing = !e;
      }
      if (!missing) {
        scheduler::yield();  // another thread is reading it
        continue;
      }
      size_t count = readahead < kMaxReadahead ? readahead : kMaxReadahead;
      if (count == 0) count = 1;
      if (count > page_count - index) count = static_cast<size_t>(page_count - index);
      auto filled = fill(key, index, count, source, pin);
      if (filled || filled.error() != Errno::eagain) return filled;
    }
  }
};

KernelPageCache g_cache;

}  // namespace

Result<PageCache*> start_kernel_page_cache() {
  TRY(frame_refs::init());
  frames::set_reclaimer(reclaim);
  return &g_cache;
}

PageCacheStatistics page_cache_statistics() {
  SpinlockGuard guard(g_lock);
  return g_statistics;
}

}  // namespace nimbus::fs
