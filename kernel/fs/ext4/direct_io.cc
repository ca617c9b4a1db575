// O_DIRECT on ext4: reads and writes between the program's buffer and the file's disk blocks,
// past the page cache, as Linux's ext4 (iomap) direct I/O does:
//  - offset and length must be multiples of the device's logical block size and the buffer's
//    address of 512 (its DMA alignment), else EINVAL (Linux: iomap_dio_bio_iter's check of
//    pos | length against bdev_logical_block_size, and bdev_iter_is_aligned); an empty request
//    and a read at or past the end of the file give 0 first. Linux reads a hole without the
//    check; here a misaligned read is refused wherever it falls.
//  - a read first writes back the volume's dirty pages when the range has any (Linux's
//    filemap_write_and_wait_range), then reads the disk; holes and preallocated blocks read
//    as zeros, and the bytes past the end of the file are not returned.
//  - a write maps its blocks as a buffered write does (allocating holes, converting
//    preallocated extents, extending the size) and writes the data to the disk before the
//    file system's lock is released, so the journal commit that records the new blocks always
//    follows the data (ordered mode). A block the write covers only in part (a 512-byte write
//    on 4 KiB blocks) is read first, or zeros for a new one, as iomap zeroes sub-block writes.
//  - a write to a range that has cached pages (read or written through the cache, or shown by
//    a shared mapping) goes through those pages instead and writes them back before returning:
//    the data reaches the disk just the same, and readers and mappings see it at once (Linux
//    writes back and invalidates the range, and warns when a mapping keeps a page it cannot
//    drop; keeping the pages avoids that case).
// The data passes through a kernel bounce buffer: the block layer takes physically contiguous
// direct-map memory, and the program's pages are copied outside the lock (a fault on a mapping
// of this file system takes the lock itself). One request per run of blocks, all submitted
// together, so the device sees requests as large as the program's.
#include <cstring>

#include "kernel/block/block_io.h"
#include "kernel/fs/ext4/ext4_vnode.h"
#include "kernel/fs/ext4/extent_tree.h"
#include "kernel/fs/ext4/file_write.h"
#include "kernel/lib/ref_ptr.h"

namespace nimbus::fs::ext4 {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kMaxBlocks = uint64_t{UINT32_MAX} + 1;
// The largest bounce buffer (the heap's large blocks carry a header, so this stays within
// 2 MiB of frames), and the smallest worth trying when memory is short.
constexpr size_t kMaxBounce = (size_t{2} << 20) - kPage;
constexpr size_t kMinBounce = 64 * 1024;
constexpr uint64_t kDmaAlignment = block::kSectorSize;

// A bounce buffer of up to `wanted` bytes (at least two blocks), smaller when memory is short.
struct Bounce {
  std::byte* data = nullptr;
  size_t size = 0;
  Bounce(size_t wanted, size_t block_size) {
    // Whole blocks (kMaxBounce is a multiple of every block size up to 4 KiB).
    size = wanted < kMaxBounce ? (wanted + block_size - 1) / block_size * block_size : kMaxBounce;
    if (size < 2 * block_size) size = 2 * block_size;
    for (;;) {
      data = new (kNoThrow) std::byte[size];
      if (data || size <= kMinBounce || size <= 2 * block_size) break;
      size = size / 2 / block_size * block_size;
    }
  }
  ~Bounce() { delete[] data; }
  Bounce(const Bounce&) = delete;
  Bounce& operator=(const Bounce&) = delete;
};

// Reads or writes the file's `count` blocks from logical block `first` on between the disk and
// `buffer`, one request per run of blocks (split at the device's largest request), all
// submitted together. A read fills holes and preallocated blocks with zeros; a write needs
// every block mapped (the caller mapped them).
Result<> transfer_blocks(Volume& volume, const Inode& file, block::Operation operation, uint64_t first,
                         uint64_t count, std::byte* buffer) {
  uint32_t block_size = volume.block_size();
  uint32_t sectors_per_block = block_size / block::kSectorSize;
  uint32_t max_sectors = volume.device().info().max_sectors;
  uint64_t max_blocks = max_sectors ? (max_sectors / sectors_per_block ? max_sectors / sectors_per_block : 1) : count;
  // At most one request per block.
  auto* requests = new (kNoThrow) block::Request[count];
  if (!requests) return error(Errno::enomem);
  size_t used = 0;
  Result<> result;
  for (uint64_t done = 0; done < count && result;) {
    uint64_t logical = first + done;
    if (logical >= kMaxBlocks) {
      result = error(Errno::eio);
      break;
    }
    auto run = map_block(volume, file, static_cast<uint32_t>(logical));
    if (!run) {
      result = error(run.error());
      break;
    }
    uint64_t take = run->length < count - done ? run->length : count - done;
    std::byte* at = buffer + done * block_size;
    if (!run->mapped) {
      if (operation == block::Operation::write) {
        volume.report("a direct write found its blocks unmapped", file.ino);
        result = error(Errno::eio);
        break;
      }
      memset(at, 0, take * block_size);
    } else if (!volume.blocks_valid(run->physical, take)) {
      volume.report("a file's extent points outside the file system", file.ino);
      result = error(Errno::eio);
      break;
    } else {
      for (uint64_t piece = 0; piece < take;) {
        uint64_t blocks = take - piece < max_blocks ? take - piece : max_blocks;
        block::Request& request = requests[used++];
        request.operation = operation;
        request.sector = (run->physical + piece) * sectors_per_block;
        request.sector_count = static_cast<uint32_t>(blocks * sectors_per_block);
        request.buffer = at + piece * block_size;
        piece += blocks;
      }
    }
    done += take;
  }
  if (result && used) result = block::transfer_all(volume.device(), {requests, used});
  delete[] requests;
  return result;
}

}  // namespace

Result<> Ext4Vnode::check_direct_alignment(uint64_t offset, const void* buffer, size_t length) {
  uint64_t logical_block = volume().device().info().logical_block_size;
  if ((offset | length) & (logical_block - 1)) return error(Errno::einval);
  if (reinterpret_cast<uintptr_t>(buffer) & (kDmaAlignment - 1)) return error(Errno::einval);
  return {};
}

Result<size_t> Ext4Vnode::read_direct(uint64_t offset, std::span<std::byte> buffer) {
  if (buffer.empty()) return 0;
  PageCache* cache = ext4().page_cache();
  uint32_t block_size = volume().block_size();
  {
    MutexGuard guard(ext4().lock());
    if (offset >= m_inode.size) return 0;
  }
  TRY(check_direct_alignment(offset, buffer.data(), buffer.size()));
  Bounce bounce(buffer.size() + 2 * block_size, block_size);
  if (!bounce.data) return error(Errno::enomem);
  size_t done = 0;
  while (done < buffer.size()) {
    uint64_t position = offset + done;
    uint64_t within = position % block_size;
    size_t room = bounce.size - block_size - within;
    size_t wanted = buffer.size() - done < room ? buffer.size() - done : room;
    size_t available = 0;
    {
      MutexGuard guard(ext4().lock());
      uint64_t size = m_inode.size;
      if (position >= size) break;
      available = size - position < wanted ? static_cast<size_t>(size - position) : wanted;
      if (cache) {
        auto state = cache->range_state(cache_key(), position / kPage, (position + available + kPage - 1) / kPage);
        if (state.dirty) TRY(ext4().write_dirty_file_data());
      }
      uint64_t first = position / block_size;
      uint64_t end = (position + available + block_size - 1) / block_size;
      auto read = transfer_blocks(volume(), m_inode, block::Operation::read, first, end - first, bounce.data);
      if (!read) {
        if (done) return done;
        return error(read.error());
      }
    }
    // The copy to the program runs without the lock (it may fault on a mapping of this file
    // system).
    memcpy(buffer.data() + done, bounce.data + within, available);
    done += available;
    if (available < wanted) break;  // the end of the file
  }
  return done;
}

Result<size_t> Ext4Vnode::write_direct(uint64_t* offset, std::span<const std::byte> data, bool append) {
  if (data.empty()) return 0;
  PageCache* cache = ext4().page_cache();
  uint32_t block_size = volume().block_size();
  uint64_t logical_block = volume().device().info().logical_block_size;
  TRY(check_direct_alignment(append ? 0 : *offset, data.data(), data.size()));
  Bounce bounce(data.size() + 2 * block_size, block_size);
  if (!bounce.data) return error(Errno::enomem);
  // The bounce buffer holds the blocks the data falls in, then one spare block for reading the
  // partly covered ones.
  std::byte* spare = bounce.data + bounce.size - block_size;
  size_t capacity = bounce.size - block_size;
  uint64_t position = *offset;
  size_t done = 0;
  while (done < data.size()) {
    // With O_APPEND the position is known only under the lock: the data is copied where the
    // size now puts it, and moved if the size changes meanwhile.
    if (append) {
      MutexGuard guard(ext4().lock());
      position = m_inode.size;
    }
    uint64_t within = position % block_size;
    size_t chunk = data.size() - done < capacity - within ? data.size() - done : capacity - within;
    // Copied from the program without the lock (a fault may need it).
    memcpy(bounce.data + within, data.data() + done, chunk);
    MutexGuard guard(ext4().lock());
    if (!volume().writable()) return error(Errno::erofs);
    ext4().reap_orphans_locked();
    if (append) {
      uint64_t now = m_inode.size;
      if (now % logical_block) {
        if (done) return done;
        return error(Errno::einval);
      }
      if (now != position) {
        uint64_t now_within = now % block_size;
        if (chunk > capacity - now_within) chunk = capacity - now_within;  // block-aligned: stays aligned
        memmove(bounce.data + now_within, bounce.data + within, chunk);
        position = now;
        within = now_within;
      }
      if (done == 0) *offset = position;
    }
    uint64_t end = position + chunk;
    if (cache && cache->range_state(cache_key(), position / kPage, (end + kPage - 1) / kPage).cached) {
      // Pages of the range are cached: write through them (the bounce buffer is kernel memory,
      // so nothing faults under the lock) and take them to the disk now.
      auto written = write_pages_locked(position, {bounce.data + within, chunk});
      if (auto stored = store_locked(Touch::modify); !stored && written) written = error(stored.error());
      if (written) {
        if (auto synced = ext4().write_dirty_file_data(); !synced) written = error(synced.error());
      }
      if (!written) {
        if (done) return done;
        return error(written.error());
      }
      done += *written;
      position += *written;
      if (*written < chunk) break;
      continue;
    }
    uint64_t first_block = position / block_size;
    uint64_t last_block = (end - 1) / block_size;
    uint64_t tail = end % block_size;
    // The partly covered first and last blocks keep their other bytes: read before the mapping
    // changes (zeros for a hole or a preallocated block).
    uint64_t edges[2];
    size_t edge_count = 0;
    if (within || (first_block == last_block && tail)) edges[edge_count++] = first_block;
    if (tail && last_block != first_block) edges[edge_count++] = last_block;
    for (size_t i = 0; i < edge_count; i++) {
      uint64_t edge = edges[i];
      auto read = transfer_blocks(volume(), m_inode, block::Operation::read, edge, 1, spare);
      if (!read) {
        if (done) return done;
        return error(read.error());
      }
      std::byte* block = bounce.data + (edge - first_block) * block_size;
      if (edge == first_block && within) memcpy(block, spare, within);
      if (edge == last_block && tail) memcpy(block + tail, spare + tail, block_size - tail);
    }
    uint64_t old_size = m_inode.size;
    uint64_t sectors = m_inode.sectors;
    auto mapped = map_file_range(volume(), m_inode, position, chunk);
    Result<> outcome;
    size_t written = 0;
    if (!mapped) {
      outcome = error(mapped.error());
    } else if (*mapped == 0) {
      outcome = error(Errno::enospc);
    } else {
      written = *mapped;
      uint64_t end_block = (position + written + block_size - 1) / block_size;
      outcome = transfer_blocks(volume(), m_inode, block::Operation::write, first_block, end_block - first_block,
                                bounce.data);
      if (!outcome) {
        // The blocks hold what they held before: the file must not grow over them.
        written = 0;
        if (m_inode.size > old_size) (void)truncate_file_data(volume(), m_inode, old_size, /*zero_tail=*/false);
      }
    }
    if (written || m_inode.size != old_size || m_inode.sectors != sectors) {
      if (auto stored = store_locked(written ? Touch::modify : Touch::none); !stored && outcome) outcome = stored;
    }
    ext4().limit_dirty_locked();
    if (!outcome || written == 0) {
      if (done) return done;
      return error(outcome ? Errno::enospc : outcome.error());
    }
    done += written;
    position += written;
    if (written < chunk) break;
  }
  return done;
}

}  // namespace nimbus::fs::ext4
