// Directory changes: entries packed into the free room of a record (ext4_insert_dentry),
// leaf checksum tails kept right, htree leaves split by hash when full (Linux's do_split),
// full index nodes split and the tree deepened (ext4_dx_add_entry), and an index the code
// does not follow dropped: the directory becomes linear, which every reader (and e2fsck)
// accepts.
#include "kernel/fs/ext4/directory_write.h"

#include <cstring>

#include "kernel/fs/ext4/directory.h"
#include "kernel/fs/ext4/dx_hash.h"
#include "kernel/fs/ext4/extent_tree.h"
#include "kernel/fs/ext4/file_write.h"
#include "kernel/fs/linux_abi.h"
#include "kernel/lib/crc32c.h"

namespace nimbus::fs::ext4 {
namespace {

constexpr uint8_t kTypeDirectory = 2;

size_t record_length(size_t name_length) { return (dir::kHeaderSize + name_length + 3) & ~size_t{3}; }

uint32_t rec_len_at(const std::byte* entry, uint32_t block_size) {
  uint32_t raw = le16(entry + dir::rec_len);
  if (block_size == 65536 && (raw == 0 || raw == 65535)) return 65536;
  return raw;
}

void put_rec_len(std::byte* entry, uint32_t length) {
  put16(entry + dir::rec_len, static_cast<uint16_t>(length == 65536 ? 65535 : length));
}

void put_entry(std::byte* entry, uint32_t ino, uint32_t rec_len, std::string_view name, uint8_t type) {
  put32(entry + dir::inode, ino);
  put_rec_len(entry, rec_len);
  put8(entry + dir::name_len, static_cast<uint8_t>(name.size()));
  put8(entry + dir::file_type, type);
  memcpy(entry + dir::name, name.data(), name.size());
}

bool csum(const Volume& volume) { return volume.super().metadata_csum; }

// Where a leaf's entries end: before the checksum tail on metadata_csum file systems.
size_t leaf_end(const Volume& volume) { return volume.block_size() - (csum(volume) ? dir::kTailSize : 0); }

bool has_tail(const Volume& volume, const std::byte* data) {
  if (!csum(volume)) return false;
  const std::byte* tail = data + volume.block_size() - dir::kTailSize;
  return le32(tail + dir::inode) == 0 && le16(tail + dir::rec_len) == dir::kTailSize && u8(tail + dir::name_len) == 0 &&
         u8(tail + dir::file_type) == dir::kTailFileType;
}

void put_tail(const Volume& volume, std::byte* data) {
  std::byte* tail = data + volume.block_size() - dir::kTailSize;
  memset(tail, 0, dir::kTailSize);
  put16(tail + dir::rec_len, dir::kTailSize);
  put8(tail + dir::file_type, dir::kTailFileType);
}

void update_leaf_checksum(const Volume& volume, const Inode& directory, std::byte* data) {
  if (!has_tail(volume, data)) return;
  size_t end = volume.block_size() - dir::kTailSize;
  put32(data + end + 8, crc32c(directory.csum_seed, data, end));
}

// An index node's dx_tail checksum (metadata_csum); entries start at `count_offset`.
void update_dx_checksum(const Volume& volume, const Inode& directory, std::byte* data, size_t count_offset) {
  if (!csum(volume)) return;
  uint16_t limit = le16(data + count_offset);
  uint16_t count = le16(data + count_offset + 2);
  size_t tail = count_offset + size_t{limit} * dir::kEntrySize;
  if (tail + dir::kTailSize8 > volume.block_size()) return;
  uint32_t zero = 0;
  uint32_t crc = crc32c(directory.csum_seed, data, count_offset + size_t{count} * dir::kEntrySize);
  crc = crc32c(crc, data + tail, 4);
  crc = crc32c(crc, &zero, sizeof(zero));
  put32(data + tail + 4, crc);
}

// Fills a leaf with nothing: one empty record up to the tail.
void init_leaf(const Volume& volume, std::byte* data) {
  memset(data, 0, volume.block_size());
  put_rec_len(data, static_cast<uint32_t>(leaf_end(volume)));
  if (csum(volume)) put_tail(volume, data);
}

Result<block::CachedBlock> directory_block(Volume& volume, const Inode& directory, uint32_t logical) {
  return volume.write_block(TRY(directory_block_address(volume, directory, logical)));
}

enum class Kind { leaf, dx_root, dx_node };

Kind kind_of(const Volume& volume, const Inode& directory, uint32_t logical, const std::byte* data) {
  if (!directory.is_hashed_directory()) return Kind::leaf;
  if (logical == 0) return Kind::dx_root;
  if (le32(data + dir::inode) == 0 && rec_len_at(data, volume.block_size()) == volume.block_size()) return Kind::dx_node;
  return Kind::leaf;
}

// Puts the entry in the first record with room in this leaf (`end`: where entries stop).
bool insert_in_block(const Volume& volume, std::byte* data, size_t end, std::string_view name, uint32_t ino,
                     uint8_t type) {
  size_t needed = record_length(name.size());
  for (size_t offset = 0; offset + dir::kHeaderSize <= end;) {
    std::byte* entry = data + offset;
    uint32_t rec_len = rec_len_at(entry, volume.block_size());
    if (rec_len < dir::kHeaderSize || offset + rec_len > end) return false;  // corrupt: leave it be
    uint32_t used = le32(entry + dir::inode) ? record_length(u8(entry + dir::name_len)) : 0;
    if (rec_len - used >= needed) {
      if (used) {
        put_rec_len(entry, used);
        entry += used;
      }
      put_entry(entry, ino, rec_len - used, name, type);
      return true;
    }
    offset += rec_len;
  }
  return false;
}

// Where an entry is: its block, its offset there, the previous record's offset (or none).
struct Location {
  block::CachedBlock block;
  Kind kind = Kind::leaf;
  size_t offset = 0;
  size_t previous = SIZE_MAX;
};

// Looks for `name` in directory block `logical`; false when it is not there.
Result<bool> locate_in_block(Volume& volume, const Inode& directory, uint32_t logical, std::string_view name,
                             Location* where) {
  uint32_t block_size = volume.block_size();
  block::CachedBlock block = TRY(directory_block(volume, directory, logical));
  const std::byte* data = block.data().data();
  Kind kind = kind_of(volume, directory, logical, data);
  if (kind == Kind::dx_node) return false;
  size_t end = kind == Kind::dx_root ? record_length(1) + record_length(2)
               : has_tail(volume, data) ? block_size - dir::kTailSize
                                        : block_size;
  size_t previous = SIZE_MAX;
  for (size_t offset = 0; offset + dir::kHeaderSize <= end;) {
    const std::byte* entry = data + offset;
    uint32_t rec_len = rec_len_at(entry, block_size);
    uint8_t name_len = u8(entry + dir::name_len);
    if (rec_len < dir::kHeaderSize || rec_len % 4 || record_length(name_len) > rec_len ||
        offset + rec_len > block_size) {
      volume.report("a directory entry has a bad record length", directory.ino);
      return error(Errno::eio);
    }
    if (le32(entry + dir::inode) && std::string_view(reinterpret_cast<const char*>(entry + dir::name), name_len) == name) {
      *where = Location{std::move(block), kind, offset, previous};
      return true;
    }
    previous = offset;
    offset += rec_len;
  }
  return false;
}

// Every block in order (the slow way; locate() tries the htree leaf first).
Result<Location> locate_linear(Volume& volume, const Inode& directory, std::string_view name) {
  uint64_t blocks = directory.size / volume.block_size();
  Location where;
  for (uint32_t logical = 0; logical < blocks; logical++)
    if (TRY(locate_in_block(volume, directory, logical, name, &where))) return where;
  return error(Errno::enoent);
}

// --- the htree ---

// One index block on the way down: the root (logical 0) or a dx_node.
struct DxFrame {
  block::CachedBlock block;
  uint32_t logical = 0;
  size_t count_offset = 0;  // where limit, count and the entries start
  uint16_t at = 0;          // the entry followed
  std::byte* data() { return block.mutable_data().data(); }
  uint16_t limit() const { return le16(block.data().data() + count_offset); }
  uint16_t count() const { return le16(block.data().data() + count_offset + 2); }
  bool full() const { return count() >= limit(); }
};

// The way from the root to the leaf a name belongs in.
struct DxPath {
  DxFrame frames[dir::kMaxLevelsLargeDir];  // frames[0] is the root
  uint8_t levels = 0;                       // frames in use: indirect_levels + 1
  uint32_t leaf = 0;                        // the leaf's logical block
  uint32_t hash = 0;
  DxFrame& parent() { return frames[levels - 1]; }
};

// How many dx_entries fit in an index block whose entries start at `count_offset`.
uint16_t dx_limit(const Volume& volume, size_t count_offset) {
  return static_cast<uint16_t>((volume.block_size() - count_offset - (csum(volume) ? dir::kTailSize8 : 0)) /
                               dir::kEntrySize);
}

bool dx_hash_for(const Volume& volume, const std::byte* root, std::string_view name, DxHash* hash) {
  const Superblock& super = volume.super();
  auto version = static_cast<HashVersion>(u8(root + dir::root_hash_version));
  if (version <= HashVersion::tea && super.unsigned_hash)
    version = static_cast<HashVersion>(static_cast<uint8_t>(version) + 3);
  return dx_hash(name, version, super.hash_seed, hash);
}

// Descends the index to the leaf `name` belongs in; false when the index is one this code
// does not follow (then the directory is made linear).
Result<bool> dx_descend(Volume& volume, const Inode& directory, std::string_view name, DxPath* path) {
  uint32_t block_size = volume.block_size();
  uint64_t blocks = directory.size / block_size;
  block::CachedBlock node = TRY(directory_block(volume, directory, 0));
  const std::byte* root = node.data().data();
  if (le32(root + dir::root_info) != 0 || u8(root + dir::root_info_length) != 8) return false;
  uint8_t depth = u8(root + dir::root_indirect_levels);
  if (depth >= (volume.super().large_dir ? dir::kMaxLevelsLargeDir : dir::kMaxLevels)) return false;
  DxHash hash;
  if (!dx_hash_for(volume, root, name, &hash)) return false;
  size_t count_offset = dir::root_entries;
  uint32_t logical = 0;
  for (uint8_t level = 0;; level++) {
    const std::byte* data = node.data().data();
    uint16_t limit = le16(data + count_offset);
    uint16_t count = le16(data + count_offset + 2);
    if (limit != dx_limit(volume, count_offset) || count == 0 || count > limit) return false;
    const std::byte* entries = data + count_offset;
    uint16_t at = 0;
    for (uint16_t i = 1; i < count; i++) {
      if (le32(entries + size_t{i} * dir::kEntrySize) > hash.major) break;
      at = i;
    }
    uint32_t child = le32(entries + size_t{at} * dir::kEntrySize + 4) & 0x0fffffff;
    if (child == 0 || child >= blocks) return false;
    DxFrame& frame = path->frames[level];
    frame.block = std::move(node);
    frame.logical = logical;
    frame.count_offset = count_offset;
    frame.at = at;
    if (level == depth) {
      path->levels = static_cast<uint8_t>(level + 1);
      path->leaf = child;
      path->hash = hash.major;
      return true;
    }
    node = TRY(directory_block(volume, directory, child));
    logical = child;
    count_offset = dir::node_entries;
  }
}

// A new, empty index node at the directory's end: an empty record spanning the block, then
// `count` entries copied from `entries` (the first's hash slot becomes limit and count).
Result<DxFrame> dx_new_node(Volume& volume, Inode& directory, const std::byte* entries, uint16_t count) {
  uint32_t block_size = volume.block_size();
  if (directory.size / block_size >= UINT32_MAX) return error(Errno::enospc);
  auto logical = static_cast<uint32_t>(directory.size / block_size);
  uint64_t physical = TRY(append_block(volume, directory, logical));
  directory.size += block_size;
  DxFrame frame;
  frame.block = TRY(volume.write_block(physical));
  frame.logical = logical;
  frame.count_offset = dir::node_entries;
  std::byte* data = frame.data();
  memset(data, 0, block_size);
  put_rec_len(data, block_size);
  memcpy(data + dir::node_entries, entries, size_t{count} * dir::kEntrySize);
  put16(data + dir::node_entries, dx_limit(volume, dir::node_entries));
  put16(data + dir::node_entries + 2, count);
  return frame;
}

// Inserts (hash, block) into an index block with room, after the entry followed.
void dx_insert(const Volume& volume, const Inode& directory, DxFrame& frame, uint32_t hash, uint32_t block) {
  std::byte* data = frame.data();
  uint16_t count = frame.count();
  std::byte* entries = data + frame.count_offset;
  for (uint16_t i = count; i > frame.at + 1; i--)
    memcpy(entries + size_t{i} * dir::kEntrySize, entries + static_cast<size_t>(i - 1) * dir::kEntrySize, dir::kEntrySize);
  std::byte* added = entries + static_cast<size_t>(frame.at + 1) * dir::kEntrySize;
  put32(added, hash);
  put32(added + 4, block);
  put16(data + frame.count_offset + 2, static_cast<uint16_t>(count + 1));
  update_dx_checksum(volume, directory, data, frame.count_offset);
  frame.block.mark_dirty();
}

// Makes room in the index above a full leaf's parent (Linux's ext4_dx_add_entry): the lowest
// full index node whose own parent has room is split in two, half of its entries moving to a
// new node entered in that parent; when every index block up to the root is full, the root's
// entries move down into a new node and the tree gains a level. False when it is as deep as
// it may be (2 levels, 3 with large_dir): the index is full. The caller descends again.
Result<bool> dx_make_room(Volume& volume, Inode& directory, DxPath& path) {
  int full = path.levels - 1;
  while (full > 0 && path.frames[full - 1].full()) full--;
  if (full > 0) {
    DxFrame& node = path.frames[full];
    DxFrame& parent = path.frames[full - 1];
    uint16_t count = node.count();
    uint16_t keep = count / 2;
    const std::byte* entries = node.block.data().data() + node.count_offset;
    uint32_t split_hash = le32(entries + size_t{keep} * dir::kEntrySize);
    DxFrame upper = TRY(dx_new_node(volume, directory, entries + size_t{keep} * dir::kEntrySize,
                                    static_cast<uint16_t>(count - keep)));
    update_dx_checksum(volume, directory, upper.data(), upper.count_offset);
    upper.block.mark_dirty();
    put16(node.data() + node.count_offset + 2, keep);
    update_dx_checksum(volume, directory, node.data(), node.count_offset);
    node.block.mark_dirty();
    dx_insert(volume, directory, parent, split_hash, upper.logical);
    return true;
  }
  uint8_t max_levels = volume.super().large_dir ? dir::kMaxLevelsLargeDir : dir::kMaxLevels;
  if (path.levels >= max_levels) return false;
  DxFrame& root = path.frames[0];
  DxFrame below = TRY(dx_new_node(volume, directory, root.block.data().data() + root.count_offset, root.count()));
  update_dx_checksum(volume, directory, below.data(), below.count_offset);
  below.block.mark_dirty();
  std::byte* data = root.data();
  put16(data + root.count_offset + 2, 1);
  put32(data + root.count_offset + 4, below.logical);
  put8(data + dir::root_indirect_levels, path.levels);
  update_dx_checksum(volume, directory, data, root.count_offset);
  root.block.mark_dirty();
  return true;
}

struct Moving {
  uint32_t hash;
  uint32_t ino;
  uint8_t type;
  uint8_t name_len;
  char name[dir::kNameMax];
};

void sort_by_hash(Moving* items, size_t count) {
  for (size_t i = 1; i < count; i++) {
    Moving moving = items[i];
    size_t j = i;
    for (; j > 0 && items[j - 1].hash > moving.hash; j--) items[j] = items[j - 1];
    items[j] = moving;
  }
}

// Writes `count` entries packed into a leaf.
void fill_leaf(const Volume& volume, const Inode& directory, std::byte* data, const Moving* items, size_t count) {
  init_leaf(volume, data);
  size_t end = leaf_end(volume);
  size_t offset = 0;
  for (size_t i = 0; i < count; i++) {
    size_t length = i + 1 == count ? end - offset : record_length(items[i].name_len);
    put_entry(data + offset, items[i].ino, static_cast<uint32_t>(length), {items[i].name, items[i].name_len},
              items[i].type);
    offset += length;
  }
  update_leaf_checksum(volume, directory, data);
}

// do_split: the full leaf's entries sorted by hash, the upper half moved to a new block, and
// the new block's first hash inserted in the parent index after the old leaf's entry.
// False when the parent has no room.
Result<bool> dx_split(Volume& volume, Inode& directory, DxPath& path, std::string_view name, uint32_t ino,
                      uint8_t type) {
  DxFrame& parent = path.parent();
  if (parent.full()) return false;
  uint32_t block_size = volume.block_size();
  block::CachedBlock leaf = TRY(directory_block(volume, directory, path.leaf));
  std::byte* data = leaf.mutable_data().data();
  const std::byte* root = path.frames[0].block.data().data();
  size_t capacity = block_size / record_length(1);
  auto* items = new (kNoThrow) Moving[capacity];
  if (!items) return error(Errno::enomem);
  size_t items_count = 0;
  size_t end = leaf_end(volume);
  for (size_t offset = 0; offset + dir::kHeaderSize <= end && items_count < capacity;) {
    const std::byte* entry = data + offset;
    uint32_t rec_len = rec_len_at(entry, block_size);
    if (rec_len < dir::kHeaderSize || offset + rec_len > end) break;
    if (uint32_t entry_ino = le32(entry + dir::inode)) {
      Moving& item = items[items_count++];
      item.ino = entry_ino;
      item.type = u8(entry + dir::file_type);
      item.name_len = u8(entry + dir::name_len);
      memcpy(item.name, entry + dir::name, item.name_len);
      DxHash hash;
      dx_hash_for(volume, root, {item.name, item.name_len}, &hash);
      item.hash = hash.major;
    }
    offset += rec_len;
  }
  if (items_count < 2) {
    delete[] items;
    return false;
  }
  sort_by_hash(items, items_count);
  size_t split = items_count / 2;
  // Names of one hash stay together where possible; when the split falls inside a run of
  // equal hashes the index marks the continuation (bit 0), as Linux does.
  uint32_t split_hash = items[split].hash;
  bool continued = split_hash == items[split - 1].hash;

  uint32_t new_logical = static_cast<uint32_t>(directory.size / block_size);
  auto appended = append_block(volume, directory, new_logical);
  if (!appended) {
    delete[] items;
    return error(appended.error());
  }
  directory.size += block_size;
  block::CachedBlock fresh = TRY(volume.write_block(*appended));
  fill_leaf(volume, directory, data, items, split);
  fill_leaf(volume, directory, fresh.mutable_data().data(), items + split, items_count - split);
  leaf.mark_dirty();
  fresh.mark_dirty();
  delete[] items;

  // The parent: a new entry after the one followed.
  dx_insert(volume, directory, parent, split_hash + (continued ? 1 : 0), new_logical);

  // The new name goes where its hash now leads.
  bool upper = path.hash >= split_hash;
  block::CachedBlock& target = upper ? fresh : leaf;
  std::byte* target_data = target.mutable_data().data();
  if (!insert_in_block(volume, target_data, leaf_end(volume), name, ino, type)) return false;
  update_leaf_checksum(volume, directory, target_data);
  target.mark_dirty();
  return true;
}

// make_indexed_dir: a linear directory whose only block is full becomes an htree. Its entries
// after "." and ".." move, in hash order, to a new leaf (block 1), and block 0 becomes the
// dx_root with one entry pointing at it; the caller then inserts through the index, splitting
// that leaf as needed. False when the block is not one this code reads (it stays linear).
Result<bool> make_indexed(Volume& volume, Inode& directory) {
  constexpr uint32_t kCompatDirIndex = 0x20;
  uint32_t block_size = volume.block_size();
  if (!(volume.super().compat & kCompatDirIndex) || directory.size != block_size) return false;
  block::CachedBlock root = TRY(directory_block(volume, directory, 0));
  std::byte* data = root.mutable_data().data();
  size_t end = has_tail(volume, data) ? block_size - dir::kTailSize : block_size;
  uint32_t dot_rec = rec_len_at(data, block_size);
  if (dot_rec != record_length(1) || u8(data + dir::name_len) != 1) return false;
  const std::byte* dotdot = data + dot_rec;
  if (u8(dotdot + dir::name_len) != 2) return false;
  uint32_t parent_ino = le32(dotdot + dir::inode);
  // The hash version the new root records (dx_hash_for adds the unsigned variant).
  std::byte info[8] = {};
  put8(info + 4, volume.super().default_hash_version);
  put8(info + 5, 8);
  size_t capacity = block_size / record_length(1);
  auto* items = new (kNoThrow) Moving[capacity];
  if (!items) return error(Errno::enomem);
  size_t count = 0;
  bool sound = true;
  for (size_t offset = dot_rec + rec_len_at(dotdot, block_size); offset + dir::kHeaderSize <= end;) {
    const std::byte* entry = data + offset;
    uint32_t rec_len = rec_len_at(entry, block_size);
    if (rec_len < dir::kHeaderSize || offset + rec_len > end || count == capacity) {
      sound = false;
      break;
    }
    if (uint32_t entry_ino = le32(entry + dir::inode)) {
      Moving& item = items[count++];
      item.ino = entry_ino;
      item.type = u8(entry + dir::file_type);
      item.name_len = u8(entry + dir::name_len);
      memcpy(item.name, entry + dir::name, item.name_len);
      DxHash hash;
      // The hash as the new root will have it: version and the superblock's signedness.
      std::byte probe[dir::root_entries] = {};
      memcpy(probe + dir::root_info, info, sizeof(info));
      dx_hash_for(volume, probe, {item.name, item.name_len}, &hash);
      item.hash = hash.major;
    }
    offset += rec_len;
  }
  if (!sound) {
    delete[] items;
    return false;
  }
  sort_by_hash(items, count);
  auto appended = append_block(volume, directory, 1);
  if (!appended) {
    delete[] items;
    return error(appended.error());
  }
  directory.size += block_size;
  auto leaf = volume.write_block(*appended);
  if (!leaf) {
    delete[] items;
    return error(leaf.error());
  }
  fill_leaf(volume, directory, leaf->mutable_data().data(), items, count);
  leaf->mark_dirty();
  delete[] items;
  // The root: "." and a ".." spanning the block, dx_root_info, one entry for block 1.
  memset(data + dot_rec, 0, block_size - dot_rec);
  put_entry(data + dot_rec, parent_ino, block_size - dot_rec, "..", kTypeDirectory);
  memcpy(data + dir::root_info, info, sizeof(info));
  put16(data + dir::root_entries, dx_limit(volume, dir::root_entries));
  put16(data + dir::root_entries + 2, 1);
  put32(data + dir::root_entries + 4, 1);
  update_dx_checksum(volume, directory, data, dir::root_entries);
  root.mark_dirty();
  directory.flags |= inode::kFlagIndex;
  return true;
}

// Makes a hashed directory linear: the root block keeps "." and "..", index nodes become
// empty leaves, and the index flag goes.
Result<> drop_index(Volume& volume, Inode& directory) {
  uint32_t block_size = volume.block_size();
  uint64_t blocks = directory.size / block_size;
  for (uint32_t logical = 1; logical < blocks; logical++) {
    block::CachedBlock block = TRY(directory_block(volume, directory, logical));
    if (kind_of(volume, directory, logical, block.data().data()) != Kind::dx_node) continue;
    init_leaf(volume, block.mutable_data().data());
    update_leaf_checksum(volume, directory, block.mutable_data().data());
    block.mark_dirty();
  }
  block::CachedBlock root = TRY(directory_block(volume, directory, 0));
  std::byte* data = root.mutable_data().data();
  uint32_t dot_ino = le32(data + dir::inode);
  uint32_t parent_ino = le32(data + record_length(1) + dir::inode);
  init_leaf(volume, data);
  put_entry(data, dot_ino, static_cast<uint32_t>(record_length(1)), ".", kTypeDirectory);
  put_entry(data + record_length(1), parent_ino, static_cast<uint32_t>(leaf_end(volume) - record_length(1)), "..",
            kTypeDirectory);
  update_leaf_checksum(volume, directory, data);
  root.mark_dirty();
  directory.flags &= ~inode::kFlagIndex;
  return {};
}

Result<> add_linear(Volume& volume, Inode& directory, std::string_view name, uint32_t ino, uint8_t type) {
  uint32_t block_size = volume.block_size();
  uint64_t blocks = directory.size / block_size;
  for (uint32_t logical = 0; logical < blocks; logical++) {
    block::CachedBlock block = TRY(directory_block(volume, directory, logical));
    std::byte* data = block.mutable_data().data();
    size_t end = has_tail(volume, data) ? block_size - dir::kTailSize : block_size;
    if (!insert_in_block(volume, data, end, name, ino, type)) continue;
    update_leaf_checksum(volume, directory, data);
    block.mark_dirty();
    return {};
  }
  // Full: one more block.
  if (blocks >= UINT32_MAX) return error(Errno::enospc);
  uint64_t physical = TRY(append_block(volume, directory, static_cast<uint32_t>(blocks)));
  directory.size += block_size;
  block::CachedBlock block = TRY(volume.write_block(physical));
  std::byte* data = block.mutable_data().data();
  init_leaf(volume, data);
  put_entry(data, ino, static_cast<uint32_t>(leaf_end(volume)), name, type);
  update_leaf_checksum(volume, directory, data);
  block.mark_dirty();
  return {};
}

}  // namespace

uint8_t file_type_of_mode(uint16_t mode) {
  switch (mode & linux_abi::s_ifmt) {
    case linux_abi::s_ifreg: return 1;
    case linux_abi::s_ifdir: return 2;
    case linux_abi::s_ifchr: return 3;
    case linux_abi::s_ifblk: return 4;
    case linux_abi::s_ififo: return 5;
    case linux_abi::s_ifsock: return 6;
    case linux_abi::s_iflnk: return 7;
    default: return 0;
  }
}

Result<> init_directory(Volume& volume, Inode& directory, uint32_t parent) {
  uint64_t physical = TRY(append_block(volume, directory, 0));
  directory.size = volume.block_size();
  block::CachedBlock block = TRY(volume.write_block(physical));
  std::byte* data = block.mutable_data().data();
  init_leaf(volume, data);
  put_entry(data, directory.ino, static_cast<uint32_t>(record_length(1)), ".", kTypeDirectory);
  put_entry(data + record_length(1), parent, static_cast<uint32_t>(leaf_end(volume) - record_length(1)), "..",
            kTypeDirectory);
  update_leaf_checksum(volume, directory, data);
  block.mark_dirty();
  return {};
}

Result<> add_entry(Volume& volume, Inode& directory, std::string_view name, uint32_t ino, uint8_t file_type) {
  if (name.empty() || name.size() > dir::kNameMax) return error(Errno::enametoolong);
  if (!directory.is_hashed_directory() && directory.size == volume.block_size()) {
    block::CachedBlock only = TRY(directory_block(volume, directory, 0));
    std::byte* data = only.mutable_data().data();
    size_t end = has_tail(volume, data) ? volume.block_size() - dir::kTailSize : volume.block_size();
    if (insert_in_block(volume, data, end, name, ino, file_type)) {
      update_leaf_checksum(volume, directory, data);
      only.mark_dirty();
      return {};
    }
    only.reset();
    TRY(make_indexed(volume, directory));
  }
  if (directory.is_hashed_directory()) {
    // Each round either inserts, or splits one index node, or adds a level: a few at most.
    for (int round = 0; round < 2 * dir::kMaxLevelsLargeDir + 2; round++) {
      DxPath path;
      if (!TRY(dx_descend(volume, directory, name, &path))) break;
      block::CachedBlock leaf = TRY(directory_block(volume, directory, path.leaf));
      std::byte* data = leaf.mutable_data().data();
      if (insert_in_block(volume, data, leaf_end(volume), name, ino, file_type)) {
        update_leaf_checksum(volume, directory, data);
        leaf.mark_dirty();
        return {};
      }
      leaf.reset();
      if (!path.parent().full()) {
        if (TRY(dx_split(volume, directory, path, name, ino, file_type))) return {};
        break;
      }
      // As Linux: a full index at its greatest depth is ENOSPC ("Directory index full").
      if (!TRY(dx_make_room(volume, directory, path))) return error(Errno::enospc);
    }
    TRY(drop_index(volume, directory));
  }
  return add_linear(volume, directory, name, ino, file_type);
}

namespace {

// Where the entry `name` is: in the htree leaf its hash leads to when the directory is
// indexed (a name whose hash run continues into the next leaf, or an index this code does
// not follow, falls back to scanning every block).
Result<Location> locate(Volume& volume, const Inode& directory, std::string_view name) {
  if (directory.is_hashed_directory() && name != "." && name != "..") {
    DxPath path;
    if (auto found = dx_descend(volume, directory, name, &path); found && *found) {
      Location where;
      if (TRY(locate_in_block(volume, directory, path.leaf, name, &where))) return where;
    }
  }
  return locate_linear(volume, directory, name);
}

}  // namespace

Result<> remove_entry(Volume& volume, const Inode& directory, std::string_view name) {
  Location where = TRY(locate(volume, directory, name));
  if (where.kind == Kind::dx_root) return error(Errno::einval);  // "." or ".."
  std::byte* data = where.block.mutable_data().data();
  std::byte* entry = data + where.offset;
  if (where.previous != SIZE_MAX) {
    std::byte* previous = data + where.previous;
    put_rec_len(previous, rec_len_at(previous, volume.block_size()) + rec_len_at(entry, volume.block_size()));
  } else {
    put32(entry + dir::inode, 0);
  }
  update_leaf_checksum(volume, directory, data);
  where.block.mark_dirty();
  return {};
}

Result<> set_entry(Volume& volume, const Inode& directory, std::string_view name, uint32_t ino, uint8_t file_type) {
  Location where = TRY(locate(volume, directory, name));
  std::byte* data = where.block.mutable_data().data();
  put32(data + where.offset + dir::inode, ino);
  put8(data + where.offset + dir::file_type, file_type);
  if (where.kind == Kind::dx_root) {
    update_dx_checksum(volume, directory, data, dir::root_entries);
  } else {
    update_leaf_checksum(volume, directory, data);
  }
  where.block.mark_dirty();
  return {};
}

}  // namespace nimbus::fs::ext4
