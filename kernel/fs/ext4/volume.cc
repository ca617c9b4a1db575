// Volume: mounting (superblock, descriptors) and inode lookup by number.
#include "kernel/fs/ext4/volume.h"

#include <new>

#include "kernel/block/block_io.h"
#include "kernel/fs/ext4/journal.h"
#include "kernel/fs/linux_abi.h"
#include "kernel/lib/ref_ptr.h"

namespace nimbus::fs::ext4 {
namespace {

ProblemLogger g_logger = nullptr;

std::unexpected<Errno> fail(const char** problem, const char* why, Errno code) {
  *problem = why;
  return error(code);
}

bool known_type(uint16_t mode) {
  switch (mode & linux_abi::s_ifmt) {
    case linux_abi::s_ifreg:
    case linux_abi::s_ifdir:
    case linux_abi::s_iflnk:
    case linux_abi::s_ifchr:
    case linux_abi::s_ifblk:
    case linux_abi::s_ififo:
    case linux_abi::s_ifsock: return true;
    default: return false;
  }
}

}  // namespace

void set_problem_logger(ProblemLogger logger) { g_logger = logger; }

Result<Volume*> Volume::try_open(block::BlockDevice& device, const char** problem) {
  Volume* volume = TRY(open_plain(device, problem));
  if (!volume->m_super.has_journal) return volume;
  auto journal = Journal::open(*volume, problem);
  if (!journal) {
    delete volume;
    return error(journal.error());
  }
  bool recover = volume->m_super.incompat & feature::kIncompatRecover;
  if (!recover && !(*journal)->has_log()) {
    volume->m_journal = *journal;
    return volume;
  }
  if (device.info().read_only) {
    delete *journal;
    delete volume;
    return fail(problem, "the journal needs recovery but the device is read-only", Errno::erofs);
  }
  // Linux replays only when the file system says so, and otherwise discards a log.
  Result<uint32_t> replayed = recover ? (*journal)->recover(problem) : Result<uint32_t>(0);
  if (replayed && !recover) {
    if (auto wiped = (*journal)->wipe(); !wiped) {
      *problem = "the journal cannot be emptied";
      replayed = error(wiped.error());
    }
  }
  delete *journal;
  delete volume;
  if (!replayed) return error(replayed.error());
  // The replayed blocks may include the superblock and descriptors: read everything again.
  volume = TRY(open_plain(device, problem));
  journal = Journal::open(*volume, problem);
  if (!journal) {
    delete volume;
    return error(journal.error());
  }
  volume->m_journal = *journal;
  volume->m_replayed = *replayed;
  if (auto cleared = volume->set_needs_recovery(false); !cleared) {
    delete volume;
    return fail(problem, "the superblock cannot be written after journal recovery", cleared.error());
  }
  return volume;
}

Result<Volume*> Volume::open_plain(block::BlockDevice& device, const char** problem) {
  const block::DeviceInfo& info = device.info();
  if (info.sector_count < (sb::kOffset + sb::kSize) / block::kSectorSize)
    return fail(problem, "the device is too small for ext4", Errno::einval);
  auto* raw = new (kNoThrow) std::byte[sb::kSize];
  if (!raw) return fail(problem, "out of memory", Errno::enomem);
  Result<> read = block::transfer(device, block::Operation::read, sb::kOffset / block::kSectorSize,
                                  sb::kSize / block::kSectorSize, {raw, sb::kSize});
  if (!read) {
    delete[] raw;
    return fail(problem, "the superblock cannot be read", read.error());
  }
  Result<Superblock> parsed = parse_superblock({raw, sb::kSize}, info.sector_count * block::kSectorSize, problem);
  delete[] raw;
  if (!parsed) return error(parsed.error());
  if (parsed->block_size % info.logical_block_size)
    return fail(problem, "the block size is smaller than the device's", Errno::einval);

  auto* volume = new (kNoThrow) Volume(device, *parsed);
  if (!volume) return fail(problem, "out of memory", Errno::enomem);
  const Superblock& super = volume->m_super;
  size_t capacity = kCacheBytes / super.block_size < 16 ? 16 : kCacheBytes / super.block_size;
  volume->m_cache = new (kNoThrow) block::BlockCache(device, super.block_size, capacity);
  volume->m_groups = new (kNoThrow) GroupDescriptor[super.group_count];
  if (!volume->m_cache || !volume->m_groups) {
    delete volume;
    return fail(problem, "out of memory", Errno::enomem);
  }
  if (auto loaded = volume->load_group_descriptors(problem); !loaded) {
    delete volume;  // after the descriptor blocks' handles are gone: they unpin into the cache
    return error(loaded.error());
  }
  return volume;
}

Result<> Volume::load_group_descriptors(const char** problem) {
  uint32_t per_block = m_super.block_size / m_super.desc_size;
  for (uint32_t group = 0; group < m_super.group_count; group++) {
    uint64_t block = descriptor_table_block(m_super) + group / per_block;
    auto cached = m_cache->get(block);
    if (!cached) return fail(problem, "a group descriptor block cannot be read", cached.error());
    size_t offset = size_t{group % per_block} * m_super.desc_size;
    m_groups[group] = TRY(parse_group_descriptor(m_super, group, cached->data().subspan(offset, m_super.desc_size), problem));
  }
  // The superblock's free counts are only a hint (Linux writes them lazily); the descriptors'
  // sums are the truth, as Linux's percpu counters start from them.
  uint64_t free_blocks = 0, free_inodes = 0;
  for (uint32_t group = 0; group < m_super.group_count; group++) {
    free_blocks += m_groups[group].free_blocks;
    free_inodes += m_groups[group].free_inodes;
  }
  if (free_blocks > m_super.block_count || free_inodes > m_super.inode_count)
    return fail(problem, "the group descriptors' free counts are out of range", Errno::einval);
  m_super_dirty = free_blocks != m_super.free_blocks || free_inodes != m_super.free_inodes;
  m_super.free_blocks = free_blocks;
  m_super.free_inodes = static_cast<uint32_t>(free_inodes);
  return {};
}

Volume::~Volume() {
  delete m_journal;
  delete m_cache;
  delete[] m_groups;
}

void Volume::report(const char* problem, uint32_t ino) {
  m_last_problem = problem;
  m_problem_count++;
  if (g_logger) g_logger(m_device.name(), ino, problem);
}

Result<block::CachedBlock> Volume::read_block(uint64_t number) {
  if (!blocks_valid(number, 1)) return error(Errno::eio);
  return m_cache->get(number);
}

Result<Inode> Volume::read_inode(uint32_t ino) {
  const char* problem = nullptr;
  auto fail_inode = [&](const char* why, Errno code = Errno::eio) -> std::unexpected<Errno> {
    report(why, ino);
    return error(code);
  };
  if (ino == 0 || ino > m_super.inode_count) return fail_inode("an inode number is out of range");
  uint32_t group = (ino - 1) / m_super.inodes_per_group;
  uint32_t index = (ino - 1) % m_super.inodes_per_group;
  const GroupDescriptor& descriptor = m_groups[group];
  bool lazy_table = m_super.metadata_csum || m_super.gdt_csum;
  if (lazy_table && ((descriptor.flags & gd::kFlagInodeUninit) ||
                     index >= m_super.inodes_per_group - descriptor.itable_unused))
    return fail_inode("an inode in an uninitialized part of its group is referenced");
  uint64_t offset = uint64_t{index} * m_super.inode_size;
  auto cached = m_cache->get(descriptor.inode_table + offset / m_super.block_size);
  if (!cached) return error(cached.error());
  Result<Inode> parsed = parse_inode(m_super, ino, cached->data().subspan(offset % m_super.block_size, m_super.inode_size),
                                     &problem);
  if (!parsed) return fail_inode(problem);
  if (parsed->links == 0 || !known_type(parsed->mode)) return fail_inode("a deleted or unknown inode is referenced");
  if (parsed->flags & (inode::kFlagInlineData | inode::kFlagEncrypt)) return fail_inode("inline or encrypted data");
  return parsed;
}

Result<block::CachedBlock> Volume::inode_table_block(uint32_t ino, size_t* offset) {
  if (ino == 0 || ino > m_super.inode_count) return error(Errno::eio);
  uint32_t group = (ino - 1) / m_super.inodes_per_group;
  uint64_t byte = uint64_t{(ino - 1) % m_super.inodes_per_group} * m_super.inode_size;
  *offset = byte % m_super.block_size;
  return m_cache->get(m_groups[group].inode_table + byte / m_super.block_size);
}

}  // namespace nimbus::fs::ext4
