// File data: logical blocks mapped by the extent tree, copied out of cached blocks.
#include "kernel/fs/ext4/file_data.h"

#include <cstring>

#include "kernel/fs/ext4/extent_tree.h"

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
