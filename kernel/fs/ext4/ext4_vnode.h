// Ext4Vnode: one inode of a mounted ext4 volume as a Vnode. Its Inode is the one in-memory
// copy (the file system's table hands out one vnode per inode) and every change is stored
// into the inode table at once, under the file system's lock.
#pragma once

#include <cstdint>

#include "kernel/fs/ext4/ext4_fs.h"
#include "kernel/fs/ext4/inode.h"
#include "kernel/fs/page_cache.h"
#include "kernel/fs/vnode.h"

namespace nimbus::fs::ext4 {

class Ext4Vnode final : public Vnode, public PageSource {
 public:
  Ext4Vnode(Ext4Fs& fs, const Inode& inode);
  ~Ext4Vnode() override;

  // Loads what the vnode keeps besides the inode: a symlink's target.
  Result<> load();

  Stat stat() override;
  Result<> set_attributes(const SetAttributes& attributes) override;

  // Through the page cache (every kernel mount has it), with readahead sized by the open
  // file's sequential-read state.
  Result<size_t> read_at(uint64_t offset, std::span<std::byte> buffer, IoFlags flags) override;
  bool can_share_pages() const override;
  Result<uint64_t> take_cached_frame(uint64_t index, bool pin) override;
  Result<> prepare_shared_write(uint64_t index) override;
  // PageSource: the page cache's misses.
  Result<> read_pages(uint64_t first, std::span<std::byte* const> pages) override;
  Result<size_t> write_at(uint64_t* offset, std::span<const std::byte> data, IoFlags flags) override;
  Result<> truncate(uint64_t size) override;
  Result<uint64_t> next_data(uint64_t offset) override;
  Result<uint64_t> next_hole(uint64_t offset) override;
  // fallocate.cc
  Result<> allocate(uint32_t mode, uint64_t offset, uint64_t length) override;
  // xattr.cc
  Result<size_t> get_xattr(std::string_view name, std::span<std::byte> value) override;
  Result<size_t> list_xattrs(std::span<char> list) override;
  Result<> set_xattr(std::string_view name, std::span<const std::byte> value, uint32_t flags) override;
  Result<> remove_xattr(std::string_view name) override;

  Result<RefPtr<Vnode>> lookup(std::string_view name) override;
  Result<RefPtr<Vnode>> create(std::string_view name, const NewNode& node) override;
  Result<RefPtr<Vnode>> symlink(std::string_view name, std::string_view target, uint32_t uid, uint32_t gid) override;
  Result<> link(std::string_view name, Vnode& target) override;
  Result<> unlink(std::string_view name) override;
  Result<> rmdir(std::string_view name) override;
  Result<> rename(std::string_view old_name, Vnode& new_directory, std::string_view new_name, uint32_t flags) override;
  Result<> readdir(uint64_t* position, DirentSink& sink) override;
  Result<size_t> child_name(const Vnode& child, std::span<char> buffer) override;
  bool is_empty_directory() override;
  Result<std::string_view> link_target() override;

  VnodeTableEntry& table_entry() { return m_entry; }
  const Inode& inode() const { return m_inode; }

 private:
  Volume& volume() { return ext4().volume(); }
  Ext4Fs& ext4() { return static_cast<Ext4Fs&>(fs()); }
  // Every vnode of one inode shares its pages: the key is the volume and the inode number.
  CachedFileKey cache_key() { return CachedFileKey{&volume(), m_inode.ino}; }
  // Checks that this is a directory on a writable volume, and frees pending orphans.
  Result<> begin_directory_change_locked();
  // Stores the inode (after a change) with ctime (and mtime) now.
  enum class Touch : uint8_t { none, change, modify };
  Result<> store_locked(Touch touch);
  // A new inode of `mode` linked here as `name`; `fill` sets its contents.
  Result<RefPtr<Ext4Vnode>> make_node_locked(std::string_view name, uint16_t mode, uint32_t uid, uint32_t gid,
                                             const NewNode* node, std::string_view symlink_target);
  bool is_empty_directory_locked();
  // O_DIRECT (direct_io.cc): between the program's buffer and the disk, past the page cache.
  Result<> check_direct_alignment(uint64_t offset, const void* buffer, size_t length);
  Result<size_t> read_direct(uint64_t offset, std::span<std::byte> buffer);
  Result<size_t> write_direct(uint64_t* offset, std::span<const std::byte> data, bool append);
  // write_at through the page cache (see ext4_vnode.cc).
  Result<size_t> write_pages_locked(uint64_t offset, std::span<const std::byte> data);
  // Whether `ancestor` is this directory or one above it (rename must not move a directory
  // into itself).
  Result<bool> is_within_locked(uint32_t ancestor);

  Inode m_inode;
  VnodeTableEntry m_entry;
  char* m_target = nullptr;
  size_t m_target_length = 0;
};

}  // namespace nimbus::fs::ext4
