// Volume: a mounted ext4 file system's metadata access: the checked superblock and group
// descriptors, inodes by number, and blocks through the block cache. Read-only.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/block/block_cache.h"
#include "kernel/block/block_device.h"
#include "kernel/fs/ext4/inode.h"
#include "kernel/fs/ext4/superblock.h"
#include "kernel/lib/result.h"

namespace nimbus::fs::ext4 {

// Where corruption found after mount is reported (the kernel prints it); none by default.
using ProblemLogger = void (*)(const char* device, uint32_t ino, const char* problem);
void set_problem_logger(ProblemLogger logger);

class Volume {
 public:
  // How much the block cache holds, in bytes.
  static constexpr size_t kCacheBytes = 4 << 20;

  // Reads and checks the superblock and every group descriptor. On failure `*problem` says
  // why (see parse_superblock for the errors).
  static Result<Volume*> try_open(block::BlockDevice& device, const char** problem);
  ~Volume();
  Volume(const Volume&) = delete;
  Volume& operator=(const Volume&) = delete;

  const Superblock& super() const { return m_super; }
  uint32_t block_size() const { return m_super.block_size; }
  block::BlockCache& cache() { return *m_cache; }
  // The disk itself, for file data read straight into page-cache pages.
  block::BlockDevice& device() { return m_device; }

  // Inode `ino`, checked. EIO (with the reason logged once per call) when it is out of
  // range, in an uninitialized part of its group's table, unused, or corrupt.
  Result<Inode> read_inode(uint32_t ino);
  // File system block `number`, which must lie after the superblock and inside the file
  // system (EIO otherwise: a corrupt pointer).
  Result<block::CachedBlock> read_block(uint64_t number);
  // Whether `count` blocks from `first` lie inside the file system's data area.
  bool blocks_valid(uint64_t first, uint64_t count) const {
    return first > m_super.first_data_block && first < m_super.block_count && count <= m_super.block_count - first;
  }
  // Notes a corruption found while reading (kept for tests, and logged).
  void report(const char* problem, uint32_t ino);
  const char* last_problem() const { return m_last_problem; }
  uint64_t problems() const { return m_problem_count; }

 private:
  Volume(block::BlockDevice& device, const Superblock& super) : m_device(device), m_super(super) {}
  // Reads and checks every group descriptor into m_groups.
  Result<> load_group_descriptors(const char** problem);

  block::BlockDevice& m_device;
  Superblock m_super;
  GroupDescriptor* m_groups = nullptr;
  block::BlockCache* m_cache = nullptr;
  const char* m_last_problem = nullptr;
  uint64_t m_problem_count = 0;
};

}  // namespace nimbus::fs::ext4
