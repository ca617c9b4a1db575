// Ext4Fs and its vnodes: stat from the inode, file reads, directory listing and lookup,
// symlink targets; every change is EROFS (writes are not implemented yet).
#include "kernel/fs/ext4/ext4_fs.h"

#include <cstring>

#include "kernel/fs/ext4/directory.h"
#include "kernel/fs/ext4/file_data.h"
#include "kernel/fs/linux_abi.h"

namespace nimbus::fs::ext4 {
namespace {

constexpr uint64_t kExt4Magic = 0xef53;  // EXT4_SUPER_MAGIC
constexpr uint64_t kStatFsReadOnly = 1;  // ST_RDONLY
constexpr size_t kMaxSymlink = 4096;     // PATH_MAX

VnodeType type_of(uint16_t mode) {
  VnodeType type = VnodeType::regular;
  type_from_mode(mode, &type);  // Volume::read_inode refused unknown types
  return type;
}

class Ext4Vnode final : public Vnode, public PageSource {
 public:
  Ext4Vnode(Ext4Fs& fs, const Inode& inode) : Vnode(fs, type_of(inode.mode), inode.ino), m_inode(inode) {}
  ~Ext4Vnode() override { delete[] m_target; }

  // Loads what the vnode keeps besides the inode: a symlink's target.
  Result<> load();

  Stat stat() override;
  Result<> set_attributes(const SetAttributes&) override { return error(Errno::erofs); }

  Result<size_t> read_at(uint64_t offset, std::span<std::byte> buffer, IoFlags) override {
    if (!is_regular()) return Vnode::read_at(offset, buffer, {});
    if (PageCache* cache = ext4().page_cache()) return cache->read(cache_key(), m_inode.size, offset, buffer, *this);
    return read_file_data(volume(), m_inode, offset, buffer);
  }
  bool can_share_pages() const override {
    return type() == VnodeType::regular && static_cast<Ext4Fs&>(fs()).page_cache();
  }
  Result<uint64_t> take_cached_frame(uint64_t index, bool pin) override {
    PageCache* cache = ext4().page_cache();
    if (!is_regular() || !cache) return error(Errno::enodev);
    return cache->take_page(cache_key(), m_inode.size, index, *this, pin);
  }
  // PageSource: the page cache's misses.
  Result<> read_pages(uint64_t first, std::span<std::byte* const> pages) override {
    return read_file_pages(volume(), m_inode, first, pages);
  }
  Result<size_t> write_at(uint64_t*, std::span<const std::byte>, IoFlags) override {
    return error(is_directory() ? Errno::eisdir : Errno::erofs);
  }
  Result<> truncate(uint64_t) override { return error(is_directory() ? Errno::eisdir : Errno::erofs); }
  Result<uint64_t> next_data(uint64_t offset) override {
    if (!is_regular()) return Vnode::next_data(offset);
    return next_data_offset(volume(), m_inode, offset);
  }
  Result<uint64_t> next_hole(uint64_t offset) override {
    if (!is_regular()) return Vnode::next_hole(offset);
    return next_hole_offset(volume(), m_inode, offset);
  }

  Result<RefPtr<Vnode>> lookup(std::string_view name) override;
  Result<RefPtr<Vnode>> create(std::string_view, const NewNode&) override { return directory_change(); }
  Result<RefPtr<Vnode>> symlink(std::string_view, std::string_view, uint32_t, uint32_t) override {
    return directory_change();
  }
  Result<> link(std::string_view, Vnode&) override { return directory_change_void(); }
  Result<> unlink(std::string_view) override { return directory_change_void(); }
  Result<> rmdir(std::string_view) override { return directory_change_void(); }
  Result<> rename(std::string_view, Vnode&, std::string_view, uint32_t) override { return directory_change_void(); }
  Result<> readdir(uint64_t* position, DirentSink& sink) override;
  Result<size_t> child_name(const Vnode& child, std::span<char> buffer) override;
  bool is_empty_directory() override;

  Result<std::string_view> link_target() override {
    if (!is_symlink()) return error(Errno::einval);
    return std::string_view(m_target, m_target_length);
  }

 private:
  Volume& volume() { return static_cast<Ext4Fs&>(fs()).volume(); }
  // Every vnode of one inode shares its pages: the key is the volume and the inode number.
  CachedFileKey cache_key() { return CachedFileKey{&volume(), m_inode.ino}; }
  Ext4Fs& ext4() { return static_cast<Ext4Fs&>(fs()); }
  Result<RefPtr<Vnode>> directory_change() {
    if (!is_directory()) return error(Errno::enotdir);
    return error(Errno::erofs);
  }
  Result<> directory_change_void() {
    if (!is_directory()) return error(Errno::enotdir);
    return error(Errno::erofs);
  }

  const Inode m_inode;
  char* m_target = nullptr;
  size_t m_target_length = 0;
};

Result<> Ext4Vnode::load() {
  if (!is_symlink()) return {};
  if (m_inode.size == 0 || m_inode.size >= kMaxSymlink) {
    volume().report("a symlink's length is out of range", m_inode.ino);
    return error(Errno::eio);
  }
  m_target_length = static_cast<size_t>(m_inode.size);
  m_target = new (kNoThrow) char[m_target_length];
  if (!m_target) return error(Errno::enomem);
  // A fast symlink keeps its target in i_block itself (shorter than i_block, no extents).
  if (!m_inode.has_extents() && m_inode.size < sizeof(m_inode.block)) {
    memcpy(m_target, m_inode.block, m_target_length);
    return {};
  }
  size_t read = TRY(read_file_data(volume(), m_inode, 0, {reinterpret_cast<std::byte*>(m_target), m_target_length}));
  if (read != m_target_length) return error(Errno::eio);
  return {};
}

Stat Ext4Vnode::stat() {
  Stat result;
  result.dev_major = 0;
  result.dev_minor = fs().device_minor();
  result.ino = m_inode.ino;
  result.mode = m_inode.mode;
  result.nlink = m_inode.links;
  // dir_nlink: a directory with more than 65,000 subdirectories counts 1 (Linux shows 1 too).
  result.uid = m_inode.uid;
  result.gid = m_inode.gid;
  if (type() == VnodeType::character_device || type() == VnodeType::block_device) {
    // The old encoding in i_block[0], else the new one in i_block[1] (ext4_read_inode).
    uint32_t old_dev = le32(m_inode.block);
    uint32_t new_dev = le32(m_inode.block + 4);
    if (old_dev) {
      result.rdev_major = (old_dev >> 8) & 0xff;
      result.rdev_minor = old_dev & 0xff;
    } else {
      result.rdev_major = (new_dev & 0xfff00) >> 8;
      result.rdev_minor = (new_dev & 0xff) | ((new_dev >> 12) & 0xfff00);
    }
  }
  result.size = m_inode.size;
  result.block_size = volume().block_size();
  result.blocks = m_inode.sectors;
  result.atime_ns = m_inode.atime_ns;
  result.mtime_ns = m_inode.mtime_ns;
  result.ctime_ns = m_inode.ctime_ns;
  result.btime_ns = m_inode.btime_ns;
  return result;
}

Result<RefPtr<Vnode>> Ext4Vnode::lookup(std::string_view name) {
  if (!is_directory()) return error(Errno::enotdir);
  DirectoryEntry entry = TRY(find_entry(volume(), m_inode, name));
  return ext4().vnode_for(entry.ino);
}

VnodeType type_from_file_type(uint8_t file_type) {
  switch (file_type) {
    case 2: return VnodeType::directory;
    case 3: return VnodeType::character_device;
    case 4: return VnodeType::block_device;
    case 5: return VnodeType::fifo;
    case 6: return VnodeType::socket;
    case 7: return VnodeType::symlink;
    default: return VnodeType::regular;
  }
}

Result<> Ext4Vnode::readdir(uint64_t* position, DirentSink& sink) {
  if (!is_directory()) return error(Errno::enotdir);
  return list_directory(
      volume(), m_inode, position,
      [](void* context, const DirectoryEntry& entry) {
        return static_cast<DirentSink*>(context)->emit(
            DirentInfo{entry.name, entry.ino, type_from_file_type(entry.file_type), entry.next_position});
      },
      &sink);
}

Result<size_t> Ext4Vnode::child_name(const Vnode& child, std::span<char> buffer) {
  if (!is_directory()) return error(Errno::enotdir);
  struct Search {
    uint64_t ino;
    std::span<char> buffer;
    Result<size_t> found;
  } search{child.ino(), buffer, error(Errno::enoent)};
  uint64_t position = 0;
  TRY(list_directory(
      volume(), m_inode, &position,
      [](void* context, const DirectoryEntry& entry) {
        auto* s = static_cast<Search*>(context);
        if (entry.ino != s->ino || entry.name == "." || entry.name == "..") return true;
        if (entry.name.size() > s->buffer.size()) {
          s->found = error(Errno::erange);
        } else {
          memcpy(s->buffer.data(), entry.name.data(), entry.name.size());
          s->found = entry.name.size();
        }
        return false;
      },
      &search));
  return search.found;
}

bool Ext4Vnode::is_empty_directory() {
  if (!is_directory()) return false;
  bool empty = true;
  uint64_t position = 0;
  auto listed = list_directory(
      volume(), m_inode, &position,
      [](void* context, const DirectoryEntry& entry) {
        if (entry.name == "." || entry.name == "..") return true;
        *static_cast<bool*>(context) = false;
        return false;
      },
      &empty);
  return listed && empty;
}

}  // namespace

Result<Ext4Fs*> Ext4Fs::try_mount(block::BlockDevice& device, ClockFunction clock, const char** problem,
                                  PageCache* page_cache) {
  Volume* volume = TRY(Volume::try_open(device, problem));
  auto* fs = new (kNoThrow) Ext4Fs(clock, volume, page_cache);
  if (!fs) {
    delete volume;
    *problem = "out of memory";
    return error(Errno::enomem);
  }
  auto root = fs->vnode_for(inode::kRootIno);
  if (!root || !(*root)->is_directory()) {
    *problem = volume->last_problem() ? volume->last_problem() : "the root inode is not a directory";
    root = error(Errno::einval);
    delete fs;
    return error(Errno::einval);
  }
  fs->m_root = *root;
  return fs;
}

Ext4Fs::~Ext4Fs() {
  for (RefPtr<Vnode>& point : m_mount_points) point = nullptr;
  m_root = nullptr;
  delete m_volume;
}

Result<> Ext4Fs::keep_mount_point(const RefPtr<Vnode>& point) {
  if (point == m_root) return {};
  MutexGuard guard(m_mount_points_lock);
  for (size_t i = 0; i < m_mount_point_count; i++)
    if (m_mount_points[i] == point) return {};
  if (m_mount_point_count == kMaxMountPoints) return error(Errno::enospc);
  m_mount_points[m_mount_point_count++] = point;
  return {};
}

Result<RefPtr<Vnode>> Ext4Fs::vnode_for(uint32_t ino) {
  if (ino == inode::kRootIno && m_root) return m_root;
  {
    MutexGuard guard(m_mount_points_lock);
    for (size_t i = 0; i < m_mount_point_count; i++)
      if (m_mount_points[i]->ino() == ino) return m_mount_points[i];
  }
  Inode inode = TRY(m_volume->read_inode(ino));
  auto* vnode = new (kNoThrow) Ext4Vnode(*this, inode);
  if (!vnode) return error(Errno::enomem);
  RefPtr<Vnode> reference = adopt_ref(static_cast<Vnode*>(vnode));
  TRY(vnode->load());
  return reference;
}

StatFs Ext4Fs::statfs() {
  const Superblock& super = m_volume->super();
  StatFs result;
  result.type = kExt4Magic;
  result.block_size = super.block_size;
  result.blocks = super.block_count;
  result.blocks_free = super.free_blocks;
  result.blocks_available = super.free_blocks > super.reserved_blocks ? super.free_blocks - super.reserved_blocks : 0;
  result.files = super.inode_count;
  result.files_free = super.free_inodes;
  result.dev_minor = device_minor();
  result.flags = kStatFsReadOnly;
  return result;
}

}  // namespace nimbus::fs::ext4
