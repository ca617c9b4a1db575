// PageCache: the kernel's one cache of file pages read from disks, behind read(2) and file
// mmap (shared, and private until a write copies the page), with readahead, and given back to
// the frame allocator when memory runs short. File systems fill it through a PageSource.
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
  // Drops the file's pages from `first` on (a file system whose file changed under the cache:
  // writes, truncate, a deleted inode). Frames that mappings still show stay theirs.
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
};
PageCacheStatistics page_cache_statistics();

}  // namespace nimbus::fs
