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
// The device reads or writes the program's own pages where it can (Linux's iomap direct I/O
// pins the user pages the same way): the buffer's pages are pinned before the file system's
// lock is taken (filling a page of a mapping of this file system takes the lock itself) and
// described as physically contiguous pieces of the direct map, which is what a block request
// carries; one request per piece of each run of blocks, all submitted together, so adjacent
// ones merge into device requests as large as the program's. What cannot be pinned (host tests,
// a shared file mapping's pages, a request that starts or ends inside a block, O_APPEND) goes
// through a kernel bounce buffer of up to 2 MiB, copied outside the lock.
#include <cstring>

#include "kernel/block/block_io.h"
#include "kernel/fs/buffer_pinning.h"
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

// The largest part of a request pinned at once (as much as a bounce buffer holds).
constexpr size_t kMaxPinned = size_t{2} << 20;

// A bounce buffer of up to `wanted` bytes (at least two blocks), smaller when memory is short;
// made on first use, as a request whose pages are all pinned needs none.
struct Bounce {
  std::byte* data = nullptr;
  size_t size = 0;
  Result<> reserve(size_t wanted, size_t block_size) {
    if (data) return {};
    // Whole blocks (kMaxBounce is a multiple of every block size up to 4 KiB).
    size = wanted < kMaxBounce ? (wanted + block_size - 1) / block_size * block_size : kMaxBounce;
    if (size < 2 * block_size) size = 2 * block_size;
    for (;;) {
      data = new (kNoThrow) std::byte[size];
      if (data || size <= kMinBounce || size <= 2 * block_size) break;
      size = size / 2 / block_size * block_size;
    }
    if (!data) return error(Errno::enomem);
    return {};
  }
  Bounce() = default;
  ~Bounce() { delete[] data; }
  Bounce(const Bounce&) = delete;
  Bounce& operator=(const Bounce&) = delete;
};

// Whole blocks of the program's buffer, pinned for the device while this lives.
class PinnedBlocks {
 public:
  PinnedBlocks() = default;
  ~PinnedBlocks() {
    release();
    delete[] m_heap;
  }
  PinnedBlocks(const PinnedBlocks&) = delete;
  PinnedBlocks& operator=(const PinnedBlocks&) = delete;

  // Pins the whole blocks at the start of `buffer` (at most kMaxPinned bytes): how many bytes,
  // 0 when they cannot be pinned (no pinner, less than a block, memory that is not the
  // program's own) and the caller copies instead. EFAULT for a buffer the program may not use.
  Result<size_t> pin(std::span<const std::byte> buffer, size_t block_size, DeviceAccess access) {
    release();
    BufferPinner* pinner = buffer_pinner();
    size_t length = buffer.size() < kMaxPinned ? buffer.size() : kMaxPinned;
    length -= length % block_size;
    if (!pinner || length == 0) return 0;
    // At most one piece per page the part touches.
    size_t most_pieces = length / kPage + 2;
    std::span<MemoryPiece> storage{m_inline, kInlinePieces};
    if (most_pieces > kInlinePieces) {
      if (m_heap_size < most_pieces) {
        delete[] m_heap;
        m_heap_size = 0;
        m_heap = new (kNoThrow) MemoryPiece[most_pieces];
        if (!m_heap) return 0;
        m_heap_size = most_pieces;
      }
      storage = {m_heap, m_heap_size};
    }
    auto pinned = pinner->pin(buffer.first(length), access, storage);
    if (!pinned) {
      if (pinned.error() == Errno::efault) return error(Errno::efault);
      return 0;
    }
    m_pinner = pinner;
    m_holder = pinned->holder;
    m_pieces = storage.first(pinned->pieces);
    return length;
  }
  std::span<const MemoryPiece> pieces() const { return m_pieces; }
  void release() {
    if (m_pinner) m_pinner->unpin(m_pieces, m_holder);
    m_pinner = nullptr;
    m_pieces = {};
  }

 private:
  // Small requests (4 KiB random I/O) describe their pieces without a heap allocation.
  static constexpr size_t kInlinePieces = 4;
  BufferPinner* m_pinner = nullptr;
  void* m_holder = nullptr;
  MemoryPiece m_inline[kInlinePieces];
  MemoryPiece* m_heap = nullptr;
  size_t m_heap_size = 0;
  std::span<const MemoryPiece> m_pieces;
};

// Walks memory pieces in order, handing out contiguous parts of them.
class PieceCursor {
 public:
  explicit PieceCursor(std::span<const MemoryPiece> pieces) : m_pieces(pieces) {}
  // The next contiguous part, at most `most` bytes (empty when the pieces are used up).
  std::span<std::byte> take(size_t most) {
    while (m_index < m_pieces.size() && m_offset == m_pieces[m_index].length) m_index++, m_offset = 0;
    if (m_index == m_pieces.size()) return {};
    const MemoryPiece& piece = m_pieces[m_index];
    size_t length = piece.length - m_offset < most ? piece.length - m_offset : most;
    std::span<std::byte> part{piece.data + m_offset, length};
    m_offset += length;
    return part;
  }

 private:
  std::span<const MemoryPiece> m_pieces;
  size_t m_index = 0;
  size_t m_offset = 0;
};

// Reads or writes the file's `count` blocks from logical block `first` on between the disk and
// `memory` (pieces holding count * block_size bytes, or more), one request per run of blocks
// and piece (split at the device's largest request), all submitted together. A read fills holes
// and preallocated blocks with zeros; a write needs every block mapped (the caller mapped them).
Result<> transfer_blocks(Volume& volume, const Inode& file, block::Operation operation, uint64_t first,
                         uint64_t count, std::span<const MemoryPiece> memory) {
  uint32_t block_size = volume.block_size();
  uint32_t sectors_per_block = block_size / block::kSectorSize;
  uint32_t max_sectors = volume.device().info().max_sectors;
  uint64_t max_blocks = max_sectors ? (max_sectors / sectors_per_block ? max_sectors / sectors_per_block : 1) : count;
  size_t max_bytes = max_blocks * block_size;
  // Each request takes at least a block, or ends a piece.
  size_t most_requests = count + memory.size();
  auto* requests = new (kNoThrow) block::Request[most_requests];
  if (!requests) return error(Errno::enomem);
  PieceCursor cursor(memory);
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
    size_t bytes = take * block_size;
    if (!run->mapped) {
      if (operation == block::Operation::write) {
        volume.report("a direct write found its blocks unmapped", file.ino);
        result = error(Errno::eio);
        break;
      }
      for (size_t zeroed = 0; zeroed < bytes && result;) {
        std::span<std::byte> part = cursor.take(bytes - zeroed);
        if (part.empty()) {
          result = error(Errno::einval);
          break;
        }
        memset(part.data(), 0, part.size());
        zeroed += part.size();
      }
    } else if (!volume.blocks_valid(run->physical, take)) {
      volume.report("a file's extent points outside the file system", file.ino);
      result = error(Errno::eio);
      break;
    } else {
      uint64_t sector = run->physical * sectors_per_block;
      for (size_t sent = 0; sent < bytes;) {
        std::span<std::byte> part = cursor.take(bytes - sent < max_bytes ? bytes - sent : max_bytes);
        // Pieces hold whole sectors (the buffer is 512-aligned) and cover every block.
        if (part.empty() || part.size() % block::kSectorSize || used == most_requests) {
          result = error(Errno::einval);
          break;
        }
        block::Request& request = requests[used++];
        request.operation = operation;
        request.sector = sector;
        request.sector_count = static_cast<uint32_t>(part.size() / block::kSectorSize);
        request.buffer = part.data();
        sector += request.sector_count;
        sent += part.size();
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
  PinnedBlocks pinned;
  Bounce bounce;
  size_t done = 0;
  while (done < buffer.size()) {
    uint64_t position = offset + done;
    uint64_t within = position % block_size;
    // The device writes into the program's pages when the chunk is whole blocks of them.
    size_t pinned_bytes = 0;
    if (within == 0) {
      auto pin = pinned.pin(buffer.subspan(done), block_size, DeviceAccess::writes);
      if (!pin) return done ? Result<size_t>(done) : error(pin.error());
      pinned_bytes = *pin;
    }
    MemoryPiece bounce_piece{};
    std::span<const MemoryPiece> memory = pinned.pieces();
    size_t room = pinned_bytes;
    if (!pinned_bytes) {
      if (auto reserved = bounce.reserve(buffer.size() + 2 * block_size, block_size); !reserved) {
        if (done) return done;
        return error(reserved.error());
      }
      bounce_piece = {bounce.data, bounce.size};
      memory = {&bounce_piece, 1};
      room = bounce.size - block_size - within;
    }
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
      // Whole blocks: into pinned pages, the block holding the end of the file lands whole (the
      // program's buffer has room for it; the bytes past the end are not counted as read).
      uint64_t first = position / block_size;
      uint64_t end = (position + available + block_size - 1) / block_size;
      auto read = transfer_blocks(volume(), m_inode, block::Operation::read, first, end - first, memory);
      if (!read) {
        if (done) return done;
        return error(read.error());
      }
    }
    pinned.release();
    // The copy to the program runs without the lock (it may fault on a mapping of this file
    // system).
    if (!pinned_bytes) memcpy(buffer.data() + done, bounce.data + within, available);
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
  PinnedBlocks pinned;
  Bounce bounce;
  uint64_t position = *offset;
  size_t done = 0;
  while (done < data.size()) {
    // The device reads the program's pages when the chunk is whole blocks of them (with
    // O_APPEND the position is known only under the lock: copied).
    size_t chunk = 0;
    uint64_t within = position % block_size;
    if (!append && within == 0) {
      auto pin = pinned.pin(data.subspan(done), block_size, DeviceAccess::reads);
      if (!pin) return done ? Result<size_t>(done) : error(pin.error());
      chunk = *pin;
    }
    bool copied = chunk == 0;
    if (copied) {
      // The bounce buffer holds the blocks the data falls in, then one spare block for reading
      // the partly covered ones.
      if (auto reserved = bounce.reserve(data.size() + 2 * block_size, block_size); !reserved) {
        if (done) return done;
        return error(reserved.error());
      }
      size_t capacity = bounce.size - block_size;
      // With O_APPEND the data is copied where the size now puts it, and moved if the size
      // changes meanwhile.
      if (append) {
        MutexGuard guard(ext4().lock());
        position = m_inode.size;
      }
      within = position % block_size;
      chunk = data.size() - done < capacity - within ? data.size() - done : capacity - within;
      // Copied from the program without the lock (a fault may need it).
      memcpy(bounce.data + within, data.data() + done, chunk);
    }
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
        size_t capacity = bounce.size - block_size;
        if (chunk > capacity - now_within) chunk = capacity - now_within;  // block-aligned: stays aligned
        memmove(bounce.data + now_within, bounce.data + within, chunk);
        position = now;
        within = now_within;
      }
      if (done == 0) *offset = position;
    }
    uint64_t end = position + chunk;
    // The chunk's bytes, in memory that does not fault under the lock (the program's pinned
    // pages through the direct map, or the bounce buffer).
    MemoryPiece bounce_data{bounce.data + within, chunk};
    std::span<const MemoryPiece> source = copied ? std::span<const MemoryPiece>{&bounce_data, 1} : pinned.pieces();
    if (cache && cache->range_state(cache_key(), position / kPage, (end + kPage - 1) / kPage).cached) {
      // Pages of the range are cached: write through them and take them to the disk now.
      Result<size_t> written = size_t{0};
      for (const MemoryPiece& piece : source) {
        auto part = write_pages_locked(position + *written, {piece.data, piece.length});
        if (!part) {
          if (*written == 0) written = part;
          break;
        }
        *written += *part;
        if (*part < piece.length) break;
      }
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
      std::byte* spare = bounce.data + bounce.size - block_size;
      MemoryPiece spare_block{spare, block_size};
      auto read = transfer_blocks(volume(), m_inode, block::Operation::read, edge, 1, {&spare_block, 1});
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
      // Whole blocks: the bounce buffer's from the start of the first one (edges filled in).
      MemoryPiece bounce_blocks{bounce.data, bounce.size};
      outcome = transfer_blocks(volume(), m_inode, block::Operation::write, first_block, end_block - first_block,
                                copied ? std::span<const MemoryPiece>{&bounce_blocks, 1} : pinned.pieces());
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
