// Write-back of an ext4 volume's dirty page-cache pages: taken from the page cache in batches,
// sorted by file and page, mapped to disk blocks through each file's extent list (read once per
// file and batch), and written in place as one list of requests that the block layer merges
// into multi-segment device requests. Runs under Ext4Fs's lock, before every journal commit
// (ordered mode), and when too many pages are dirty.
#include <cstring>

#include "kernel/block/block_io.h"
#include "kernel/fs/ext4/ext4_fs.h"
#include "kernel/fs/ext4/ext4_vnode.h"
#include "kernel/fs/ext4/extent_tree.h"
#include "kernel/lib/ref_ptr.h"

namespace nimbus::fs::ext4 {
namespace {

constexpr uint64_t kPage = 4096;
// Pages taken from the cache at once (2 MiB): enough for the block layer to build large
// requests, and a bounded array of requests.
constexpr size_t kBatch = 512;

// Pages in (file, index) order: runs of one file's pages, usually adjacent on the disk.
void sort_pages(DirtyPage* pages, size_t count) {
  auto before = [](const DirtyPage& a, const DirtyPage& b) {
    return a.file != b.file ? a.file < b.file : a.index < b.index;
  };
  // Mostly in order already (the dirty list is oldest first, and writers go forward).
  for (size_t i = 1; i < count; i++) {
    DirtyPage moving = pages[i];
    size_t j = i;
    for (; j > 0 && before(moving, pages[j - 1]); j--) pages[j] = pages[j - 1];
    pages[j] = moving;
  }
}

// The extent holding logical block `logical`, or null (a hole).
const Extent* extent_of(const ExtentList& extents, uint64_t logical) {
  size_t low = extent_position(extents, logical);
  if (low < extents.size() && extents[low].logical <= logical) return &extents[low];
  return nullptr;
}

}  // namespace

bool Ext4Fs::has_dirty_file_data() { return m_page_cache && m_page_cache->has_dirty(m_volume); }

Result<Inode> Ext4Fs::current_inode_locked(uint32_t ino) {
  {
    MutexGuard table(m_table_lock);
    Bucket& bucket = m_table[ino % kBuckets];
    // A live (or dying) vnode's inode is the current one, even unlinked (links 0).
    for (VnodeTableEntry* entry = bucket.front(); entry; entry = bucket.next(entry))
      if (entry->ino == ino) return entry->vnode->inode();
  }
  return m_volume->read_inode(ino);
}

Result<> Ext4Fs::write_pages_locked(DirtyPage* pages, size_t count) {
  uint32_t block_size = m_volume->block_size();
  uint32_t sectors_per_block = block_size / block::kSectorSize;
  // At most one request per block of each page (one per page with 4 KiB blocks).
  size_t per_page = block_size < kPage ? kPage / block_size : 1;
  auto* requests = new (kNoThrow) block::Request[count * per_page];
  if (!requests) return error(Errno::enomem);
  size_t used = 0;
  Result<> result;
  ExtentList extents;
  BlockList tree_blocks;
  for (size_t first = 0; first < count && result;) {
    size_t last = first;
    while (last < count && pages[last].file == pages[first].file) last++;
    auto ino = static_cast<uint32_t>(pages[first].file);
    auto inode = current_inode_locked(ino);
    if (!inode) {
      // The file is gone (freed meanwhile): its pages have nowhere to go.
      m_page_cache->forget(CachedFileKey{m_volume, ino}, 0);
      first = last;
      continue;
    }
    extents.clear();
    tree_blocks.clear();
    if (auto read = read_extents(*m_volume, *inode, extents, tree_blocks); !read) {
      result = read;
      break;
    }
    for (size_t i = first; i < last; i++) {
      uint64_t start = pages[i].index * kPage;
      if (start >= inode->size) continue;  // past the end (a truncate raced a mapping)
      std::byte* page = pages[i].data;
      uint64_t length = inode->size - start < kPage ? inode->size - start : kPage;
      // Past the end of the file the disk must hold zeros (the file may grow over them); a
      // shared mapping may have written there (Linux zeroes it at write-back too).
      if (length < kPage) memset(page + length, 0, kPage - length);
      for (uint64_t at = 0; at < length;) {
        uint64_t position = start + at;
        uint64_t logical = position / block_size;
        uint64_t in_block = position % block_size;
        uint64_t bytes = block_size - in_block < kPage - at ? block_size - in_block : kPage - at;
        const Extent* extent = extent_of(extents, logical);
        // Holes and preallocated blocks read as zeros and stay so (a write maps its blocks).
        if (extent && !extent->unwritten) {
          uint64_t physical = extent->physical + (logical - extent->logical);
          if (!m_volume->blocks_valid(physical, 1)) {
            m_volume->report("a file's extent points outside the file system", ino);
            result = error(Errno::eio);
            break;
          }
          block::Request& request = requests[used++];
          request.operation = block::Operation::write;
          request.sector = physical * sectors_per_block + in_block / block::kSectorSize;
          request.sector_count = static_cast<uint32_t>((bytes + block::kSectorSize - 1) / block::kSectorSize);
          request.buffer = page + at;
        }
        at += bytes;
      }
      if (!result) break;
    }
    first = last;
  }
  if (result && used) result = block::transfer_all(m_volume->device(), {requests, used});
  delete[] requests;
  return result;
}

Result<> Ext4Fs::write_dirty_file_data() {
  if (!m_page_cache) return {};
  auto* pages = new (kNoThrow) DirtyPage[kBatch];
  if (!pages) return error(Errno::enomem);
  Result<> result;
  // Ends: only writers holding the lock dirty pages, and shared mappings' pages are taken
  // once per pass.
  uint64_t pass = ++m_write_back_passes;
  while (result) {
    size_t count = m_page_cache->take_dirty(m_volume, pages, kBatch, pass);
    if (count == 0) break;
    sort_pages(pages, count);
    result = write_pages_locked(pages, count);
    // A failed write leaves the data dirty, to be tried again at the next write-back.
    m_page_cache->finish_write_back(m_volume, pages, count, bool(result));
  }
  delete[] pages;
  return result;
}

}  // namespace nimbus::fs::ext4
