// ext4 extended attributes (Linux's fs/ext4/xattr.c on-disk format): the in-inode area
// (magic, then entries growing down from its start and values packed from its end, value
// offsets counted from the first entry) and the external block (a 32-byte header with
// h_refcount, h_hash and the metadata_csum checksum, entries sorted by namespace, name length
// and name, values packed from the block's end). A change reads every attribute, edits the
// set and writes both places again.
#include "kernel/fs/ext4/xattr.h"

#include <cstring>

#include "kernel/fs/ext4/ext4_vnode.h"
#include "kernel/fs/growable_array.h"
#include "kernel/fs/linux_abi.h"
#include "kernel/lib/crc32c.h"
#include "kernel/sync/mutex.h"

namespace nimbus::fs::ext4 {
namespace {

constexpr uint32_t kMagic = 0xea020000;
constexpr size_t kBlockHeaderSize = 32;
constexpr size_t h_magic = 0, h_refcount = 4, h_blocks = 8, h_hash = 12, h_checksum = 16;
constexpr size_t e_name_len = 0, e_name_index = 1, e_value_offs = 2, e_value_inum = 4, e_value_size = 8, e_hash = 12,
                 e_name = 16;
constexpr uint32_t kCompatExtAttr = 0x8;  // EXT2_FEATURE_COMPAT_EXT_ATTR

// The namespaces this implementation serves (EXT4_XATTR_INDEX_*).
struct Namespace {
  uint8_t index;
  std::string_view prefix;
};
constexpr Namespace kNamespaces[] = {{1, "user."}, {4, "trusted."}, {6, "security."}};

size_t entry_size(size_t name_length) { return (e_name + name_length + 3) & ~size_t{3}; }
size_t value_room(size_t size) { return (size + 3) & ~size_t{3}; }

struct Attribute {
  uint8_t index;
  uint8_t name_length;
  char name[255];
  size_t value_at;  // in AttributeSet::values
  uint32_t size;
  bool in_block;
  std::string_view name_view() const { return {name, name_length}; }
};

struct AttributeSet {
  GrowableArray<Attribute> items;
  GrowableArray<std::byte> values;
  uint32_t block_refcount = 0;  // of the inode's block (0: none)

  const std::byte* value_of(const Attribute& a) const { return values.begin() + a.value_at; }
  Result<> add(uint8_t index, std::string_view name, const std::byte* value, uint32_t size, bool in_block) {
    Attribute a{};
    a.index = index;
    a.name_length = static_cast<uint8_t>(name.size());
    memcpy(a.name, name.data(), name.size());
    a.value_at = values.size();
    a.size = size;
    a.in_block = in_block;
    TRY(values.reserve(values.size() + size));
    for (uint32_t i = 0; i < size; i++) TRY(values.push_back(value[i]));
    return items.push_back(a);
  }
  // Where an attribute is, or items.size().
  size_t find(const XattrName& name) const {
    for (size_t i = 0; i < items.size(); i++)
      if (items[i].index == name.index && items[i].name_view() == name.suffix) return i;
    return items.size();
  }
  void erase(size_t at) {
    for (size_t i = at; i + 1 < items.size(); i++) items[i] = items[i + 1];
    items.truncate(items.size() - 1);
  }
  // Bytes the attributes of one place take: entries, the 4-byte end mark, values.
  size_t used(bool in_block) const {
    size_t total = 4;
    for (const Attribute& a : items)
      if (a.in_block == in_block) total += entry_size(a.name_length) + value_room(a.size);
    return total;
  }
  bool any(bool in_block) const {
    for (const Attribute& a : items)
      if (a.in_block == in_block) return true;
    return false;
  }
};

// ext4_xattr_hash_entry: the name's bytes, then the value's 32-bit words (zero padded).
uint32_t entry_hash(std::string_view name, const std::byte* value, uint32_t size) {
  uint32_t hash = 0;
  for (char c : name) hash = (hash << 5) ^ (hash >> 27) ^ static_cast<uint8_t>(c);
  for (size_t i = 0; i < size; i += 4) {
    std::byte word[4] = {};
    memcpy(word, value + i, size - i < 4 ? size - i : 4);
    hash = (hash << 16) ^ (hash >> 16) ^ le32(word);
  }
  return hash;
}

// The block's checksum (metadata_csum): crc32c over the block number and the block with
// h_checksum as zero, seeded by the file system's seed.
uint32_t block_checksum(const Superblock& super, uint64_t number, std::span<std::byte> block) {
  std::byte number_bytes[8];
  memcpy(number_bytes, &number, 8);
  uint32_t saved = le32(block.data() + h_checksum);
  put32(block.data() + h_checksum, 0);
  uint32_t crc = crc32c(crc32c(super.csum_seed, number_bytes, 8), block.data(), block.size());
  put32(block.data() + h_checksum, saved);
  return crc;
}

// Reads the entries from `first` on, up to `end`, with values at `value_base` + offset.
Result<> parse_entries(Volume& volume, uint32_t ino, const std::byte* first, const std::byte* end,
                       const std::byte* value_base, bool in_block, AttributeSet& set) {
  auto corrupt = [&](const char* why) -> std::unexpected<Errno> {
    volume.report(why, ino);
    return error(Errno::eio);
  };
  const std::byte* entry = first;
  for (;;) {
    if (end - entry < 4) return corrupt("an extended attribute list runs past its area");
    if (le32(entry) == 0) return {};
    if (end - entry < static_cast<ptrdiff_t>(e_name)) return corrupt("an extended attribute list runs past its area");
    auto name_length = static_cast<uint8_t>(entry[e_name_len]);
    size_t size = le32(entry + e_value_size);
    size_t offset = le16(entry + e_value_offs);
    if (name_length == 0 || static_cast<size_t>(end - entry) < entry_size(name_length))
      return corrupt("an extended attribute entry is malformed");
    if (le32(entry + e_value_inum) != 0) {
      volume.report("an extended attribute value in its own inode (ea_inode) is not supported", ino);
      return error(Errno::eopnotsupp);
    }
    if (size && (value_base + offset < first || offset + size > static_cast<size_t>(end - value_base)))
      return corrupt("an extended attribute value lies outside its area");
    TRY(set.add(static_cast<uint8_t>(entry[e_name_index]),
                std::string_view(reinterpret_cast<const char*>(entry + e_name), name_length), value_base + offset,
                static_cast<uint32_t>(size), in_block));
    entry += entry_size(name_length);
  }
}

// The in-inode area: after the 128 bytes and i_extra_isize, to the end of the inode.
struct InodeArea {
  block::CachedBlock table;
  std::byte* start = nullptr;
  size_t size = 0;  // 0: no room (128-byte inodes)
};

Result<InodeArea> inode_area(Volume& volume, const Inode& inode) {
  InodeArea area;
  size_t offset = 0;
  area.table = TRY(volume.inode_table_block(inode.ino, &offset));
  size_t used = inode::kGoodOldSize + inode.extra_isize;
  if (volume.super().inode_size > used + 4) {
    area.start = area.table.mutable_data().data() + offset + used;
    area.size = volume.super().inode_size - used;
  }
  return area;
}

Result<> load(Volume& volume, const Inode& inode, AttributeSet& set) {
  InodeArea area = TRY(inode_area(volume, inode));
  if (area.size && le32(area.start) == kMagic) {
    const std::byte* first = area.start + 4;
    TRY(parse_entries(volume, inode.ino, first, area.start + area.size, first, false, set));
  }
  if (inode.xattr_block) {
    if (!volume.blocks_valid(inode.xattr_block, 1)) {
      volume.report("an extended attribute block lies outside the file system", inode.ino);
      return error(Errno::eio);
    }
    block::CachedBlock cached = TRY(volume.read_block(inode.xattr_block));
    std::span<const std::byte> data = cached.data();
    if (le32(data.data() + h_magic) != kMagic || le32(data.data() + h_blocks) != 1) {
      volume.report("an extended attribute block has a bad header", inode.ino);
      return error(Errno::eio);
    }
    if (volume.super().metadata_csum) {
      // Checked on a copy: the cached block stays as it is.
      GrowableArray<std::byte> copy;
      TRY(copy.reserve(data.size()));
      for (std::byte b : data) TRY(copy.push_back(b));
      if (block_checksum(volume.super(), inode.xattr_block, {copy.begin(), copy.size()}) !=
          le32(data.data() + h_checksum)) {
        volume.report("an extended attribute block checksum does not match", inode.ino);
        return error(Errno::eio);
      }
    }
    set.block_refcount = le32(data.data() + h_refcount);
    TRY(parse_entries(volume, inode.ino, data.data() + kBlockHeaderSize, data.data() + data.size(), data.data(), true,
                      set));
  }
  return {};
}

// Writes the entries of one place: from `first` on, values packed down from `values_end`,
// offsets counted from `value_base`. Returns the entries' hash (ext4_xattr_rehash) for a block.
uint32_t write_entries(const AttributeSet& set, bool in_block, const uint32_t* order, std::byte* first,
                       std::byte* values_end, std::byte* value_base) {
  std::byte* entry = first;
  std::byte* value_at = values_end;
  uint32_t block_hash = 0;
  for (size_t n = 0; n < set.items.size(); n++) {
    const Attribute& a = set.items[order ? order[n] : n];
    if (a.in_block != in_block) continue;
    uint32_t offset = 0;
    if (a.size) {
      value_at -= value_room(a.size);
      memcpy(value_at, set.value_of(a), a.size);
      offset = static_cast<uint32_t>(value_at - value_base);
    }
    uint32_t hash = entry_hash(a.name_view(), set.value_of(a), a.size);
    entry[e_name_len] = static_cast<std::byte>(a.name_length);
    entry[e_name_index] = static_cast<std::byte>(a.index);
    put16(entry + e_value_offs, static_cast<uint16_t>(offset));
    put32(entry + e_value_inum, 0);
    put32(entry + e_value_size, a.size);
    put32(entry + e_hash, hash);
    memcpy(entry + e_name, a.name, a.name_length);
    entry += entry_size(a.name_length);
    block_hash = (block_hash << 16) ^ (block_hash >> 16) ^ hash;
  }
  return block_hash;
}

// Gives back one share of block `number`: the last frees it.
Result<> drop_block_share(Volume& volume, uint64_t number, uint32_t refcount) {
  if (refcount <= 1) return volume.free_blocks(number, 1);
  block::CachedBlock cached = TRY(volume.write_block(number));
  std::span<std::byte> data = cached.mutable_data();
  put32(data.data() + h_refcount, refcount - 1);
  if (volume.super().metadata_csum) put32(data.data() + h_checksum, block_checksum(volume.super(), number, data));
  cached.mark_dirty();
  return {};
}

// The block part of store().
Result<> store_block(Volume& volume, Inode& inode, AttributeSet& set) {
  uint64_t sectors_per_block = volume.block_size() / 512;
  if (!set.any(true)) {
    if (inode.xattr_block) {
      TRY(drop_block_share(volume, inode.xattr_block, set.block_refcount));
      inode.xattr_block = 0;
      inode.sectors -= sectors_per_block;
    }
    return {};
  }
  uint64_t number = inode.xattr_block;
  block::CachedBlock cached;
  if (number && set.block_refcount == 1) {
    cached = TRY(volume.write_block(number));
  } else {
    const Superblock& super = volume.super();
    uint64_t goal = number ? number
                           : super.first_data_block + uint64_t{(inode.ino - 1) / super.inodes_per_group} * super.blocks_per_group;
    uint32_t got = 0;
    uint64_t fresh = TRY(volume.allocate_blocks(goal, 1, &got));
    auto made = volume.new_block(fresh);
    if (!made) {
      (void)volume.free_blocks(fresh, 1);
      return error(made.error());
    }
    if (number) {
      TRY(drop_block_share(volume, number, set.block_refcount));
    } else {
      inode.sectors += sectors_per_block;
    }
    cached = std::move(*made);
    number = fresh;
    inode.xattr_block = fresh;
    set.block_refcount = 1;
  }
  // Entries in the block are sorted by namespace, name length and name (Linux looks them up so).
  GrowableArray<uint32_t> order;
  for (size_t i = 0; i < set.items.size(); i++) TRY(order.push_back(static_cast<uint32_t>(i)));
  auto before = [&](const Attribute& a, const Attribute& b) {
    if (a.index != b.index) return a.index < b.index;
    if (a.name_length != b.name_length) return a.name_length < b.name_length;
    return memcmp(a.name, b.name, a.name_length) < 0;
  };
  for (size_t i = 1; i < order.size(); i++)
    for (size_t j = i; j > 0 && before(set.items[order[j]], set.items[order[j - 1]]); j--) {
      uint32_t swap = order[j];
      order[j] = order[j - 1];
      order[j - 1] = swap;
    }
  std::span<std::byte> data = cached.mutable_data();
  memset(data.data(), 0, data.size());
  put32(data.data() + h_magic, kMagic);
  put32(data.data() + h_refcount, 1);
  put32(data.data() + h_blocks, 1);
  uint32_t hash = write_entries(set, true, order.begin(), data.data() + kBlockHeaderSize, data.data() + data.size(),
                                data.data());
  put32(data.data() + h_hash, hash);
  if (volume.super().metadata_csum) put32(data.data() + h_checksum, block_checksum(volume.super(), number, data));
  cached.mark_dirty();
  return {};
}


// Writes the set back: the in-inode area, and the block (rewritten in place when this inode
// is its only user, else a new one; freed when empty).
Result<> store(Volume& volume, Inode& inode, AttributeSet& set) {
  // The block first: a failure there (ENOSPC) leaves everything as it was.
  TRY(store_block(volume, inode, set));
  InodeArea area = TRY(inode_area(volume, inode));
  if (area.size) {
    memset(area.start, 0, area.size);
    if (set.any(false)) {
      put32(area.start, kMagic);
      std::byte* first = area.start + 4;
      write_entries(set, false, nullptr, first, area.start + area.size, first);
    }
    area.table.mark_dirty();
  }
  return {};
}

}  // namespace

Result<XattrName> parse_xattr_name(std::string_view name) {
  for (const Namespace& space : kNamespaces) {
    if (name.substr(0, space.prefix.size()) != space.prefix) continue;
    if (name.size() == space.prefix.size()) return error(Errno::einval);
    return XattrName{space.index, name.substr(space.prefix.size())};
  }
  return error(Errno::eopnotsupp);
}

Result<size_t> get_xattr(Volume& volume, const Inode& inode, const XattrName& name, std::span<std::byte> value) {
  AttributeSet set;
  TRY(load(volume, inode, set));
  size_t at = set.find(name);
  if (at == set.items.size()) return error(Errno::enodata);
  const Attribute& a = set.items[at];
  if (value.empty()) return a.size;
  if (value.size() < a.size) return error(Errno::erange);
  memcpy(value.data(), set.value_of(a), a.size);
  return a.size;
}

Result<size_t> list_xattrs(Volume& volume, const Inode& inode, std::span<char> list) {
  AttributeSet set;
  TRY(load(volume, inode, set));
  size_t total = 0;
  for (const Attribute& a : set.items) {
    // Names of namespaces not served here (system.posix_acl_*, system.data) are not listed.
    const Namespace* space = nullptr;
    for (const Namespace& known : kNamespaces)
      if (known.index == a.index) space = &known;
    if (!space) continue;
    size_t length = space->prefix.size() + a.name_length + 1;
    if (!list.empty()) {
      if (list.size() - total < length) return error(Errno::erange);
      memcpy(list.data() + total, space->prefix.data(), space->prefix.size());
      memcpy(list.data() + total + space->prefix.size(), a.name, a.name_length);
      list[total + length - 1] = '\0';
    }
    total += length;
  }
  return total;
}

Result<> set_xattr(Volume& volume, Inode& inode, const XattrName& name, const std::byte* value, size_t size,
                   uint32_t flags) {
  if (!(volume.super().compat & kCompatExtAttr)) return error(Errno::eopnotsupp);
  if (name.suffix.empty() || name.suffix.size() > linux_abi::xattr_name_max) return error(Errno::erange);
  AttributeSet set;
  TRY(load(volume, inode, set));
  size_t at = set.find(name);
  bool found = at != set.items.size();
  if (!value) {
    if (!found) return error(Errno::enodata);
    set.erase(at);
    return store(volume, inode, set);
  }
  if (found && (flags & linux_abi::xattr_create)) return error(Errno::eexist);
  if (!found && (flags & linux_abi::xattr_replace)) return error(Errno::enodata);
  if (found) set.erase(at);
  TRY(set.add(name.index, name.suffix, value, static_cast<uint32_t>(size), false));
  // In the inode when it fits there (with the terminator and the magic), else in the block.
  InodeArea area = TRY(inode_area(volume, inode));
  if (area.size < 4 || set.used(false) > area.size - 4) {
    set.items[set.items.size() - 1].in_block = true;
    if (set.used(true) > volume.block_size() - kBlockHeaderSize) return error(Errno::enospc);
  }
  return store(volume, inode, set);
}

Result<> release_xattr_block(Volume& volume, Inode& inode) {
  if (!inode.xattr_block) return {};
  uint32_t refcount = 1;
  if (volume.blocks_valid(inode.xattr_block, 1)) {
    if (auto cached = volume.read_block(inode.xattr_block); cached && le32(cached->data().data()) == kMagic)
      refcount = le32(cached->data().data() + h_refcount);
  }
  TRY(drop_block_share(volume, inode.xattr_block, refcount));
  inode.xattr_block = 0;
  inode.sectors -= volume.block_size() / 512;
  return {};
}

// --- the vnode's operations ---

Result<size_t> Ext4Vnode::get_xattr(std::string_view name, std::span<std::byte> value) {
  XattrName parsed = TRY(parse_xattr_name(name));
  MutexGuard guard(ext4().lock());
  return ext4::get_xattr(volume(), m_inode, parsed, value);
}

Result<size_t> Ext4Vnode::list_xattrs(std::span<char> list) {
  MutexGuard guard(ext4().lock());
  return ext4::list_xattrs(volume(), m_inode, list);
}

Result<> Ext4Vnode::set_xattr(std::string_view name, std::span<const std::byte> value, uint32_t flags) {
  XattrName parsed = TRY(parse_xattr_name(name));
  MutexGuard guard(ext4().lock());
  if (!volume().writable()) return error(Errno::erofs);
  ext4().reap_orphans_locked();
  // A null pointer means "remove": an empty value must still point somewhere.
  static constexpr std::byte kEmpty{};
  TRY(ext4::set_xattr(volume(), m_inode, parsed, value.empty() ? &kEmpty : value.data(), value.size(), flags));
  TRY(store_locked(Touch::change));
  ext4().limit_dirty_locked();
  return {};
}

Result<> Ext4Vnode::remove_xattr(std::string_view name) {
  XattrName parsed = TRY(parse_xattr_name(name));
  MutexGuard guard(ext4().lock());
  if (!volume().writable()) return error(Errno::erofs);
  ext4().reap_orphans_locked();
  TRY(ext4::set_xattr(volume(), m_inode, parsed, nullptr, 0, 0));
  TRY(store_locked(Touch::change));
  ext4().limit_dirty_locked();
  return {};
}

}  // namespace nimbus::fs::ext4
