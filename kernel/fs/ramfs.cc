// RamFs itself, and the attributes and symlinks every ramfs node type shares.
#include "kernel/fs/ramfs.h"

#include "kernel/fs/ramfs_nodes.h"

namespace nimbus::fs {

RamFs::RamFs(PageAllocator& pages, ClockFunction clock) : FileSystem(clock), m_pages(pages) {}

RamFs::~RamFs() = default;

Result<> RamFs::init(uint32_t root_permissions) {
  NewNode node{VnodeType::directory, root_permissions & linux_abi::kPermissionMask};
  m_root = TRY(try_make_ref<RamDirectory>(*this, node, nullptr));
  return {};
}

RefPtr<Vnode> RamFs::root() { return m_root; }

StatFs RamFs::statfs() {
  StatFs result;
  result.type = linux_abi::tmpfs_magic;
  result.block_size = kPageSize;
  uint64_t used = m_data_pages.load(std::memory_order_relaxed);
  uint64_t available = m_pages.available_pages();
  result.blocks = used + available;
  result.blocks_free = available;
  result.blocks_available = available;
  uint64_t nodes = m_node_count.load(std::memory_order_relaxed);
  // Nodes cost heap memory only: report room for as many as there are free pages.
  result.files = nodes + available;
  result.files_free = available;
  result.dev_minor = device_minor();
  return result;
}

Result<> RamFs::set_backing(Vnode& file, std::span<const std::byte> bytes) {
  if (&file.fs() != this) return error(Errno::exdev);
  if (!file.is_regular()) return error(Errno::einval);
  static_cast<RamFile&>(file).set_backing(bytes);
  return {};
}

RamNode::RamNode(RamFs& fs, const NewNode& node)
    : Vnode(fs, node.type, fs.allocate_ino()),
      m_permissions(node.permissions & linux_abi::kPermissionMask),
      m_uid(node.uid),
      m_gid(node.gid),
      m_rdev_major(node.rdev_major),
      m_rdev_minor(node.rdev_minor) {
  int64_t now = fs.now();
  m_atime = m_mtime = m_ctime = m_btime = now;
  fs.node_count().fetch_add(1, std::memory_order_relaxed);
}

RamNode::~RamNode() { ramfs().node_count().fetch_sub(1, std::memory_order_relaxed); }

Stat RamNode::stat() {
  MutexGuard guard(m_lock);
  Stat result;
  result.dev_major = 0;
  result.dev_minor = fs().device_minor();
  result.ino = ino();
  result.mode = mode_type_bits(type()) | m_permissions;
  result.nlink = m_nlink;
  result.uid = m_uid;
  result.gid = m_gid;
  result.rdev_major = m_rdev_major;
  result.rdev_minor = m_rdev_minor;
  result.block_size = kPageSize;
  result.atime_ns = m_atime;
  result.mtime_ns = m_mtime;
  result.ctime_ns = m_ctime;
  result.btime_ns = m_btime;
  fill_stat_locked(result);
  return result;
}

Result<> RamNode::set_attributes(const SetAttributes& attributes) {
  MutexGuard guard(m_lock);
  if (attributes.mask & SetAttributes::mode) {
    m_permissions = attributes.mode_bits & linux_abi::kPermissionMask;
  }
  if (attributes.mask & SetAttributes::uid) m_uid = attributes.uid_value;
  if (attributes.mask & SetAttributes::gid) m_gid = attributes.gid_value;
  if (attributes.mask & SetAttributes::atime) m_atime = attributes.atime_ns;
  if (attributes.mask & SetAttributes::mtime) m_mtime = attributes.mtime_ns;
  if (attributes.mask) m_ctime = fs().now();
  return {};
}

void RamNode::add_link(int delta) {
  MutexGuard guard(m_lock);
  m_nlink = static_cast<uint32_t>(static_cast<int64_t>(m_nlink) + delta);
  m_ctime = fs().now();
}

uint32_t RamNode::link_count() {
  MutexGuard guard(m_lock);
  return m_nlink;
}

void RamNode::touch_change() {
  MutexGuard guard(m_lock);
  m_ctime = fs().now();
}

void RamNode::touch_modify() {
  MutexGuard guard(m_lock);
  m_mtime = m_ctime = fs().now();
}

RamSymlink::RamSymlink(RamFs& fs, const NewNode& node, char* target, size_t length)
    : RamNode(fs, node), m_target(target), m_length(length) {}

RamSymlink::~RamSymlink() { ::operator delete(m_target); }

Result<std::string_view> RamSymlink::link_target() { return std::string_view(m_target, m_length); }

void RamSymlink::fill_stat_locked(Stat& stat) { stat.size = m_length; }

}  // namespace nimbus::fs
