// PageCache: the kernel's one cache of file pages on disks, behind read(2), write(2) and file
// mmap (shared, and private until a write copies the page), with readahead, dirty pages that
// their file system writes back, and clean pages given back to the frame allocator when memory
// runs short. File systems fill it through a PageSource.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/lib/result.h"

namespace nimbus::fs {

// Fills a file's pages on a miss (ext4: its extent tree, then the disk).
class PageSource {
 public:
  // Fills `pages` (each 4 KiB of direct-map memory) with the file's pages `first`, `first + 1`,
  // ...; bytes past the end of the file, holes and unwritten extents are zeros.
  virtual Result<> read_pages(uint64_t first, std::span<std::byte* const> pages) = 0;

 protected:
  ~PageSource() = default;
};

// One file in the cache: `owner` tells file systems apart (its volume), `file` the file in it
// (its inode number).
struct CachedFileKey {
  const void* owner = nullptr;
  uint64_t file = 0;
  bool operator==(const CachedFileKey&) const = default;
};

// A dirty page handed to its file system for write-back (PageCache::take_dirty).
struct DirtyPage {
  uint64_t file = 0;   // CachedFileKey::file
  uint64_t index = 0;  // page index in the file
  uint64_t phys = 0;   // its frame: the write-back owns one reference until finish_write_back
  std::byte* data = nullptr;  // the frame in the direct map
};

class PageCache {
 public:
  // read(2): copies from `offset` up to the end of the file (`file_size` bytes), through the
  // cache, reading missing pages (and a readahead window after them) from `source`.
  virtual Result<size_t> read(CachedFileKey key, uint64_t file_size, uint64_t offset, std::span<std::byte> buffer,
                              PageSource& source) = 0;
  // The frame (physical address) of page `index`, read first on a miss; the caller receives one
  // ownership of it (frame_refs) and drops it with frame_refs::release, which never frees a
  // frame the cache still holds. `pin`: the cache keeps the page for good (a shared mapping
  // shows it and nothing unmaps it). ENXIO at or past the end of the file.
  virtual Result<uint64_t> take_page(CachedFileKey key, uint64_t file_size, uint64_t index, PageSource& source,
                                     bool pin) = 0;
  // As take_page (never pinned), reading `readahead` pages from `index` on a miss (at least
  // one; fewer at the end of the file or before a page already cached): read(2) with its
  // caller's sequential-access window.
  virtual Result<uint64_t> take_page_ahead(CachedFileKey key, uint64_t file_size, uint64_t index, PageSource& source,
                                           size_t readahead) = 0;
  // For a writer that replaces the page's contents (or writes past the end of the file): page
  // `index` as cached, or a new page of zeros when absent, never read. One ownership as take_page.
  virtual Result<uint64_t> take_page_for_write(CachedFileKey key, uint64_t index) = 0;
  // Marks a page the caller owns (from take_*) dirty: it is never reclaimed until written back.
  virtual void mark_dirty(CachedFileKey key, uint64_t index) = 0;
  // A pinned page that a shared mapping may write behind the cache's back: from now on every
  // write-back takes it as dirty (there is no tracking of the mapping's dirty bits).
  virtual void mark_shared_writable(CachedFileKey key, uint64_t index) = 0;
  // The bytes of a frame handed out by take_*, and the end of that ownership.
  virtual std::byte* page_data(uint64_t phys) = 0;
  virtual void release_page(uint64_t phys) = 0;
  // Takes up to `max` dirty pages of `owner`'s files, marking them clean; each page's frame
  // gains one ownership for the caller (finish_write_back). How many were taken. Pages of
  // shared writable mappings count as dirty, once per `pass` (a number the caller changes for
  // each write-back).
  virtual size_t take_dirty(const void* owner, DirtyPage* pages, size_t max, uint64_t pass) = 0;
  // Ends the write-back of pages from take_dirty: their references are dropped and, when the
  // write failed (`written` false), they are dirty again.
  virtual void finish_write_back(const void* owner, const DirtyPage* pages, size_t count, bool written) = 0;
  // Whether `owner` has dirty pages, shared writable ones included (any owner: null).
  virtual bool has_dirty(const void* owner) = 0;
  // How many pages are dirty in all.
  virtual size_t dirty_count() = 0;
  // Whether so many pages are dirty that writers should write theirs back now.
  virtual bool over_dirty_limit() = 0;
  // Direct I/O (O_DIRECT) over the file's pages [first, end): whether any of them is cached,
  // and whether any is dirty (shared writable ones count as dirty).
  struct RangeState {
    bool cached = false;
    bool dirty = false;
  };
  virtual RangeState range_state(CachedFileKey key, uint64_t first, uint64_t end) = 0;
  // Drops the file's pages from `first` on (a file system whose file changed under the cache:
  // truncate, a deleted inode), dirty ones included. Frames that mappings still show stay theirs.
  virtual void forget(CachedFileKey key, uint64_t first) = 0;

 protected:
  ~PageCache() = default;
};

// The kernel's cache (kernel only, page_cache.cc), started on first use: from then on the frame
// allocator asks it for pages back when it runs out of frames. ENOMEM if frame_refs cannot start.
Result<PageCache*> start_kernel_page_cache();

struct PageCacheStatistics {
  uint64_t pages = 0;      // in the cache now
  uint64_t hits = 0;       // pages found
  uint64_t misses = 0;     // pages read from a source (readahead included)
  uint64_t reclaimed = 0;  // pages given back under memory pressure
  uint64_t dirty = 0;      // dirty now
  uint64_t written = 0;    // dirty pages handed out for write-back
};
PageCacheStatistics page_cache_statistics();

}  // namespace nimbus::fs
