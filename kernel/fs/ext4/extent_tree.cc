// Extent tree lookup: from the root in i_block down through index nodes to a leaf.
#include "kernel/fs/ext4/extent_tree.h"

#include "kernel/lib/crc32c.h"

namespace nimbus::fs::ext4 {
namespace {

struct NodeHeader {
  uint16_t entries;
  uint16_t max;
  uint16_t depth;
};

// Checks a node of `bytes` bytes; `depth` is what the parent expects (-1: the root, any).
const char* check_header(const std::byte* node, size_t bytes, int expected_depth, NodeHeader* header) {
  if (le16(node + extent::magic) != extent::kMagic) return "an extent node has a bad magic number";
  header->entries = le16(node + extent::entries);
  header->max = le16(node + extent::max);
  header->depth = le16(node + extent::depth);
  if (header->max == 0 || extent::kHeaderSize + size_t{header->max} * extent::kEntrySize > bytes)
    return "an extent node's capacity is out of range";
  if (header->entries > header->max) return "an extent node has more entries than room";
  if (header->depth > extent::kMaxDepth) return "an extent tree is too deep";
  if (expected_depth >= 0 && header->depth != expected_depth) return "an extent node has the wrong depth";
  return nullptr;
}

}  // namespace

Result<BlockRun> map_block(Volume& volume, const Inode& inode, uint32_t logical) {
  auto corrupt = [&](const char* why) -> std::unexpected<Errno> {
    volume.report(why, inode.ino);
    return error(Errno::eio);
  };
  if (!inode.has_extents()) return corrupt("a file without extents (block maps are not supported)");
  const Superblock& super = volume.super();
  const std::byte* node = inode.block;
  size_t node_bytes = sizeof(inode.block);
  block::CachedBlock holder;
  int expected_depth = -1;
  // Where the run found must end at the latest: the next entry's start in any level above.
  uint64_t limit = uint64_t{UINT32_MAX} + 1;
  for (int level = 0;; level++) {
    NodeHeader header;
    if (const char* problem = check_header(node, node_bytes, expected_depth, &header)) return corrupt(problem);
    if (level > extent::kMaxDepth) return corrupt("an extent tree is too deep");
    const std::byte* entries = node + extent::kHeaderSize;
    if (header.depth == 0) {
      uint64_t previous_end = 0;
      for (uint16_t i = 0; i < header.entries; i++) {
        const std::byte* entry = entries + size_t{i} * extent::kEntrySize;
        uint32_t start = le32(entry + extent::leaf_block);
        uint16_t raw_length = le16(entry + extent::leaf_len);
        bool unwritten = raw_length > extent::kMaxInitializedLength;
        uint32_t length = unwritten ? raw_length - extent::kMaxInitializedLength : raw_length;
        uint64_t physical = le32(entry + extent::leaf_start_lo) | uint64_t{le16(entry + extent::leaf_start_hi)} << 32;
        if (length == 0 || start < previous_end || uint64_t{start} + length > uint64_t{UINT32_MAX} + 1)
          return corrupt("an extent is empty, out of order or overlapping");
        if (!volume.blocks_valid(physical, length)) return corrupt("an extent points outside the file system");
        previous_end = uint64_t{start} + length;
        if (logical < start) {
          return BlockRun{0, static_cast<uint32_t>((start < limit ? start : limit) - logical), false};
        }
        if (logical < previous_end) {
          uint64_t end = previous_end < limit ? previous_end : limit;
          return BlockRun{physical + (logical - start), static_cast<uint32_t>(end - logical), !unwritten};
        }
      }
      uint64_t end = limit;
      if (end - logical > UINT32_MAX) end = logical + uint64_t{UINT32_MAX};
      return BlockRun{0, static_cast<uint32_t>(end - logical), false};
    }
    // An index node: the last entry whose first block is at or before `logical`.
    int chosen = -1;
    uint32_t previous = 0;
    for (uint16_t i = 0; i < header.entries; i++) {
      uint32_t first = le32(entries + size_t{i} * extent::kEntrySize + extent::index_block);
      if (i > 0 && first <= previous) return corrupt("extent index entries are out of order");
      previous = first;
      if (first <= logical) {
        chosen = i;
      } else {
        if (first < limit) limit = first;
        break;
      }
    }
    if (chosen < 0) {
      // Before the first subtree (or an empty index): a hole up to it.
      uint64_t end = header.entries ? le32(entries + extent::index_block) : limit;
      if (end > limit) end = limit;
      if (end <= logical) return corrupt("an extent index is inconsistent");
      return BlockRun{0, static_cast<uint32_t>(end - logical < UINT32_MAX ? end - logical : UINT32_MAX), false};
    }
    const std::byte* index = entries + size_t(chosen) * extent::kEntrySize;
    uint64_t child = le32(index + extent::index_leaf_lo) | uint64_t{le16(index + extent::index_leaf_hi)} << 32;
    auto cached = volume.read_block(child);
    if (!cached) {
      if (cached.error() == Errno::eio && !volume.blocks_valid(child, 1))
        return corrupt("an extent index points outside the file system");
      return error(cached.error());
    }
    holder = std::move(*cached);
    node = holder.data().data();
    node_bytes = super.block_size;
    expected_depth = header.depth - 1;
    NodeHeader child_header;
    if (const char* problem = check_header(node, node_bytes, expected_depth, &child_header)) return corrupt(problem);
    if (super.metadata_csum) {
      // ext4_extent_tail: right after the node's eh_max'th entry.
      size_t tail = extent::kHeaderSize + size_t{child_header.max} * extent::kEntrySize;
      if (tail + 4 > node_bytes) return corrupt("an extent block has no room for its checksum");
      if (crc32c(inode.csum_seed, node, tail) != le32(node + tail)) return corrupt("an extent block checksum does not match");
    }
  }
}

}  // namespace nimbus::fs::ext4
