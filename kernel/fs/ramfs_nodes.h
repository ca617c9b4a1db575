// The node types of RamFs: files, directories, symlinks and special (device, fifo) nodes.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "kernel/fs/directory_table.h"
#include "kernel/fs/page_tree.h"
#include "kernel/fs/ramfs.h"
#include "kernel/fs/vnode.h"
#include "kernel/sync/mutex.h"

namespace nimbus::fs {

// Attributes every ramfs node has, under m_lock.
class RamNode : public Vnode {
 public:
  RamNode(RamFs& fs, const NewNode& node);
  ~RamNode() override;

  Stat stat() override;
  Result<> set_attributes(const SetAttributes& attributes) override;

  RamFs& ramfs() const { return static_cast<RamFs&>(fs()); }
  // Link count changes, under the namespace lock.
  void add_link(int delta);
  uint32_t link_count();
  // An O_TMPFILE file (without O_EXCL) may get a first name although it has no link; under
  // the namespace lock.
  bool linkable() const { return m_linkable; }
  void set_linkable(bool linkable) { m_linkable = linkable; }
  // "now" into ctime, or into mtime and ctime.
  void touch_change();
  void touch_modify();

 protected:
  // Adds the type-specific fields (size, blocks) to a stat under m_lock.
  virtual void fill_stat_locked(Stat&) {}

  Mutex m_lock;
  uint32_t m_permissions;
  uint32_t m_uid;
  uint32_t m_gid;
  uint32_t m_nlink = 1;
  bool m_linkable = false;
  uint32_t m_rdev_major;
  uint32_t m_rdev_minor;
  int64_t m_atime;
  int64_t m_mtime;
  int64_t m_ctime;
  int64_t m_btime;
};

class RamFile final : public RamNode {
 public:
  RamFile(RamFs& fs, const NewNode& node);
  ~RamFile() override;

  Result<size_t> read_at(uint64_t offset, std::span<std::byte> buffer, IoFlags flags) override;
  Result<size_t> write_at(uint64_t* offset, std::span<const std::byte> data, IoFlags flags) override;
  Result<> truncate(uint64_t size) override;
  Result<uint64_t> next_data(uint64_t offset) override;
  Result<uint64_t> next_hole(uint64_t offset) override;
  // tmpfs's fallocate: preallocation (pages of zeros) and PUNCH_HOLE; as Linux's shmem, no
  // ZERO_RANGE or block moving (EOPNOTSUPP).
  Result<> allocate(uint32_t mode, uint64_t offset, uint64_t length) override;
  bool can_share_pages() const override { return true; }
  // A page still borrowed from the backing bytes is copied first: the mapping may write.
  Result<> with_shared_page(uint64_t index, SharedPageUser& user) override;
  // A private mapping's page (exec's text and data): the file's own frame, copied from the
  // backing bytes first if still borrowed, with a share of it for the mapping (the pages are
  // frames with shared ownership: FramePageAllocator). Shared mappings (`pin`) go through
  // with_shared_page, which marks the pages for unmapping before truncate drops them.
  Result<uint64_t> take_cached_frame(uint64_t index, bool pin) override;

  void set_backing(std::span<const std::byte> bytes);

 private:
  void fill_stat_locked(Stat& stat) override;
  bool has_data_locked(uint64_t page_index) const;
  // The page for a write: existing, or new and filled from the backing or with zeros.
  Result<std::byte*> writable_page_locked(uint64_t page_index);
  void note_page_count_change(uint64_t before);

  PageTree m_pages;
  std::span<const std::byte> m_backing;  // borrowed bytes behind unwritten pages
  uint64_t m_size = 0;
  bool m_pages_shared = false;  // handed to a shared mapping: unmap them before dropping any
};

class RamDirectory final : public RamNode {
 public:
  RamDirectory(RamFs& fs, const NewNode& node, RamDirectory* parent);

  Stat stat() override;
  Result<RefPtr<Vnode>> lookup(std::string_view name) override;
  Result<RefPtr<Vnode>> create(std::string_view name, const NewNode& node) override;
  Result<RefPtr<Vnode>> create_unnamed(const NewNode& node, bool linkable) override;
  Result<RefPtr<Vnode>> symlink(std::string_view name, std::string_view target, uint32_t uid,
                                uint32_t gid) override;
  Result<> link(std::string_view name, Vnode& target) override;
  Result<> unlink(std::string_view name) override;
  Result<> rmdir(std::string_view name) override;
  Result<> rename(std::string_view old_name, Vnode& new_directory, std::string_view new_name,
                  uint32_t flags) override;
  Result<> readdir(uint64_t* position, DirentSink& sink) override;
  Result<size_t> child_name(const Vnode& child, std::span<char> buffer) override;
  bool is_empty_directory() override;

 private:
  // Links a new node under the namespace lock (EEXIST, ENOENT in a removed directory).
  Result<> attach_locked(std::string_view name, const RefPtr<Vnode>& node);
  // Whether this directory is `ancestor` or lies below it.
  bool is_within_locked(const RamDirectory* ancestor) const;
  Result<> exchange_locked(DirectoryTable::Entry* a, RamDirectory& b_directory,
                           DirectoryTable::Entry* b);

  DirectoryTable m_entries;
  // Not counted: a directory is linked in its parent while the link is set, and the root
  // has none. Cleared when the directory is removed.
  RamDirectory* m_parent;
  bool m_removed = false;
  // A removed directory's ".." still leads where it was (as Linux's d_parent does); the
  // reference is counted then, since nothing else keeps that parent alive for it.
  RefPtr<Vnode> m_former_parent;

  void mark_removed_locked();
};

class RamSymlink final : public RamNode {
 public:
  // Takes ownership of `target` (from ::operator new).
  RamSymlink(RamFs& fs, const NewNode& node, char* target, size_t length);
  ~RamSymlink() override;

  Result<std::string_view> link_target() override;

 private:
  void fill_stat_locked(Stat& stat) override;
  char* m_target;
  size_t m_length;
};

// Device nodes, fifos and sockets: attributes only. Their File gets the device (by rdev) or
// pipe that serves the I/O.
class RamSpecial final : public RamNode {
 public:
  RamSpecial(RamFs& fs, const NewNode& node) : RamNode(fs, node) {}
};

}  // namespace nimbus::fs
