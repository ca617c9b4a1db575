// Volume's writing half: blocks and inodes taken from and returned to the group bitmaps,
// with the group descriptors' and superblock's counts and every checksum kept right, and
// inodes stored back into the inode table.
#include <cstring>

#include "kernel/fs/ext4/ext4_format.h"
#include "kernel/block/block_io.h"
#include "kernel/fs/ext4/journal.h"
#include "kernel/fs/ext4/volume.h"
#include "kernel/lib/crc32c.h"

namespace nimbus::fs::ext4 {
namespace {

bool bit(const std::byte* bitmap, uint32_t index) { return (u8(bitmap + index / 8) >> (index % 8)) & 1; }
void set_bit(std::byte* bitmap, uint32_t index) { bitmap[index / 8] |= std::byte(1u << (index % 8)); }
void clear_bit(std::byte* bitmap, uint32_t index) { bitmap[index / 8] &= ~std::byte(1u << (index % 8)); }

// ext4_mark_bitmap_end: the bits past a group's last block or inode, up to the end of the
// bitmap block, are set (e2fsck checks the padding).
void mark_padding(std::byte* bitmap, uint32_t from, uint32_t block_size) {
  for (uint32_t i = from; i < block_size * 8; i++) set_bit(bitmap, i);
}

}  // namespace

Result<block::CachedBlock> Volume::write_block(uint64_t number) {
  if (!m_writable) return error(Errno::erofs);
  return read_block(number);
}

Result<block::CachedBlock> Volume::new_block(uint64_t number) {
  if (!m_writable) return error(Errno::erofs);
  if (!blocks_valid(number, 1)) return error(Errno::eio);
  return m_cache->get_zeroed(number);
}

Result<block::CachedBlock> Volume::new_data_block(uint64_t number) {
  if (!m_writable) return error(Errno::erofs);
  if (!blocks_valid(number, 1)) return error(Errno::eio);
  return m_cache->get_zeroed(number, true);
}

Result<> Volume::write_inode(const Inode& node, uint32_t deleted_at) {
  if (!m_writable) return error(Errno::erofs);
  if (node.ino == 0 || node.ino > m_super.inode_count) return error(Errno::eio);
  uint32_t group = (node.ino - 1) / m_super.inodes_per_group;
  uint64_t offset = uint64_t{(node.ino - 1) % m_super.inodes_per_group} * m_super.inode_size;
  block::CachedBlock cached = TRY(m_cache->get(m_groups[group].inode_table + offset / m_super.block_size));
  store_inode(m_super, node, cached.mutable_data().subspan(offset % m_super.block_size, m_super.inode_size), deleted_at);
  cached.mark_dirty();
  return {};
}

uint32_t Volume::bitmap_checksum(const std::byte* bitmap, uint32_t bits) const {
  return crc32c(m_super.csum_seed, bitmap, bits / 8);
}

uint32_t Volume::blocks_in_group(uint32_t group) const {
  uint64_t first = m_super.first_data_block + uint64_t{group} * m_super.blocks_per_group;
  uint64_t left = m_super.block_count - first;
  return left < m_super.blocks_per_group ? static_cast<uint32_t>(left) : m_super.blocks_per_group;
}

Result<> Volume::store_descriptor(uint32_t group) {
  uint32_t per_block = m_super.block_size / m_super.desc_size;
  block::CachedBlock cached = TRY(m_cache->get(descriptor_table_block(m_super) + group / per_block));
  size_t offset = size_t{group % per_block} * m_super.desc_size;
  store_group_descriptor(m_super, group, m_groups[group], cached.mutable_data().subspan(offset, m_super.desc_size));
  cached.mark_dirty();
  m_super_dirty = true;
  return {};
}

void Volume::mark_group_metadata(uint32_t group, std::byte* bitmap) {
  uint64_t first = m_super.first_data_block + uint64_t{group} * m_super.blocks_per_group;
  uint64_t end = first + blocks_in_group(group);
  auto mark = [&](uint64_t block, uint64_t count) {
    for (uint64_t b = block; b < block + count; b++)
      if (b >= first && b < end) set_bit(bitmap, static_cast<uint32_t>(b - first));
  };
  if (group_has_super(m_super, group))
    mark(first, 1 + descriptor_table_blocks(m_super) + m_super.reserved_gdt_blocks);
  uint64_t table_blocks = (uint64_t{m_super.inodes_per_group} * m_super.inode_size + m_super.block_size - 1) /
                          m_super.block_size;
  for (uint32_t g = 0; g < m_super.group_count; g++) {
    mark(m_groups[g].block_bitmap, 1);
    mark(m_groups[g].inode_bitmap, 1);
    mark(m_groups[g].inode_table, table_blocks);
  }
  mark_padding(bitmap, blocks_in_group(group), m_super.block_size);
}

Result<block::CachedBlock> Volume::block_bitmap(uint32_t group) {
  GroupDescriptor& descriptor = m_groups[group];
  if (!(descriptor.flags & gd::kFlagBlockUninit)) return read_block(descriptor.block_bitmap);
  block::CachedBlock cached = TRY(new_block(descriptor.block_bitmap));
  mark_group_metadata(group, cached.mutable_data().data());
  descriptor.flags &= ~gd::kFlagBlockUninit;
  descriptor.block_bitmap_csum = bitmap_checksum(cached.data().data(), m_super.blocks_per_group);
  TRY(store_descriptor(group));
  return cached;
}

Result<block::CachedBlock> Volume::inode_bitmap(uint32_t group) {
  GroupDescriptor& descriptor = m_groups[group];
  if (!(descriptor.flags & gd::kFlagInodeUninit)) return read_block(descriptor.inode_bitmap);
  block::CachedBlock cached = TRY(new_block(descriptor.inode_bitmap));
  mark_padding(cached.mutable_data().data(), m_super.inodes_per_group, m_super.block_size);
  descriptor.flags &= ~gd::kFlagInodeUninit;
  descriptor.itable_unused = m_super.inodes_per_group;
  descriptor.inode_bitmap_csum = bitmap_checksum(cached.data().data(), m_super.inodes_per_group);
  TRY(store_descriptor(group));
  return cached;
}

Result<uint64_t> Volume::allocate_in_group(uint32_t group, uint32_t from, uint32_t wanted, uint32_t* got) {
  GroupDescriptor& descriptor = m_groups[group];
  if (descriptor.free_blocks == 0) return error(Errno::enospc);
  block::CachedBlock bitmap = TRY(block_bitmap(group));
  std::byte* bits = bitmap.mutable_data().data();
  uint32_t count = blocks_in_group(group);
  uint32_t start = from;
  while (start < count && bit(bits, start)) {
    // Whole used bytes at a time.
    if (start % 8 == 0 && u8(bits + start / 8) == 0xff) {
      start += 8;
    } else {
      start++;
    }
  }
  if (start >= count) return error(Errno::enospc);
  uint32_t length = 0;
  while (length < wanted && start + length < count && !bit(bits, start + length)) {
    set_bit(bits, start + length);
    length++;
  }
  descriptor.block_bitmap_csum = bitmap_checksum(bits, m_super.blocks_per_group);
  bitmap.mark_dirty();
  descriptor.free_blocks -= length;
  m_super.free_blocks -= length;
  TRY(store_descriptor(group));
  *got = length;
  return m_super.first_data_block + uint64_t{group} * m_super.blocks_per_group + start;
}

Result<uint64_t> Volume::allocate_blocks(uint64_t goal, uint32_t wanted, uint32_t* got) {
  if (!m_writable) return error(Errno::erofs);
  if (m_super.free_blocks == 0 || wanted == 0) return error(Errno::enospc);
  if (goal <= m_super.first_data_block || goal >= m_super.block_count) goal = m_super.first_data_block + 1;
  uint32_t goal_group = static_cast<uint32_t>((goal - m_super.first_data_block) / m_super.blocks_per_group);
  uint32_t goal_bit = static_cast<uint32_t>((goal - m_super.first_data_block) % m_super.blocks_per_group);
  // The goal's group from the goal on, then every group from its start, wrapping around.
  auto first = allocate_in_group(goal_group, goal_bit, wanted, got);
  if (first || first.error() != Errno::enospc) return first;
  for (uint32_t i = 0; i <= m_super.group_count; i++) {
    uint32_t group = (goal_group + i) % m_super.group_count;
    auto found = allocate_in_group(group, 0, wanted, got);
    if (found || found.error() != Errno::enospc) return found;
  }
  return error(Errno::enospc);
}

Result<> Volume::free_blocks(uint64_t first, uint64_t count) {
  if (!m_writable) return error(Errno::erofs);
  if (!blocks_valid(first, count)) {
    report("freeing blocks outside the file system", 0);
    return error(Errno::eio);
  }
  while (count) {
    uint32_t group = static_cast<uint32_t>((first - m_super.first_data_block) / m_super.blocks_per_group);
    uint32_t index = static_cast<uint32_t>((first - m_super.first_data_block) % m_super.blocks_per_group);
    uint64_t here = blocks_in_group(group) - index;
    if (here > count) here = count;
    block::CachedBlock bitmap = TRY(block_bitmap(group));
    std::byte* bits = bitmap.mutable_data().data();
    uint32_t freed = 0;
    for (uint32_t i = 0; i < here; i++) {
      if (!bit(bits, index + i)) continue;  // already free: a corruption, not made worse
      clear_bit(bits, index + i);
      freed++;
    }
    if (freed != here) report("freeing blocks that are already free", 0);
    GroupDescriptor& descriptor = m_groups[group];
    descriptor.block_bitmap_csum = bitmap_checksum(bits, m_super.blocks_per_group);
    bitmap.mark_dirty();
    descriptor.free_blocks += freed;
    m_super.free_blocks += freed;
    TRY(store_descriptor(group));
    for (uint32_t i = 0; i < here; i++) m_cache->forget(first + i);
    first += here;
    count -= here;
  }
  return {};
}

Result<Inode> Volume::allocate_inode(uint32_t parent, bool directory, int64_t now_ns) {
  if (!m_writable) return error(Errno::erofs);
  if (m_super.free_inodes == 0) return error(Errno::enospc);
  uint32_t parent_group = parent ? (parent - 1) / m_super.inodes_per_group : 0;
  for (uint32_t i = 0; i < m_super.group_count; i++) {
    uint32_t group = (parent_group + i) % m_super.group_count;
    GroupDescriptor& descriptor = m_groups[group];
    if (descriptor.free_inodes == 0) continue;
    block::CachedBlock bitmap = TRY(inode_bitmap(group));
    std::byte* bits = bitmap.mutable_data().data();
    // Group 0's first inodes are reserved (the root, the journal, ...).
    uint32_t start = group == 0 ? m_super.first_ino - 1 : 0;
    uint32_t index = start;
    while (index < m_super.inodes_per_group && bit(bits, index)) index++;
    if (index >= m_super.inodes_per_group) continue;
    set_bit(bits, index);
    descriptor.inode_bitmap_csum = bitmap_checksum(bits, m_super.inodes_per_group);
    bitmap.mark_dirty();
    descriptor.free_inodes--;
    if (directory) descriptor.used_dirs++;
    if (m_super.inodes_per_group - descriptor.itable_unused <= index)
      descriptor.itable_unused = m_super.inodes_per_group - index - 1;
    m_super.free_inodes--;
    TRY(store_descriptor(group));

    Inode node;
    node.ino = group * m_super.inodes_per_group + index + 1;
    // A new generation per use of the number (NFS handles; the checksum seed includes it).
    node.generation = static_cast<uint32_t>(now_ns) ^ static_cast<uint32_t>(now_ns >> 32) ^ (node.ino * 2654435761u);
    node.csum_seed = m_super.metadata_csum ? inode_csum_seed(m_super, node.ino, node.generation) : 0;
    if (m_super.inode_size > inode::kGoodOldSize) {
      uint32_t room = m_super.inode_size - inode::kGoodOldSize;
      node.extra_isize = static_cast<uint16_t>(room < inode::kWantExtraIsize ? room : inode::kWantExtraIsize);
    }
    // The table slot may hold anything (lazy inode table initialization): start from zeros.
    uint64_t offset = uint64_t{index} * m_super.inode_size;
    block::CachedBlock table = TRY(m_cache->get(descriptor.inode_table + offset / m_super.block_size));
    memset(table.mutable_data().data() + offset % m_super.block_size, 0, m_super.inode_size);
    table.mark_dirty();
    return node;
  }
  return error(Errno::enospc);
}

Result<> Volume::free_inode(uint32_t ino, bool directory) {
  if (!m_writable) return error(Errno::erofs);
  if (ino < m_super.first_ino || ino > m_super.inode_count) return error(Errno::eio);
  uint32_t group = (ino - 1) / m_super.inodes_per_group;
  uint32_t index = (ino - 1) % m_super.inodes_per_group;
  block::CachedBlock bitmap = TRY(inode_bitmap(group));
  std::byte* bits = bitmap.mutable_data().data();
  if (!bit(bits, index)) {
    report("freeing an inode that is already free", ino);
    return error(Errno::eio);
  }
  clear_bit(bits, index);
  GroupDescriptor& descriptor = m_groups[group];
  descriptor.inode_bitmap_csum = bitmap_checksum(bits, m_super.inodes_per_group);
  bitmap.mark_dirty();
  descriptor.free_inodes++;
  if (directory && descriptor.used_dirs) descriptor.used_dirs--;
  m_super.free_inodes++;
  return store_descriptor(group);
}

Result<> Volume::set_needs_recovery(bool recover) {
  uint64_t number = sb::kOffset / m_super.block_size;
  block::CachedBlock cached = TRY(m_cache->get(number));
  store_recover_flag(m_super, cached.mutable_data().subspan(sb::kOffset % m_super.block_size, sb::kSize), recover);
  // Written in place at once, outside the journal: the flag says whether the journal is to
  // be read. The cached copy now matches the disk, or was dirty already (newer counts) and
  // stays so; marking it dirty here would make an idle file system commit again.
  uint32_t sectors = m_super.block_size / block::kSectorSize;
  TRY(block::transfer(m_device, block::Operation::write, number * sectors, sectors, cached.mutable_data()));
  if (m_device.info().flush) TRY(block::transfer(m_device, block::Operation::flush, 0, 0));
  if (recover) {
    m_super.incompat |= feature::kIncompatRecover;
  } else {
    m_super.incompat &= ~feature::kIncompatRecover;
  }
  m_marked_recovering = recover;
  return {};
}

Result<> Volume::close(int64_t now_ns) {
  if (!m_writable) return {};
  TRY(sync(block::BlockCache::Durability::flushed, now_ns));
  if (!m_journal) return {};
  TRY(m_journal->wipe());
  return set_needs_recovery(false);
}

Result<> Volume::write_back_file_data() {
  if (m_file_data_writer) TRY(m_file_data_writer->write_dirty_file_data());
  return m_cache->write_back(block::BlockCache::Durability::written, block::BlockCache::Which::data);
}

Result<> Volume::sync(block::BlockCache::Durability durability, int64_t now_ns) {
  if (!m_writable) return {};
  bool dirty_pages = m_file_data_writer && m_file_data_writer->has_dirty_file_data();
  if (m_journal) {
    // Every commit flushes: with nothing changed, everything is durable already.
    if (!m_super_dirty && m_cache->dirty_count() == 0 && !dirty_pages) return {};
    // The first commit after a clean close marks the file system as journaled again.
    if (!m_marked_recovering) TRY(set_needs_recovery(true));
  }
  if (m_super_dirty) {
    // The superblock is 1024 bytes at byte 1024: in block 0 (or block 1 with 1 KiB blocks).
    uint64_t number = sb::kOffset / m_super.block_size;
    block::CachedBlock cached = TRY(m_cache->get(number));
    size_t offset = sb::kOffset % m_super.block_size;
    store_superblock(m_super, cached.mutable_data().subspan(offset, sb::kSize), now_ns / 1'000'000'000);
    cached.mark_dirty();
    m_super_dirty = false;
  }
  if (m_journal) return m_journal->commit(now_ns);
  if (dirty_pages) TRY(m_file_data_writer->write_dirty_file_data());
  return m_cache->write_back(durability);
}

}  // namespace nimbus::fs::ext4
