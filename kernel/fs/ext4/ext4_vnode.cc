// Ext4Vnode: stat and attributes from the inode, file reads and writes, directory listing,
// lookup and changes (create, link, unlink, rmdir, rename with its flags), symlinks.
#include "kernel/fs/ext4/ext4_vnode.h"

#include <cstring>

#include "kernel/fs/ext4/directory.h"
#include "kernel/fs/ext4/directory_write.h"
#include "kernel/fs/ext4/file_data.h"
#include "kernel/fs/ext4/file_write.h"
#include "kernel/fs/linux_abi.h"

namespace nimbus::fs::ext4 {
namespace {

constexpr size_t kMaxSymlink = 4096;      // PATH_MAX
constexpr uint16_t kMaxLinks = 65000;     // EXT4_LINK_MAX
constexpr uint32_t kRenameNoReplace = 1;  // RENAME_NOREPLACE
constexpr uint32_t kRenameExchange = 2;   // RENAME_EXCHANGE

VnodeType type_of(uint16_t mode) {
  VnodeType type = VnodeType::regular;
  type_from_mode(mode, &type);  // Volume::read_inode refused unknown types
  return type;
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

bool is_directory_mode(uint16_t mode) { return (mode & linux_abi::s_ifmt) == linux_abi::s_ifdir; }

// dir_nlink: past 65000 subdirectories a directory's count stays at 1 ("many").
void add_subdirectory_link(Inode& directory) {
  if (directory.links >= kMaxLinks || directory.links == 1) {
    directory.links = 1;
  } else {
    directory.links++;
  }
}
void drop_subdirectory_link(Inode& directory) {
  if (directory.links > 2) directory.links--;
}

}  // namespace

Ext4Vnode::Ext4Vnode(Ext4Fs& fs, const Inode& inode) : Vnode(fs, type_of(inode.mode), inode.ino), m_inode(inode) {
  m_entry.ino = inode.ino;
  m_entry.vnode = this;
}

Ext4Vnode::~Ext4Vnode() {
  ext4().vnode_dying(*this, m_inode);
  delete[] m_target;
}

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

Result<std::string_view> Ext4Vnode::link_target() {
  if (!is_symlink()) return error(Errno::einval);
  return std::string_view(m_target, m_target_length);
}

Stat Ext4Vnode::stat() {
  MutexGuard guard(ext4().lock());
  Stat result;
  result.dev_major = 0;
  result.dev_minor = fs().device_minor();
  result.ino = m_inode.ino;
  result.mode = m_inode.mode;
  result.nlink = m_inode.links;
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

Result<> Ext4Vnode::store_locked(Touch touch) {
  int64_t now = fs().now();
  if (touch != Touch::none) m_inode.ctime_ns = now;
  if (touch == Touch::modify) m_inode.mtime_ns = now;
  return volume().write_inode(m_inode);
}

Result<> Ext4Vnode::set_attributes(const SetAttributes& attributes) {
  MutexGuard guard(ext4().lock());
  if (!volume().writable()) return error(Errno::erofs);
  ext4().reap_orphans_locked();
  if (attributes.mask & SetAttributes::mode)
    m_inode.mode = static_cast<uint16_t>((m_inode.mode & linux_abi::s_ifmt) | (attributes.mode_bits & 07777));
  if (attributes.mask & SetAttributes::uid) m_inode.uid = attributes.uid_value;
  if (attributes.mask & SetAttributes::gid) m_inode.gid = attributes.gid_value;
  if (attributes.mask & SetAttributes::atime) m_inode.atime_ns = attributes.atime_ns;
  if (attributes.mask & SetAttributes::mtime) m_inode.mtime_ns = attributes.mtime_ns;
  return store_locked(Touch::change);
}

namespace {

constexpr uint64_t kPage = 4096;
// Readahead (Linux's ondemand readahead, simplified): a read that continues where the last one
// ended is sequential, and its window starts at 128 KiB (or four times the read) and doubles
// with each sequential read up to 2 MiB; any other read resets it and reads only what it asks.
constexpr uint32_t kInitialWindow = 32;
constexpr uint32_t kMaxWindow = 512;
// Pages looked up per lock hold on a read-write mount.
constexpr size_t kPagesPerHold = 32;

uint32_t next_window(ReadaheadState* state, uint64_t first, uint64_t end) {
  if (!state) return 0;
  uint64_t pages = end - first;
  uint32_t window = 0;
  bool sequential = first == state->next_index || (state->next_index && first + 1 == state->next_index);
  if (sequential || first == 0) {
    uint64_t grown = state->window ? uint64_t{state->window} * 2 : kInitialWindow;
    if (grown < pages * 4 && !state->window) grown = pages * 4;
    window = static_cast<uint32_t>(grown > kMaxWindow ? kMaxWindow : grown);
  }
  state->window = window;
  state->next_index = end;
  return window;
}

}  // namespace

Result<size_t> Ext4Vnode::read_at(uint64_t offset, std::span<std::byte> buffer, IoFlags flags) {
  if (!is_regular()) return Vnode::read_at(offset, buffer, {});
  PageCache* cache = ext4().page_cache();
  if (!cache) {
    MutexGuard guard(ext4().lock());
    return read_file_data(volume(), m_inode, offset, buffer);
  }
  if (flags.direct) return read_direct(offset, buffer);
  if (buffer.empty()) return 0;
  uint64_t first = offset / kPage;
  uint64_t end = (offset + buffer.size() + kPage - 1) / kPage;
  uint32_t window = next_window(flags.readahead, first, end);
  // A read-write mount looks pages up (and reads misses) under the file system's lock, so that
  // no write or truncate changes the file meanwhile; the copy to the program runs without it
  // (it may fault on a mapping of this very file system).
  bool locked = volume().writable();
  size_t done = 0;
  while (done < buffer.size()) {
    uint64_t frames[kPagesPerHold];
    size_t held = 0;
    uint64_t size = 0;
    {
      Mutex* lock = locked ? &ext4().lock() : nullptr;
      if (lock) lock->lock();
      size = m_inode.size;
      uint64_t position = offset + done;
      uint64_t limit = offset + buffer.size() < size ? offset + buffer.size() : size;
      for (uint64_t at = position; at < limit && held < kPagesPerHold; at = (at / kPage + 1) * kPage) {
        uint64_t index = at / kPage;
        uint64_t wanted = end - index;
        if (wanted < window) wanted = window;
        auto taken = cache->take_page_ahead(cache_key(), size, index, *this, static_cast<size_t>(wanted));
        if (!taken) {
          if (lock) lock->unlock();
          for (size_t i = 0; i < held; i++) cache->release_page(frames[i]);
          if (done) return done;
          return error(taken.error());
        }
        frames[held++] = *taken;
      }
      if (lock) lock->unlock();
    }
    if (held == 0) break;  // at the end of the file
    for (size_t i = 0; i < held; i++) {
      uint64_t position = offset + done;
      size_t in_page = position % kPage;
      uint64_t left = (size < offset + buffer.size() ? size : offset + buffer.size()) - position;
      size_t chunk = kPage - in_page < left ? kPage - in_page : static_cast<size_t>(left);
      memcpy(buffer.data() + done, cache->page_data(frames[i]) + in_page, chunk);
      done += chunk;
    }
    for (size_t i = 0; i < held; i++) cache->release_page(frames[i]);
  }
  return done;
}

bool Ext4Vnode::can_share_pages() const {
  return type() == VnodeType::regular && static_cast<Ext4Fs&>(fs()).page_cache();
}

Result<uint64_t> Ext4Vnode::take_cached_frame(uint64_t index, bool pin) {
  PageCache* cache = ext4().page_cache();
  if (!is_regular() || !cache) return error(Errno::enodev);
  if (!volume().writable()) return cache->take_page(cache_key(), m_inode.size, index, *this, pin);
  MutexGuard guard(ext4().lock());
  return cache->take_page(cache_key(), m_inode.size, index, *this, pin);
}

Result<> Ext4Vnode::prepare_shared_write(uint64_t index) {
  PageCache* cache = ext4().page_cache();
  if (!is_regular() || !cache) return error(Errno::enodev);
  if (!volume().writable()) return {};  // the mapping cannot be written: nothing to prepare
  MutexGuard guard(ext4().lock());
  uint64_t start = index * kPage;
  if (start >= m_inode.size) return {};  // past the end: a fault there is SIGBUS
  // The page is read (pinned) before its blocks are allocated, so that the new blocks' stale
  // contents never reach it; then the blocks are mapped (as Linux's page_mkwrite does), so
  // that write-back has somewhere to put what the mapping writes.
  uint64_t frame = TRY(cache->take_page(cache_key(), m_inode.size, index, *this, true));
  uint64_t length = m_inode.size - start < kPage ? m_inode.size - start : kPage;
  uint64_t sectors = m_inode.sectors;
  Result<> result;
  if (auto mapped = map_file_range(volume(), m_inode, start, static_cast<size_t>(length)); !mapped) {
    result = error(mapped.error());
  } else if (m_inode.sectors != sectors) {
    result = store_locked(Touch::none);
  }
  if (result) cache->mark_shared_writable(cache_key(), index);
  cache->release_page(frame);
  return result;
}

// The page cache's misses, from read_at, take_cached_frame and write_at: on a read-write mount
// always under the file system's lock (taken by those callers), so the extents do not change.
Result<> Ext4Vnode::read_pages(uint64_t first, std::span<std::byte* const> pages) {
  return read_file_pages(volume(), m_inode, first, pages);
}

Result<size_t> Ext4Vnode::write_at(uint64_t* offset, std::span<const std::byte> data, IoFlags flags) {
  if (is_directory()) return error(Errno::eisdir);
  if (!is_regular()) return Vnode::write_at(offset, data, flags);
  PageCache* cache = ext4().page_cache();
  if (cache && flags.direct) return write_direct(offset, data, flags.append);
  if (cache && !data.empty()) {
    // Fault the program's buffer in before taking the lock: a fault on a mapping of a file of
    // this file system takes the lock itself.
    volatile std::byte sink;
    for (size_t at = 0; at < data.size(); at += kPage) sink = data[at];
    sink = data[data.size() - 1];
    (void)sink;
  }
  MutexGuard guard(ext4().lock());
  if (!volume().writable()) return error(Errno::erofs);
  ext4().reap_orphans_locked();
  if (flags.append) *offset = m_inode.size;
  if (!cache) {
    auto written = write_file_data(volume(), m_inode, *offset, data);
    // Whatever part was written (and its blocks) is recorded even when the rest failed.
    if (auto stored = store_locked(Touch::modify); !stored && written) return error(stored.error());
    ext4().limit_dirty_locked();
    return written;
  }
  auto written = write_pages_locked(*offset, data);
  if (auto stored = store_locked(Touch::modify); !stored && written) return error(stored.error());
  ext4().limit_dirty_locked();
  ext4().limit_dirty_pages_locked();
  return written;
}

// A write through the page cache: the pages the write only partly covers are read first (with
// the old mapping, so that newly allocated blocks' stale contents never reach a page), then
// the blocks are mapped, then the bytes copied into the pages, which become dirty.
Result<size_t> Ext4Vnode::write_pages_locked(uint64_t offset, std::span<const std::byte> data) {
  PageCache* cache = ext4().page_cache();
  if (data.empty()) return 0;
  uint64_t old_size = m_inode.size;
  uint64_t first = offset / kPage;
  uint64_t last = (offset + data.size() - 1) / kPage;
  uint64_t edges[2] = {first, last};
  uint64_t held[2] = {0, 0};
  size_t held_count = 0;
  auto release_held = [&] {
    for (size_t i = 0; i < held_count; i++) cache->release_page(held[i]);
  };
  for (size_t edge = 0; edge < (first == last ? 1u : 2u); edge++) {
    uint64_t index = edges[edge];
    uint64_t start = index * kPage;
    bool whole = offset <= start && offset + data.size() >= start + kPage;
    if (whole || start >= old_size) continue;
    auto taken = cache->take_page(cache_key(), old_size, index, *this, false);
    if (!taken) {
      release_held();
      return error(taken.error());
    }
    held[held_count++] = *taken;
  }
  auto mapped = map_file_range(volume(), m_inode, offset, data.size());
  if (!mapped) {
    release_held();
    return error(mapped.error());
  }
  size_t done = 0;
  Result<> outcome;
  while (done < *mapped) {
    uint64_t position = offset + done;
    uint64_t index = position / kPage;
    size_t in_page = position % kPage;
    size_t chunk = kPage - in_page < *mapped - done ? kPage - in_page : *mapped - done;
    uint64_t start = index * kPage;
    bool whole = in_page == 0 && chunk == kPage;
    // A page not held is wholly written, or past the old end (zeros), or (a write cut short
    // by ENOSPC) one whose unwritten rest is still as on the disk: read it.
    auto taken = (whole || start >= old_size) ? cache->take_page_for_write(cache_key(), index)
                                              : cache->take_page(cache_key(), old_size, index, *this, false);
    if (!taken) {
      outcome = error(taken.error());
      break;
    }
    memcpy(cache->page_data(*taken) + in_page, data.data() + done, chunk);
    cache->mark_dirty(cache_key(), index);
    cache->release_page(*taken);
    done += chunk;
  }
  release_held();
  // The size covers only what reached the pages (map_file_range extended it to the mapping).
  if (m_inode.size > old_size && m_inode.size > offset + done) m_inode.size = offset + done > old_size ? offset + done : old_size;
  if (done == 0 && !outcome) return error(outcome.error());
  if (done == 0 && *mapped < data.size()) return error(Errno::enospc);
  return done;
}

Result<> Ext4Vnode::truncate(uint64_t size) {
  if (is_directory()) return error(Errno::eisdir);
  if (!is_regular()) return error(Errno::einval);
  MutexGuard guard(ext4().lock());
  if (!volume().writable()) return error(Errno::erofs);
  ext4().reap_orphans_locked();
  PageCache* cache = ext4().page_cache();
  if (cache && size < m_inode.size) {
    // The last page's tail reads as zeros if the file grows again, and the pages past the end
    // go (dirty ones too: their blocks are freed).
    if (size % kPage) {
      uint64_t frame = TRY(cache->take_page(cache_key(), m_inode.size, size / kPage, *this, false));
      memset(cache->page_data(frame) + size % kPage, 0, kPage - size % kPage);
      cache->mark_dirty(cache_key(), size / kPage);
      cache->release_page(frame);
    }
    cache->forget(cache_key(), (size + kPage - 1) / kPage);
  }
  auto truncated = truncate_file_data(volume(), m_inode, size, /*zero_tail=*/!cache);
  TRY(store_locked(Touch::modify));
  ext4().limit_dirty_locked();
  return truncated;
}

Result<uint64_t> Ext4Vnode::next_data(uint64_t offset) {
  if (!is_regular()) return Vnode::next_data(offset);
  MutexGuard guard(ext4().lock());
  return next_data_offset(volume(), m_inode, offset);
}

Result<uint64_t> Ext4Vnode::next_hole(uint64_t offset) {
  if (!is_regular()) return Vnode::next_hole(offset);
  MutexGuard guard(ext4().lock());
  return next_hole_offset(volume(), m_inode, offset);
}

Result<RefPtr<Vnode>> Ext4Vnode::lookup(std::string_view name) {
  if (!is_directory()) return error(Errno::enotdir);
  MutexGuard guard(ext4().lock());
  DirectoryEntry entry = TRY(find_entry(volume(), m_inode, name));
  return TRY(ext4().vnode_for_locked(entry.ino));
}

Result<> Ext4Vnode::begin_directory_change_locked() {
  if (!is_directory()) return error(Errno::enotdir);
  if (!volume().writable()) return error(Errno::erofs);
  if (m_inode.links == 0) return error(Errno::enoent);  // removed while open
  ext4().reap_orphans_locked();
  return {};
}

Result<RefPtr<Ext4Vnode>> Ext4Vnode::make_node_locked(std::string_view name, uint16_t mode, uint32_t uid, uint32_t gid,
                                                      const NewNode* node, std::string_view symlink_target) {
  if (name.size() > dir::kNameMax) return error(Errno::enametoolong);
  if (find_entry(volume(), m_inode, name)) return error(Errno::eexist);
  bool directory = is_directory_mode(mode);
  int64_t now = fs().now();
  Inode made = TRY(volume().allocate_inode(m_inode.ino, directory, now));
  made.mode = mode;
  made.uid = uid;
  made.gid = gid;
  made.links = directory ? 2 : 1;
  made.atime_ns = made.mtime_ns = made.ctime_ns = made.btime_ns = now;
  auto undo = [&](Errno why) -> std::unexpected<Errno> {
    if (made.has_extents()) (void)truncate_file_data(volume(), made, 0);
    made.links = 0;
    (void)volume().write_inode(made, static_cast<uint32_t>(now / 1'000'000'000));
    (void)volume().free_inode(made.ino, directory);
    return error(why);
  };
  VnodeType type = type_of(mode);
  if (type == VnodeType::character_device || type == VnodeType::block_device) {
    // new_encode_dev in i_block[1] (old_encode_dev in i_block[0] when both fit a byte).
    uint32_t major = node->rdev_major, minor = node->rdev_minor;
    if (major < 256 && minor < 256) {
      put32(made.block, (major << 8) | minor);
    } else {
      put32(made.block + 4, (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12));
    }
  } else if (type == VnodeType::symlink && symlink_target.size() < sizeof(made.block)) {
    memcpy(made.block, symlink_target.data(), symlink_target.size());  // a fast symlink
    made.size = symlink_target.size();
  } else if (type == VnodeType::regular || type == VnodeType::directory || type == VnodeType::symlink) {
    init_extent_root(made);
  }
  if (directory) {
    if (auto initialized = init_directory(volume(), made, m_inode.ino); !initialized) return undo(initialized.error());
  }
  if (type == VnodeType::symlink && symlink_target.size() >= sizeof(made.block)) {
    auto written = write_file_data(volume(), made, 0, {reinterpret_cast<const std::byte*>(symlink_target.data()),
                                                       symlink_target.size()});
    if (!written) return undo(written.error());
  }
  if (auto stored = volume().write_inode(made); !stored) return undo(stored.error());
  if (auto added = add_entry(volume(), m_inode, name, made.ino, file_type_of_mode(mode)); !added) {
    (void)store_locked(Touch::none);  // the directory may have grown before failing
    return undo(added.error());
  }
  if (directory) add_subdirectory_link(m_inode);
  TRY(store_locked(Touch::modify));
  RefPtr<Ext4Vnode> vnode = TRY(ext4().adopt_new_locked(made));
  TRY(vnode->load());
  return vnode;
}

Result<RefPtr<Vnode>> Ext4Vnode::create(std::string_view name, const NewNode& node) {
  MutexGuard guard(ext4().lock());
  TRY(begin_directory_change_locked());
  uint16_t mode = static_cast<uint16_t>(mode_type_bits(node.type) | (node.permissions & 07777));
  RefPtr<Ext4Vnode> made = TRY(make_node_locked(name, mode, node.uid, node.gid, &node, {}));
  ext4().limit_dirty_locked();
  return RefPtr<Vnode>(std::move(made));
}

Result<RefPtr<Vnode>> Ext4Vnode::symlink(std::string_view name, std::string_view target, uint32_t uid, uint32_t gid) {
  if (target.empty() || target.size() >= kMaxSymlink) return error(Errno::enametoolong);
  MutexGuard guard(ext4().lock());
  TRY(begin_directory_change_locked());
  uint16_t mode = static_cast<uint16_t>(linux_abi::s_iflnk | 0777);
  RefPtr<Ext4Vnode> made = TRY(make_node_locked(name, mode, uid, gid, nullptr, target));
  return RefPtr<Vnode>(std::move(made));
}

Result<> Ext4Vnode::link(std::string_view name, Vnode& target) {
  if (&target.fs() != &fs()) return error(Errno::exdev);
  if (target.is_directory()) return error(Errno::eperm);
  MutexGuard guard(ext4().lock());
  TRY(begin_directory_change_locked());
  auto& file = static_cast<Ext4Vnode&>(target);
  if (file.m_inode.links == 0) return error(Errno::enoent);
  if (file.m_inode.links >= kMaxLinks) return error(Errno::emlink);
  if (name.size() > dir::kNameMax) return error(Errno::enametoolong);
  if (find_entry(volume(), m_inode, name)) return error(Errno::eexist);
  auto added = add_entry(volume(), m_inode, name, file.m_inode.ino, file_type_of_mode(file.m_inode.mode));
  TRY(store_locked(added ? Touch::modify : Touch::none));
  TRY(added);
  file.m_inode.links++;
  return file.store_locked(Touch::change);
}

Result<> Ext4Vnode::unlink(std::string_view name) {
  RefPtr<Ext4Vnode> victim;  // released after the lock: it may be the file's last reference
  MutexGuard guard(ext4().lock());
  TRY(begin_directory_change_locked());
  DirectoryEntry entry = TRY(find_entry(volume(), m_inode, name));
  victim = TRY(ext4().vnode_for_locked(entry.ino));
  if (victim->is_directory()) return error(Errno::eisdir);
  TRY(remove_entry(volume(), m_inode, name));
  TRY(store_locked(Touch::modify));
  if (victim->m_inode.links) victim->m_inode.links--;
  return victim->store_locked(Touch::change);
}

bool Ext4Vnode::is_empty_directory_locked() {
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

Result<> Ext4Vnode::rmdir(std::string_view name) {
  RefPtr<Ext4Vnode> victim;
  MutexGuard guard(ext4().lock());
  TRY(begin_directory_change_locked());
  DirectoryEntry entry = TRY(find_entry(volume(), m_inode, name));
  victim = TRY(ext4().vnode_for_locked(entry.ino));
  if (!victim->is_directory()) return error(Errno::enotdir);
  if (!victim->is_empty_directory_locked()) return error(Errno::enotempty);
  TRY(remove_entry(volume(), m_inode, name));
  drop_subdirectory_link(m_inode);
  TRY(store_locked(Touch::modify));
  victim->m_inode.links = 0;
  return victim->store_locked(Touch::change);
}

Result<bool> Ext4Vnode::is_within_locked(uint32_t ancestor) {
  uint32_t ino = m_inode.ino;
  for (int depth = 0; depth < 4096; depth++) {
    if (ino == ancestor) return true;
    if (ino == inode::kRootIno) return false;
    Inode directory = TRY(volume().read_inode(ino));
    DirectoryEntry parent = TRY(find_entry(volume(), directory, ".."));
    ino = parent.ino;
  }
  volume().report("a directory loop", m_inode.ino);
  return error(Errno::eio);
}

Result<> Ext4Vnode::rename(std::string_view old_name, Vnode& new_directory, std::string_view new_name, uint32_t flags) {
  if (&new_directory.fs() != &fs()) return error(Errno::exdev);
  if (!new_directory.is_directory()) return error(Errno::enotdir);
  if (flags & ~(kRenameNoReplace | kRenameExchange)) return error(Errno::einval);
  RefPtr<Ext4Vnode> moving, replaced;  // released after the lock
  MutexGuard guard(ext4().lock());
  TRY(begin_directory_change_locked());
  auto& to = static_cast<Ext4Vnode&>(new_directory);
  if (to.m_inode.links == 0) return error(Errno::enoent);
  if (new_name.size() > dir::kNameMax) return error(Errno::enametoolong);
  DirectoryEntry source = TRY(find_entry(volume(), m_inode, old_name));
  moving = TRY(ext4().vnode_for_locked(source.ino));
  auto existing = find_entry(volume(), to.m_inode, new_name);
  if (!existing && existing.error() != Errno::enoent) return error(existing.error());
  if (existing) replaced = TRY(ext4().vnode_for_locked(existing->ino));
  if ((flags & kRenameNoReplace) && replaced) return error(Errno::eexist);
  if ((flags & kRenameExchange) && !replaced) return error(Errno::enoent);
  if (replaced && replaced.get() == moving.get()) return {};  // two names of one file
  bool moving_directory = moving->is_directory();
  bool replaced_directory = replaced && replaced->is_directory();
  bool across = &to != this;
  // A directory cannot move under itself.
  if (moving_directory && across && TRY(to.is_within_locked(moving->m_inode.ino))) return error(Errno::einval);
  if ((flags & kRenameExchange) && replaced_directory && across && TRY(is_within_locked(replaced->m_inode.ino)))
    return error(Errno::einval);

  uint8_t moving_type = file_type_of_mode(moving->m_inode.mode);
  if (flags & kRenameExchange) {
    uint8_t replaced_type = file_type_of_mode(replaced->m_inode.mode);
    TRY(set_entry(volume(), m_inode, old_name, replaced->m_inode.ino, replaced_type));
    TRY(set_entry(volume(), to.m_inode, new_name, moving->m_inode.ino, moving_type));
    if (across && moving_directory != replaced_directory) {
      if (moving_directory) {
        add_subdirectory_link(to.m_inode);
        drop_subdirectory_link(m_inode);
      } else {
        add_subdirectory_link(m_inode);
        drop_subdirectory_link(to.m_inode);
      }
    }
    if (across && moving_directory) TRY(set_entry(volume(), moving->m_inode, "..", to.m_inode.ino, 2));
    if (across && replaced_directory) TRY(set_entry(volume(), replaced->m_inode, "..", m_inode.ino, 2));
    TRY(moving->store_locked(Touch::change));
    TRY(replaced->store_locked(Touch::change));
    TRY(store_locked(Touch::modify));
    if (across) TRY(to.store_locked(Touch::modify));
    return {};
  }

  if (replaced) {
    if (moving_directory && !replaced_directory) return error(Errno::enotdir);
    if (!moving_directory && replaced_directory) return error(Errno::eisdir);
    if (replaced_directory && !replaced->is_empty_directory_locked()) return error(Errno::enotempty);
    TRY(set_entry(volume(), to.m_inode, new_name, moving->m_inode.ino, moving_type));
    if (replaced_directory) {
      replaced->m_inode.links = 0;
      drop_subdirectory_link(to.m_inode);
    } else if (replaced->m_inode.links) {
      replaced->m_inode.links--;
    }
    TRY(replaced->store_locked(Touch::change));
  } else {
    auto added = add_entry(volume(), to.m_inode, new_name, moving->m_inode.ino, moving_type);
    TRY(to.store_locked(added ? Touch::modify : Touch::none));
    TRY(added);
  }
  TRY(remove_entry(volume(), m_inode, old_name));
  if (moving_directory && across) {
    TRY(set_entry(volume(), moving->m_inode, "..", to.m_inode.ino, 2));
    drop_subdirectory_link(m_inode);
    add_subdirectory_link(to.m_inode);
  }
  TRY(moving->store_locked(Touch::change));
  TRY(store_locked(Touch::modify));
  if (across) TRY(to.store_locked(Touch::modify));
  return {};
}

Result<> Ext4Vnode::readdir(uint64_t* position, DirentSink& sink) {
  if (!is_directory()) return error(Errno::enotdir);
  MutexGuard guard(ext4().lock());
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
  MutexGuard guard(ext4().lock());
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
  MutexGuard guard(ext4().lock());
  return is_empty_directory_locked();
}

}  // namespace nimbus::fs::ext4
