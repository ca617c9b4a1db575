// RamDirectory: lookup, creation, links, removal, rename and readdir under the namespace lock.
#include <cstring>

#include "kernel/fs/ramfs_nodes.h"

namespace nimbus::fs {
namespace {

// tmpfs's BOGO_DIRENT_SIZE: a directory's st_size grows by this much per entry.
constexpr uint64_t kBogoDirentSize = 20;

RamNode& as_ram(Vnode& vnode) { return static_cast<RamNode&>(vnode); }
RamDirectory& as_directory(Vnode& vnode) { return static_cast<RamDirectory&>(vnode); }

Result<RefPtr<Vnode>> make_node(RamFs& fs, const NewNode& node, RamDirectory* parent) {
  switch (node.type) {
    case VnodeType::regular: return TRY(try_make_ref<RamFile>(fs, node));
    case VnodeType::directory: return TRY(try_make_ref<RamDirectory>(fs, node, parent));
    case VnodeType::symlink: return error(Errno::einval);
    case VnodeType::character_device:
    case VnodeType::block_device:
    case VnodeType::fifo:
    case VnodeType::socket: return TRY(try_make_ref<RamSpecial>(fs, node));
  }
  return error(Errno::einval);
}

}  // namespace

RamDirectory::RamDirectory(RamFs& fs, const NewNode& node, RamDirectory* parent)
    : RamNode(fs, node), m_parent(parent) {
  m_nlink = 2;
}

Stat RamDirectory::stat() {
  uint64_t entries;
  {
    MutexGuard guard(ramfs().namespace_lock());
    entries = m_entries.size();
  }
  Stat result = RamNode::stat();
  result.size = (entries + 2) * kBogoDirentSize;
  return result;
}

Result<RefPtr<Vnode>> RamDirectory::lookup(std::string_view name) {
  MutexGuard guard(ramfs().namespace_lock());
  if (name == ".") return RefPtr<Vnode>(this);
  if (name == "..") {
    if (m_removed) return m_former_parent;
    return RefPtr<Vnode>(m_parent ? m_parent : this);
  }
  if (m_removed) return error(Errno::enoent);
  DirectoryTable::Entry* entry = m_entries.find(name);
  if (!entry) return error(Errno::enoent);
  return entry->node;
}

Result<> RamDirectory::attach_locked(std::string_view name, const RefPtr<Vnode>& node) {
  if (m_removed) return error(Errno::enoent);
  if (m_entries.find(name)) return error(Errno::eexist);
  TRY(m_entries.insert(name, node));
  return {};
}

Result<RefPtr<Vnode>> RamDirectory::create(std::string_view name, const NewNode& node) {
  RefPtr<Vnode> created = TRY(make_node(ramfs(), node, this));
  MutexGuard guard(ramfs().namespace_lock());
  TRY(attach_locked(name, created));
  if (created->is_directory()) add_link(1);
  touch_modify();
  return created;
}

Result<RefPtr<Vnode>> RamDirectory::create_unnamed(const NewNode& node, bool linkable) {
  if (node.type != VnodeType::regular) return error(Errno::einval);
  RefPtr<Vnode> created = TRY(make_node(ramfs(), node, this));
  MutexGuard guard(ramfs().namespace_lock());
  if (m_removed) return error(Errno::enoent);
  as_ram(*created).add_link(-1);
  as_ram(*created).set_linkable(linkable);
  return created;
}

Result<RefPtr<Vnode>> RamDirectory::symlink(std::string_view name, std::string_view target,
                                            uint32_t uid, uint32_t gid) {
  if (target.empty()) return error(Errno::enoent);
  if (target.size() >= linux_abi::path_max) return error(Errno::enametoolong);
  auto* copy = static_cast<char*>(::operator new(target.size(), kNoThrow));
  if (!copy) return error(Errno::enomem);
  memcpy(copy, target.data(), target.size());
  NewNode node{VnodeType::symlink, 0777, uid, gid};
  auto created = try_make_ref<RamSymlink>(ramfs(), node, copy, target.size());
  if (!created) {
    ::operator delete(copy);
    return error(created.error());
  }
  RefPtr<Vnode> link = std::move(*created);
  MutexGuard guard(ramfs().namespace_lock());
  TRY(attach_locked(name, link));
  touch_modify();
  return link;
}

Result<> RamDirectory::link(std::string_view name, Vnode& target) {
  if (&target.fs() != &fs()) return error(Errno::exdev);
  if (target.is_directory()) return error(Errno::eperm);
  MutexGuard guard(ramfs().namespace_lock());
  // A file whose last name is gone cannot get a new one (Linux's ENOENT for nlink 0), but
  // for an O_TMPFILE file's first.
  if (as_ram(target).link_count() == 0 && !as_ram(target).linkable()) return error(Errno::enoent);
  TRY(attach_locked(name, RefPtr<Vnode>(&target)));
  as_ram(target).add_link(1);
  as_ram(target).set_linkable(false);
  touch_modify();
  return {};
}

Result<> RamDirectory::unlink(std::string_view name) {
  RefPtr<Vnode> removed;  // dropped after the lock: freeing a file's pages can take a while
  MutexGuard guard(ramfs().namespace_lock());
  if (m_removed) return error(Errno::enoent);
  DirectoryTable::Entry* entry = m_entries.find(name);
  if (!entry) return error(Errno::enoent);
  if (entry->node->is_directory()) return error(Errno::eisdir);
  removed = m_entries.remove(entry);
  as_ram(*removed).add_link(-1);
  touch_modify();
  return {};
}

Result<> RamDirectory::rmdir(std::string_view name) {
  RefPtr<Vnode> removed;
  MutexGuard guard(ramfs().namespace_lock());
  if (m_removed) return error(Errno::enoent);
  DirectoryTable::Entry* entry = m_entries.find(name);
  if (!entry) return error(Errno::enoent);
  if (!entry->node->is_directory()) return error(Errno::enotdir);
  RamDirectory& directory = as_directory(*entry->node);
  if (directory.m_entries.size()) return error(Errno::enotempty);
  removed = m_entries.remove(entry);
  directory.mark_removed_locked();
  add_link(-1);
  touch_modify();
  return {};
}

void RamDirectory::mark_removed_locked() {
  m_removed = true;
  m_former_parent = RefPtr<Vnode>(m_parent);
  m_parent = nullptr;
  add_link(-2);
}

bool RamDirectory::is_within_locked(const RamDirectory* ancestor) const {
  for (const RamDirectory* directory = this; directory; directory = directory->m_parent) {
    if (directory == ancestor) return true;
  }
  return false;
}

Result<> RamDirectory::exchange_locked(DirectoryTable::Entry* a, RamDirectory& b_directory,
                                       DirectoryTable::Entry* b) {
  if (a->node == b->node) return {};
  bool a_is_directory = a->node->is_directory();
  bool b_is_directory = b->node->is_directory();
  if (a_is_directory && b_directory.is_within_locked(&as_directory(*a->node))) {
    return error(Errno::einval);
  }
  if (b_is_directory && is_within_locked(&as_directory(*b->node))) return error(Errno::einval);
  a->node.swap(b->node);
  if (this != &b_directory) {
    // a->node and b->node are now swapped: a's entry holds what came from b.
    if (b_is_directory) as_directory(*a->node).m_parent = this;
    if (a_is_directory) as_directory(*b->node).m_parent = &b_directory;
    if (a_is_directory != b_is_directory) {
      add_link(a_is_directory ? -1 : 1);
      b_directory.add_link(a_is_directory ? 1 : -1);
    }
    b_directory.touch_modify();
  }
  touch_modify();
  as_ram(*a->node).touch_change();
  as_ram(*b->node).touch_change();
  return {};
}

Result<> RamDirectory::rename(std::string_view old_name, Vnode& new_directory,
                              std::string_view new_name, uint32_t flags) {
  using namespace linux_abi;
  if (flags & ~(rename_noreplace | rename_exchange)) return error(Errno::einval);
  if ((flags & rename_noreplace) && (flags & rename_exchange)) return error(Errno::einval);
  if (&new_directory.fs() != &fs()) return error(Errno::exdev);
  if (!new_directory.is_directory()) return error(Errno::enotdir);
  RamDirectory& target = as_directory(new_directory);

  RefPtr<Vnode> replaced;  // both dropped after the lock
  RefPtr<Vnode> old_link;
  MutexGuard guard(ramfs().namespace_lock());
  if (m_removed || target.m_removed) return error(Errno::enoent);
  DirectoryTable::Entry* old_entry = m_entries.find(old_name);
  if (!old_entry) return error(Errno::enoent);
  DirectoryTable::Entry* new_entry = target.m_entries.find(new_name);
  if (flags & rename_exchange) {
    if (!new_entry) return error(Errno::enoent);
    return exchange_locked(old_entry, target, new_entry);
  }
  if (new_entry && (flags & rename_noreplace)) return error(Errno::eexist);
  RefPtr<Vnode> moving = old_entry->node;
  // Two names of one file: POSIX says rename does nothing.
  if (new_entry && new_entry->node == moving) return {};
  bool moving_directory = moving->is_directory();
  if (moving_directory) {
    if (target.is_within_locked(&as_directory(*moving))) return error(Errno::einval);
    if (new_entry && !new_entry->node->is_directory()) return error(Errno::enotdir);
    if (new_entry && as_directory(*new_entry->node).m_entries.size()) return error(Errno::enotempty);
  } else if (new_entry && new_entry->node->is_directory()) {
    return error(Errno::eisdir);
  }

  if (new_entry) {
    replaced = std::move(new_entry->node);
    new_entry->node = moving;
  } else {
    TRY(target.m_entries.insert(new_name, moving));
  }
  old_link = m_entries.remove(old_entry);

  if (replaced && replaced->is_directory()) {
    as_directory(*replaced).mark_removed_locked();
    target.add_link(-1);
  } else if (replaced) {
    as_ram(*replaced).add_link(-1);
  }
  if (moving_directory && this != &target) {
    as_directory(*moving).m_parent = &target;
    add_link(-1);
    target.add_link(1);
  }
  touch_modify();
  if (this != &target) target.touch_modify();
  as_ram(*moving).touch_change();
  return {};
}

Result<> RamDirectory::readdir(uint64_t* position, DirentSink& sink) {
  MutexGuard guard(ramfs().namespace_lock());
  // Linux lists nothing in a removed directory, with ENOENT.
  if (m_removed) return error(Errno::enoent);
  if (*position == 0) {
    if (!sink.emit({".", ino(), VnodeType::directory, 1})) return {};
    *position = 1;
  }
  if (*position == 1) {
    uint64_t parent_ino = m_parent ? m_parent->ino() : ino();
    if (!sink.emit({"..", parent_ino, VnodeType::directory, 2})) return {};
    *position = 2;
  }
  m_entries.for_each_from(*position, [&](const DirectoryTable::Entry& entry) {
    if (!sink.emit({entry.name(), entry.node->ino(), entry.node->type(), entry.cookie + 1})) return false;
    *position = entry.cookie + 1;
    return true;
  });
  return {};
}

Result<size_t> RamDirectory::child_name(const Vnode& child, std::span<char> buffer) {
  MutexGuard guard(ramfs().namespace_lock());
  DirectoryTable::Entry* entry = m_entries.find_node(&child);
  if (!entry) return error(Errno::enoent);
  std::string_view name = entry->name();
  if (name.size() > buffer.size()) return error(Errno::erange);
  memcpy(buffer.data(), name.data(), name.size());
  return name.size();
}

bool RamDirectory::is_empty_directory() {
  MutexGuard guard(ramfs().namespace_lock());
  return m_entries.size() == 0;
}

}  // namespace nimbus::fs
