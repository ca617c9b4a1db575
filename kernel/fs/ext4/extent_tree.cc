// Extent tree lookup: from the root in i_block down through index nodes to a leaf.
#include "kernel/fs/ext4/extent_tree.h"

#include <cstring>

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

// --- writing ---

namespace nimbus::fs::ext4 {
namespace {

constexpr uint32_t kRootCapacity = (inode::kBlockBytes - extent::kHeaderSize) / extent::kEntrySize;  // 4

uint32_t node_capacity(uint32_t block_size) {
  return static_cast<uint32_t>((block_size - extent::kHeaderSize) / extent::kEntrySize);
}

void put_header(std::byte* node, uint16_t entries, uint16_t max, uint16_t depth) {
  put16(node + extent::magic, extent::kMagic);
  put16(node + extent::entries, entries);
  put16(node + extent::max, max);
  put16(node + extent::depth, depth);
  put32(node + 8, 0);  // eh_generation
}

void put_leaf_entry(std::byte* entry, const Extent& e) {
  put32(entry + extent::leaf_block, e.logical);
  put16(entry + extent::leaf_len,
        static_cast<uint16_t>(e.unwritten ? e.length + extent::kMaxInitializedLength : e.length));
  put16(entry + extent::leaf_start_hi, static_cast<uint16_t>(e.physical >> 32));
  put32(entry + extent::leaf_start_lo, static_cast<uint32_t>(e.physical));
}

void put_index_entry(std::byte* entry, uint32_t first_logical, uint64_t child) {
  put32(entry + extent::index_block, first_logical);
  put32(entry + extent::index_leaf_lo, static_cast<uint32_t>(child));
  put16(entry + extent::index_leaf_hi, static_cast<uint16_t>(child >> 32));
  put16(entry + 10, 0);
}

// Walks one node (the root, or a tree block already checked) into the lists.
Result<> collect(Volume& volume, const Inode& inode, const std::byte* node, size_t bytes, int expected_depth,
                 int level, ExtentList& extents, BlockList& tree_blocks) {
  auto corrupt = [&](const char* why) -> std::unexpected<Errno> {
    volume.report(why, inode.ino);
    return error(Errno::eio);
  };
  NodeHeader header;
  if (const char* problem = check_header(node, bytes, expected_depth, &header)) return corrupt(problem);
  if (level > extent::kMaxDepth) return corrupt("an extent tree is too deep");
  const std::byte* entries = node + extent::kHeaderSize;
  for (uint16_t i = 0; i < header.entries; i++) {
    const std::byte* entry = entries + size_t{i} * extent::kEntrySize;
    if (header.depth == 0) {
      uint16_t raw_length = le16(entry + extent::leaf_len);
      Extent e;
      e.logical = le32(entry + extent::leaf_block);
      e.unwritten = raw_length > extent::kMaxInitializedLength;
      e.length = e.unwritten ? raw_length - extent::kMaxInitializedLength : raw_length;
      e.physical = le32(entry + extent::leaf_start_lo) | uint64_t{le16(entry + extent::leaf_start_hi)} << 32;
      if (e.length == 0 || e.logical_end() > uint64_t{UINT32_MAX} + 1 ||
          (!extents.empty() && e.logical < extents[extents.size() - 1].logical_end()))
        return corrupt("an extent is empty, out of order or overlapping");
      if (!volume.blocks_valid(e.physical, e.length)) return corrupt("an extent points outside the file system");
      TRY(extents.push_back(e));
      continue;
    }
    uint64_t child = le32(entry + extent::index_leaf_lo) | uint64_t{le16(entry + extent::index_leaf_hi)} << 32;
    if (!volume.blocks_valid(child, 1)) return corrupt("an extent index points outside the file system");
    block::CachedBlock cached = TRY(volume.read_block(child));
    const std::byte* data = cached.data().data();
    NodeHeader child_header;
    if (const char* problem = check_header(data, volume.block_size(), header.depth - 1, &child_header))
      return corrupt(problem);
    if (volume.super().metadata_csum) {
      size_t tail = extent::kHeaderSize + size_t{child_header.max} * extent::kEntrySize;
      if (tail + 4 > volume.block_size()) return corrupt("an extent block has no room for its checksum");
      if (crc32c(inode.csum_seed, data, tail) != le32(data + tail)) return corrupt("an extent block checksum does not match");
    }
    TRY(tree_blocks.push_back(child));
    TRY(collect(volume, inode, data, volume.block_size(), header.depth - 1, level + 1, extents, tree_blocks));
  }
  return {};
}

// Inserts `e` at `index`, shifting the rest.
Result<> insert_at(ExtentList& extents, size_t index, const Extent& e) {
  TRY(extents.push_back(e));
  for (size_t i = extents.size() - 1; i > index; i--) extents[i] = extents[i - 1];
  extents[index] = e;
  return {};
}

void erase_at(ExtentList& extents, size_t index) {
  for (size_t i = index; i + 1 < extents.size(); i++) extents[i] = extents[i + 1];
  extents.truncate(extents.size() - 1);
}

bool can_merge(const Extent& a, const Extent& b) {
  return a.logical_end() == b.logical && a.physical + a.length == b.physical && a.unwritten == b.unwritten &&
         a.length + b.length <= (a.unwritten ? extent::kMaxInitializedLength - 1u : extent::kMaxInitializedLength);
}

}  // namespace

Result<> read_extents(Volume& volume, const Inode& inode, ExtentList& extents, BlockList& tree_blocks) {
  if (!inode.has_extents()) {
    volume.report("a file without extents (block maps are not supported)", inode.ino);
    return error(Errno::eio);
  }
  return collect(volume, inode, inode.block, sizeof(inode.block), -1, 0, extents, tree_blocks);
}

Result<> unmap_range(ExtentList& extents, uint32_t logical, uint64_t end, ReleaseRun release, void* context) {
  // Cut every extent overlapping [logical, end) down to the parts outside it.
  for (size_t i = 0; i < extents.size();) {
    Extent e = extents[i];
    if (e.logical_end() <= logical || e.logical >= end) {
      i++;
      continue;
    }
    erase_at(extents, i);
    if (e.logical < logical) {
      Extent head = e;
      head.length = logical - e.logical;
      TRY(insert_at(extents, i++, head));
    }
    if (e.logical_end() > end) {
      Extent tail = e;
      tail.logical = static_cast<uint32_t>(end);
      tail.physical = e.physical + (end - e.logical);
      tail.length = static_cast<uint32_t>(e.logical_end() - end);
      TRY(insert_at(extents, i++, tail));
    }
    if (release) {
      uint64_t from = e.logical < logical ? logical : e.logical;
      uint64_t to = e.logical_end() < end ? e.logical_end() : end;
      TRY(release(context, e.physical + (from - e.logical), static_cast<uint32_t>(to - from)));
    }
  }
  return {};
}

Result<> set_mapping(ExtentList& extents, uint32_t logical, uint32_t length, uint64_t physical, bool unwritten) {
  uint64_t end = uint64_t{logical} + length;
  TRY(unmap_range(extents, logical, end, nullptr, nullptr));
  size_t at = 0;
  while (at < extents.size() && extents[at].logical < logical) at++;
  // Added in pieces no longer than an extent can be.
  for (uint32_t done = 0; done < length;) {
    uint32_t most = unwritten ? extent::kMaxInitializedLength - 1u : extent::kMaxInitializedLength;
    uint32_t piece = length - done < most ? length - done : most;
    Extent e{logical + done, piece, physical + done, unwritten};
    if (at > 0 && can_merge(extents[at - 1], e)) {
      extents[at - 1].length += piece;
    } else {
      TRY(insert_at(extents, at++, e));
    }
    done += piece;
  }
  if (at > 0 && at < extents.size() && can_merge(extents[at - 1], extents[at])) {
    extents[at - 1].length += extents[at].length;
    erase_at(extents, at);
  }
  return {};
}

Result<> unmap_from(ExtentList& extents, uint32_t from, ReleaseRun release, void* context) {
  size_t keep = extents.size();
  for (size_t i = 0; i < extents.size(); i++) {
    Extent& e = extents[i];
    if (e.logical_end() <= from) continue;
    if (e.logical < from) {
      uint32_t kept = from - e.logical;
      TRY(release(context, e.physical + kept, e.length - kept));
      e.length = kept;
      continue;
    }
    if (keep == extents.size()) keep = i;
    TRY(release(context, e.physical, e.length));
  }
  extents.truncate(keep);
  return {};
}

Result<> write_extents(Volume& volume, Inode& inode, const ExtentList& extents, BlockList& tree_blocks) {
  uint32_t block_size = volume.block_size();
  uint32_t capacity = node_capacity(block_size);
  uint64_t sectors_per_block = block_size / 512;
  // Levels from the leaves up: how many nodes each needs, until the root holds the top.
  size_t counts[extent::kMaxDepth + 1] = {};
  uint16_t depth = 0;
  size_t entries = extents.size();
  while (entries > kRootCapacity) {
    if (depth == extent::kMaxDepth) return error(Errno::efbig);
    entries = (entries + capacity - 1) / capacity;
    counts[depth++] = entries;
  }
  size_t needed = 0;
  for (uint16_t level = 0; level < depth; level++) needed += counts[level];
  // Reuse the old tree's blocks; allocate the missing ones near them (or the data); free the
  // rest.
  while (tree_blocks.size() < needed) {
    uint64_t goal = !tree_blocks.empty() ? tree_blocks[tree_blocks.size() - 1] + 1
                    : !extents.empty()   ? extents[0].physical
                                         : 0;
    uint32_t got = 0;
    uint64_t block = TRY(volume.allocate_blocks(goal, 1, &got));
    TRY(tree_blocks.push_back(block));
    inode.sectors += sectors_per_block;
  }
  while (tree_blocks.size() > needed) {
    TRY(volume.free_blocks(tree_blocks[tree_blocks.size() - 1], 1));
    tree_blocks.truncate(tree_blocks.size() - 1);
    inode.sectors -= sectors_per_block;
  }

  // Each level's nodes, filled in order: level 0 the leaves (from `extents`), level k the
  // index nodes over level k-1. `firsts` holds each node's first logical block.
  size_t block_index = 0;
  GrowableArray<uint32_t> firsts, next_firsts;
  GrowableArray<uint64_t> nodes, next_nodes;
  size_t items = extents.size();
  for (uint16_t level = 0; level < depth; level++) {
    next_firsts.clear();
    next_nodes.clear();
    for (size_t node = 0; node < counts[level]; node++) {
      uint64_t number = tree_blocks[block_index++];
      block::CachedBlock cached = TRY(volume.new_block(number));
      std::byte* data = cached.mutable_data().data();
      size_t first = node * capacity;
      size_t count = items - first < capacity ? items - first : capacity;
      put_header(data, static_cast<uint16_t>(count), static_cast<uint16_t>(capacity), level);
      for (size_t i = 0; i < count; i++) {
        std::byte* entry = data + extent::kHeaderSize + i * extent::kEntrySize;
        if (level == 0) {
          put_leaf_entry(entry, extents[first + i]);
        } else {
          put_index_entry(entry, firsts[first + i], nodes[first + i]);
        }
      }
      if (volume.super().metadata_csum) {
        size_t tail = extent::kHeaderSize + size_t{capacity} * extent::kEntrySize;
        put32(data + tail, crc32c(inode.csum_seed, data, tail));
      }
      cached.mark_dirty();
      TRY(next_firsts.push_back(level == 0 ? extents[first].logical : firsts[first]));
      TRY(next_nodes.push_back(number));
    }
    firsts.clear();
    nodes.clear();
    for (size_t i = 0; i < next_firsts.size(); i++) {
      TRY(firsts.push_back(next_firsts[i]));
      TRY(nodes.push_back(next_nodes[i]));
    }
    items = counts[level];
  }

  // The root, in i_block.
  memset(inode.block, 0, sizeof(inode.block));
  put_header(inode.block, static_cast<uint16_t>(depth == 0 ? extents.size() : items), kRootCapacity, depth);
  for (size_t i = 0; i < (depth == 0 ? extents.size() : items); i++) {
    std::byte* entry = inode.block + extent::kHeaderSize + i * extent::kEntrySize;
    if (depth == 0) {
      put_leaf_entry(entry, extents[i]);
    } else {
      put_index_entry(entry, firsts[i], nodes[i]);
    }
  }
  inode.flags |= inode::kFlagExtents;
  return {};
}

size_t extent_position(const ExtentList& extents, uint64_t logical) {
  size_t low = 0, high = extents.size();
  while (low < high) {
    size_t middle = (low + high) / 2;
    if (extents[middle].logical_end() <= logical) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  return low;
}

}  // namespace nimbus::fs::ext4
