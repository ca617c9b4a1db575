// Directory blocks: entry validation, leaf checksums, the linear scan and the htree
// (dx_root / dx_node) descent with Linux's hash-collision continuation.
#include "kernel/fs/ext4/directory.h"

#include <atomic>

#include "kernel/fs/ext4/dx_hash.h"
#include "kernel/fs/ext4/extent_tree.h"
#include "kernel/lib/crc32c.h"

namespace nimbus::fs::ext4 {
namespace {

std::atomic<uint64_t> g_hashed{0}, g_linear{0};

// EXT4_DIR_REC_LEN: the smallest record holding a name of `length` bytes.
size_t record_length(size_t name_length) { return (dir::kHeaderSize + name_length + 3) & ~size_t{3}; }

// ext4_rec_len_from_disk: 64 KiB blocks store a whole-block record as 0 or 65535.
uint32_t rec_len_at(const std::byte* entry, uint32_t block_size) {
  uint32_t raw = le16(entry + dir::rec_len);
  if (block_size == 65536 && (raw == 0 || raw == 65535)) return 65536;
  return raw;
}

enum class BlockKind { leaf, dx_root, dx_node };

BlockKind kind_of(const Inode& directory, uint32_t logical, const std::byte* data, uint32_t block_size) {
  if (!directory.is_hashed_directory()) return BlockKind::leaf;
  if (logical == 0) return BlockKind::dx_root;
  if (le32(data + dir::inode) == 0 && rec_len_at(data, block_size) == block_size) return BlockKind::dx_node;
  return BlockKind::leaf;
}

// The end of a leaf block's entries: before the checksum tail when there is one (whose
// checksum is verified here). nullptr problem when fine.
const char* check_leaf(Volume& volume, const Inode& directory, const std::byte* data, size_t* end) {
  uint32_t block_size = volume.block_size();
  *end = block_size;
  if (!volume.super().metadata_csum) return nullptr;
  const std::byte* tail = data + block_size - dir::kTailSize;
  bool has_tail = le32(tail + dir::inode) == 0 && le16(tail + dir::rec_len) == dir::kTailSize &&
                  u8(tail + dir::name_len) == 0 && u8(tail + dir::file_type) == dir::kTailFileType;
  // Linux accepts a leaf without a tail (older tools made them); with one it must match.
  if (!has_tail) return nullptr;
  *end = block_size - dir::kTailSize;
  if (crc32c(directory.csum_seed, data, *end) != le32(tail + 8)) return "a directory block checksum does not match";
  return nullptr;
}

// Checks the entry at `offset` (ext4_check_dir_entry).
const char* check_entry(const Volume& volume, const std::byte* data, size_t offset, size_t end) {
  if (offset + dir::kHeaderSize > end) return "a directory entry crosses its block";
  uint32_t rec_len = rec_len_at(data + offset, volume.block_size());
  uint8_t name_len = u8(data + offset + dir::name_len);
  if (rec_len < record_length(1) || rec_len % 4) return "a directory entry has a bad record length";
  if (rec_len < record_length(name_len)) return "a directory entry's name does not fit its record";
  if (offset + rec_len > end) return "a directory entry crosses its block";
  if (le32(data + offset + dir::inode) > volume.super().inode_count) return "a directory entry's inode is out of range";
  return nullptr;
}

// Reads the directory's logical block `logical` (EIO for a hole or corruption).
Result<block::CachedBlock> read_directory_block(Volume& volume, const Inode& directory, uint32_t logical) {
  return volume.read_block(TRY(directory_block_address(volume, directory, logical)));
}

// Scans one leaf block from byte `from` on, calling visit for live entries.
Result<bool> scan_leaf(Volume& volume, const Inode& directory, uint32_t logical, const std::byte* data, size_t from,
                       EntryVisitor visit, void* context, uint64_t* position) {
  size_t end = 0;
  if (const char* problem = check_leaf(volume, directory, data, &end)) {
    volume.report(problem, directory.ino);
    return error(Errno::eio);
  }
  uint64_t base = uint64_t{logical} * volume.block_size();
  for (size_t offset = 0; offset < end;) {
    if (const char* problem = check_entry(volume, data, offset, end)) {
      volume.report(problem, directory.ino);
      return error(Errno::eio);
    }
    uint32_t rec_len = rec_len_at(data + offset, volume.block_size());
    uint32_t ino = le32(data + offset + dir::inode);
    if (offset >= from && ino != 0) {
      uint8_t name_len = u8(data + offset + dir::name_len);
      DirectoryEntry entry{{reinterpret_cast<const char*>(data + offset + dir::name), name_len}, ino,
                           u8(data + offset + dir::file_type), base + offset + rec_len};
      if (!visit(context, entry)) return false;
      if (position) *position = entry.next_position;
    }
    offset += rec_len;
  }
  return true;
}

uint64_t directory_blocks(const Volume& volume, const Inode& directory) {
  return directory.size / volume.block_size();
}

// --- the htree index ---

struct DxLevel {
  block::CachedBlock block;
  const std::byte* entries = nullptr;  // dx_entry array; entry 0's hash slot holds limit and count
  uint16_t count = 0;
  uint16_t at = 0;  // the entry followed
};

uint32_t dx_hash_of(const std::byte* entries, uint16_t i) { return le32(entries + size_t{i} * dir::kEntrySize); }
uint32_t dx_block_of(const std::byte* entries, uint16_t i) { return le32(entries + size_t{i} * dir::kEntrySize + 4); }

// A checksum mismatch is an error; any other index problem makes lookups scan instead.
constexpr const char* kDxChecksumMismatch = "a directory index checksum does not match";

// Checks an index node's count, limit and (metadata_csum) dx_tail checksum; entries start at
// `count_offset`.
const char* check_dx_node(Volume& volume, const Inode& directory, const std::byte* data, size_t count_offset,
                          uint16_t* count) {
  uint32_t block_size = volume.block_size();
  bool csum = volume.super().metadata_csum;
  uint16_t limit = le16(data + count_offset);
  *count = le16(data + count_offset + 2);
  size_t room = (block_size - count_offset - (csum ? dir::kTailSize8 : 0)) / dir::kEntrySize;
  if (limit != room) return "a directory index has the wrong limit";
  if (*count == 0 || *count > limit) return "a directory index has a bad count";
  if (csum) {
    size_t tail = count_offset + size_t{limit} * dir::kEntrySize;
    uint32_t zero = 0;
    uint32_t crc = crc32c(directory.csum_seed, data, count_offset + size_t{*count} * dir::kEntrySize);
    crc = crc32c(crc, data + tail, 4);
    crc = crc32c(crc, &zero, sizeof(zero));
    if (crc != le32(data + tail + 4)) return kDxChecksumMismatch;
  }
  return nullptr;
}

enum class DxOutcome { found, absent, fall_back };

// Linux's dx_probe and ext4_dx_find_entry. A malformed index (not a checksum error) makes
// the caller scan linearly, as Linux does.
Result<DxOutcome> dx_find(Volume& volume, const Inode& directory, std::string_view name, DirectoryEntry* found) {
  const Superblock& super = volume.super();
  uint64_t blocks = directory_blocks(volume, directory);
  DxLevel levels[dir::kMaxLevelsLargeDir + 1];
  levels[0].block = TRY(read_directory_block(volume, directory, 0));
  const std::byte* root = levels[0].block.data().data();
  if (le32(root + dir::root_info) != 0 || u8(root + dir::root_info_length) != 8) return DxOutcome::fall_back;
  uint8_t depth = u8(root + dir::root_indirect_levels);
  if (depth >= (super.large_dir ? dir::kMaxLevelsLargeDir : dir::kMaxLevels)) return DxOutcome::fall_back;
  auto version = static_cast<HashVersion>(u8(root + dir::root_hash_version));
  if (version <= HashVersion::tea && super.unsigned_hash)
    version = static_cast<HashVersion>(static_cast<uint8_t>(version) + 3);
  DxHash hash;
  if (!dx_hash(name, version, super.hash_seed, &hash)) return DxOutcome::fall_back;

  size_t count_offset = dir::root_entries;
  for (uint8_t level = 0;; level++) {
    const std::byte* data = levels[level].block.data().data();
    uint16_t count = 0;
    if (const char* problem = check_dx_node(volume, directory, data, count_offset, &count)) {
      volume.report(problem, directory.ino);
      if (problem == kDxChecksumMismatch) return error(Errno::eio);
      return DxOutcome::fall_back;
    }
    const std::byte* entries = data + count_offset;
    // The last entry whose hash is at or below ours (entry 0 covers everything below entry 1).
    uint16_t low = 1, high = static_cast<uint16_t>(count - 1);
    uint16_t at = 0;
    while (low <= high && high != 0) {
      uint16_t middle = static_cast<uint16_t>(low + (high - low) / 2);
      if (dx_hash_of(entries, middle) > hash.major) {
        high = static_cast<uint16_t>(middle - 1);
      } else {
        at = middle;
        low = static_cast<uint16_t>(middle + 1);
      }
    }
    levels[level].entries = entries;
    levels[level].count = count;
    levels[level].at = at;
    uint32_t child = dx_block_of(entries, at);
    if (child == 0 || child >= blocks) return DxOutcome::fall_back;
    if (level == depth) break;
    levels[level + 1].block = TRY(read_directory_block(volume, directory, child));
    count_offset = dir::node_entries;
  }

  for (;;) {
    const DxLevel& leaf_level = levels[depth];
    uint32_t logical = dx_block_of(leaf_level.entries, leaf_level.at);
    block::CachedBlock leaf = TRY(read_directory_block(volume, directory, logical));
    struct Match {
      std::string_view name;
      DirectoryEntry* found;
      bool matched;
    } match{name, found, false};
    auto visit = [](void* context, const DirectoryEntry& entry) {
      auto* m = static_cast<Match*>(context);
      if (entry.name != m->name) return true;
      *m->found = entry;
      m->matched = true;
      return false;
    };
    TRY(scan_leaf(volume, directory, logical, leaf.data().data(), 0, visit, &match, nullptr));
    if (match.matched) return DxOutcome::found;
    // ext4_htree_next_block: the next leaf holds more of this hash when its index entry's
    // hash, without the collision bit, equals ours.
    int level = depth;
    while (level >= 0 && levels[level].at + 1 >= levels[level].count) level--;
    if (level < 0) return DxOutcome::absent;
    levels[level].at++;
    uint32_t next_hash = dx_hash_of(levels[level].entries, levels[level].at);
    if ((next_hash & ~1u) != hash.major) return DxOutcome::absent;
    for (int below = level; below < depth; below++) {
      uint32_t child = dx_block_of(levels[below].entries, levels[below].at);
      if (child == 0 || child >= blocks) return DxOutcome::fall_back;
      levels[below + 1].block = TRY(read_directory_block(volume, directory, child));
      const std::byte* data = levels[below + 1].block.data().data();
      uint16_t count = 0;
      if (const char* problem = check_dx_node(volume, directory, data, dir::node_entries, &count)) {
        volume.report(problem, directory.ino);
        if (problem == kDxChecksumMismatch) return error(Errno::eio);
        return DxOutcome::fall_back;
      }
      levels[below + 1].entries = data + dir::node_entries;
      levels[below + 1].count = count;
      levels[below + 1].at = 0;
    }
  }
}

}  // namespace

Result<uint64_t> directory_block_address(Volume& volume, const Inode& directory, uint32_t logical) {
  BlockRun run = TRY(map_block(volume, directory, logical));
  if (!run.mapped) {
    volume.report("a directory has a hole", directory.ino);
    return error(Errno::eio);
  }
  return run.physical;
}

Result<> list_directory(Volume& volume, const Inode& directory, uint64_t* position, EntryVisitor visit, void* context) {
  uint32_t block_size = volume.block_size();
  uint64_t blocks = directory_blocks(volume, directory);
  while (*position / block_size < blocks) {
    auto logical = static_cast<uint32_t>(*position / block_size);
    size_t from = *position % block_size;
    block::CachedBlock block = TRY(read_directory_block(volume, directory, logical));
    const std::byte* data = block.data().data();
    BlockKind kind = kind_of(directory, logical, data, block_size);
    if (kind == BlockKind::dx_node) {
      *position = uint64_t{logical + 1} * block_size;
      continue;
    }
    if (kind == BlockKind::dx_root) {
      // "." and "..", whose record hides the index; no leaf checksum.
      for (size_t offset = 0; offset < block_size;) {
        if (const char* problem = check_entry(volume, data, offset, block_size)) {
          volume.report(problem, directory.ino);
          return error(Errno::eio);
        }
        uint32_t rec_len = rec_len_at(data + offset, volume.block_size());
        uint32_t ino = le32(data + offset + dir::inode);
        if (offset >= from && ino) {
          DirectoryEntry entry{{reinterpret_cast<const char*>(data + offset + dir::name), u8(data + offset + dir::name_len)},
                               ino, u8(data + offset + dir::file_type), uint64_t{logical} * block_size + offset + rec_len};
          if (!visit(context, entry)) return {};
          *position = entry.next_position;
        }
        offset += rec_len;
      }
    } else if (!TRY(scan_leaf(volume, directory, logical, data, from, visit, context, position))) {
      return {};
    }
    *position = uint64_t{logical + 1} * block_size;
  }
  return {};
}

Result<DirectoryEntry> find_entry(Volume& volume, const Inode& directory, std::string_view name) {
  DirectoryEntry found;
  if (directory.is_hashed_directory() && name != "." && name != "..") {
    DxOutcome outcome = TRY(dx_find(volume, directory, name, &found));
    if (outcome != DxOutcome::fall_back) {
      g_hashed.fetch_add(1, std::memory_order_relaxed);
      if (outcome == DxOutcome::found) return found;
      return error(Errno::enoent);
    }
  }
  g_linear.fetch_add(1, std::memory_order_relaxed);
  struct Match {
    std::string_view name;
    DirectoryEntry* found;
    bool matched;
  } match{name, &found, false};
  uint64_t position = 0;
  TRY(list_directory(volume, directory, &position,
                     [](void* context, const DirectoryEntry& entry) {
                       auto* m = static_cast<Match*>(context);
                       if (entry.name != m->name) return true;
                       *m->found = entry;
                       m->matched = true;
                       return false;
                     },
                     &match));
  if (!match.matched) return error(Errno::enoent);
  return found;
}

LookupStatistics lookup_statistics() {
  return {g_hashed.load(std::memory_order_relaxed), g_linear.load(std::memory_order_relaxed)};
}

}  // namespace nimbus::fs::ext4
