// File data: logical blocks mapped by the extent tree, copied out of cached blocks.
#include "kernel/fs/ext4/file_data.h"

#include <cstring>

#include "kernel/block/block_io.h"
#include "kernel/fs/ext4/extent_tree.h"
#include "kernel/lib/ref_ptr.h"

namespace nimbus::fs::ext4 {
namespace {

// The largest logical block an extent tree can address is 2^32 - 1.
constexpr uint64_t kMaxBlocks = uint64_t{UINT32_MAX} + 1;

}  // namespace

Result<size_t> read_file_data(Volume& volume, const Inode& file, uint64_t offset, std::span<std::byte> buffer) {
  if (offset >= file.size) return 0;
  uint64_t left = file.size - offset < buffer.size() ? file.size - offset : buffer.size();
  uint32_t block_size = volume.block_size();
  size_t done = 0;
  while (left) {
    uint64_t logical = (offset + done) / block_size;
    if (logical >= kMaxBlocks) return error(Errno::eio);
    size_t within = (offset + done) % block_size;
    BlockRun run = TRY(map_block(volume, file, static_cast<uint32_t>(logical)));
    uint64_t run_bytes = uint64_t{run.length} * block_size - within;
    uint64_t take = run_bytes < left ? run_bytes : left;
    if (!run.mapped) {
      memset(buffer.data() + done, 0, take);
    } else {
      // One cached block at a time; the run says they are consecutive on the disk.
      for (uint64_t copied = 0; copied < take;) {
        uint64_t block_offset = (within + copied) / block_size;
        size_t in_block = (within + copied) % block_size;
        block::CachedBlock cached = TRY(volume.read_block(run.physical + block_offset));
        size_t chunk = block_size - in_block;
        if (chunk > take - copied) chunk = take - copied;
        memcpy(buffer.data() + done + copied, cached.data().data() + in_block, chunk);
        copied += chunk;
      }
    }
    done += take;
    left -= take;
  }
  return done;
}

Result<> read_file_pages(Volume& volume, const Inode& file, uint64_t first, std::span<std::byte* const> pages) {
  constexpr uint64_t kPage = 4096;
  uint32_t block_size = volume.block_size();
  if (block_size > kPage) {
    // Blocks larger than a page (not made on x86): through the block cache, page by page.
    for (size_t i = 0; i < pages.size(); i++) {
      size_t read = TRY(read_file_data(volume, file, (first + i) * kPage, {pages[i], kPage}));
      memset(pages[i] + read, 0, kPage - read);
    }
    return {};
  }
  uint32_t per_page = static_cast<uint32_t>(kPage / block_size);
  uint32_t sectors_per_block = block_size / block::kSectorSize;
  // At most one request per block; usually one per page or fewer runs.
  size_t capacity = pages.size() * per_page;
  auto* requests = new (kNoThrow) block::Request[capacity];
  if (!requests) return error(Errno::enomem);
  size_t count = 0;
  Result<> result;
  for (size_t i = 0; i < pages.size() && result; i++) {
    std::byte* page = pages[i];
    for (uint32_t k = 0; k < per_page;) {
      uint64_t logical = (first + i) * per_page + k;
      uint64_t at = logical * block_size;
      if (at >= file.size || logical >= kMaxBlocks) {
        memset(page + k * block_size, 0, size_t{per_page - k} * block_size);
        break;
      }
      auto run = map_block(volume, file, static_cast<uint32_t>(logical));
      if (!run) {
        result = error(run.error());
        break;
      }
      uint32_t take = run->length < per_page - k ? run->length : per_page - k;
      if (!run->mapped) {
        memset(page + k * block_size, 0, size_t{take} * block_size);
      } else if (!volume.blocks_valid(run->physical, take)) {
        volume.report("a file's extent points outside the file system", file.ino);
        result = error(Errno::eio);
        break;
      } else {
        block::Request& request = requests[count++];
        request.operation = block::Operation::read;
        request.sector = run->physical * sectors_per_block;
        request.sector_count = take * sectors_per_block;
        request.buffer = page + k * block_size;
      }
      k += take;
    }
  }
  if (result) result = block::transfer_all(volume.device(), {requests, count});
  delete[] requests;
  if (!result) return result;
  // The tail of the last page past the end of the file reads as zeros (the disk may hold junk).
  uint64_t end_page = (file.size + kPage - 1) / kPage;
  if (file.size % kPage && first + pages.size() >= end_page && end_page > first) {
    std::byte* last = pages[end_page - 1 - first];
    memset(last + file.size % kPage, 0, kPage - file.size % kPage);
  }
  return {};
}

Result<uint64_t> next_data_offset(Volume& volume, const Inode& file, uint64_t offset) {
  uint32_t block_size = volume.block_size();
  for (uint64_t at = offset; at < file.size;) {
    uint64_t logical = at / block_size;
    if (logical >= kMaxBlocks) break;
    BlockRun run = TRY(map_block(volume, file, static_cast<uint32_t>(logical)));
    if (run.mapped) return at;
    at = (logical + run.length) * block_size;
  }
  return error(Errno::enxio);
}

Result<uint64_t> next_hole_offset(Volume& volume, const Inode& file, uint64_t offset) {
  if (offset >= file.size) return error(Errno::enxio);
  uint32_t block_size = volume.block_size();
  for (uint64_t at = offset; at < file.size;) {
    uint64_t logical = at / block_size;
    if (logical >= kMaxBlocks) break;
    BlockRun run = TRY(map_block(volume, file, static_cast<uint32_t>(logical)));
    if (!run.mapped) return at;
    at = (logical + run.length) * block_size;
  }
  return file.size;
}

}  // namespace nimbus::fs::ext4
