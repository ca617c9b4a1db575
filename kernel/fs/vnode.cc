// Vnode defaults (the errors Linux gives for unsupported operations) and type conversions.
#include "kernel/fs/vnode.h"

namespace nimbus::fs {

using namespace linux_abi;

namespace {
// Anonymous device minors, one per file system instance (Linux's get_anon_bdev()).
std::atomic<uint32_t> g_next_device_minor{1};

std::atomic<SharedPageUnmapper> g_shared_page_unmapper{nullptr};

Errno not_a_directory_error(const Vnode& vnode) {
  return vnode.is_directory() ? Errno::eisdir : Errno::einval;
}
}  // namespace

uint32_t mode_type_bits(VnodeType type) {
  switch (type) {
    case VnodeType::regular: return s_ifreg;
    case VnodeType::directory: return s_ifdir;
    case VnodeType::symlink: return s_iflnk;
    case VnodeType::character_device: return s_ifchr;
    case VnodeType::block_device: return s_ifblk;
    case VnodeType::fifo: return s_ififo;
    case VnodeType::socket: return s_ifsock;
  }
  return 0;
}

bool type_from_mode(uint32_t mode, VnodeType* type) {
  switch (mode & s_ifmt) {
    case s_ifreg: *type = VnodeType::regular; return true;
    case s_ifdir: *type = VnodeType::directory; return true;
    case s_iflnk: *type = VnodeType::symlink; return true;
    case s_ifchr: *type = VnodeType::character_device; return true;
    case s_ifblk: *type = VnodeType::block_device; return true;
    case s_ififo: *type = VnodeType::fifo; return true;
    case s_ifsock: *type = VnodeType::socket; return true;
    default: return false;
  }
}

uint8_t dirent_type(VnodeType type) {
  switch (type) {
    case VnodeType::regular: return dt_reg;
    case VnodeType::directory: return dt_dir;
    case VnodeType::symlink: return dt_lnk;
    case VnodeType::character_device: return dt_chr;
    case VnodeType::block_device: return dt_blk;
    case VnodeType::fifo: return dt_fifo;
    case VnodeType::socket: return dt_sock;
  }
  return dt_unknown;
}

void set_shared_page_unmapper(SharedPageUnmapper unmapper) {
  g_shared_page_unmapper.store(unmapper, std::memory_order_release);
}

void unmap_shared_pages(const Vnode& file, uint64_t first) {
  if (SharedPageUnmapper unmapper = g_shared_page_unmapper.load(std::memory_order_acquire)) unmapper(file, first);
}

FileSystem::FileSystem(ClockFunction clock)
    : m_clock(clock), m_device_minor(g_next_device_minor.fetch_add(1, std::memory_order_relaxed)) {}

Result<size_t> Vnode::read_at(uint64_t, std::span<std::byte>, IoFlags) {
  return error(not_a_directory_error(*this));
}
Result<size_t> Vnode::write_at(uint64_t*, std::span<const std::byte>, IoFlags) {
  return error(not_a_directory_error(*this));
}
Result<> Vnode::truncate(uint64_t) { return error(not_a_directory_error(*this)); }

Result<> Vnode::with_shared_page(uint64_t, SharedPageUser&) { return error(Errno::enodev); }
Result<uint64_t> Vnode::next_data(uint64_t) { return error(Errno::einval); }
Result<uint64_t> Vnode::next_hole(uint64_t) { return error(Errno::einval); }
Result<> Vnode::allocate(uint32_t, uint64_t, uint64_t) { return error(Errno::eopnotsupp); }

// Without extended attributes (ramfs, procfs, devices): nothing is found, the list is empty,
// and nothing can be stored.
Result<size_t> Vnode::get_xattr(std::string_view, std::span<std::byte>) { return error(Errno::enodata); }
Result<size_t> Vnode::list_xattrs(std::span<char>) { return 0; }
Result<> Vnode::set_xattr(std::string_view, std::span<const std::byte>, uint32_t) {
  return error(Errno::eopnotsupp);
}
Result<> Vnode::remove_xattr(std::string_view) { return error(Errno::eopnotsupp); }

Result<RefPtr<Vnode>> Vnode::lookup(std::string_view) { return error(Errno::enotdir); }
Result<RefPtr<Vnode>> Vnode::create(std::string_view, const NewNode&) { return error(Errno::enotdir); }
Result<RefPtr<Vnode>> Vnode::create_unnamed(const NewNode&, bool) {
  return error(is_directory() ? Errno::eopnotsupp : Errno::enotdir);
}
Result<RefPtr<Vnode>> Vnode::symlink(std::string_view, std::string_view, uint32_t, uint32_t) {
  return error(Errno::enotdir);
}
Result<> Vnode::link(std::string_view, Vnode&) { return error(Errno::enotdir); }
Result<> Vnode::unlink(std::string_view) { return error(Errno::enotdir); }
Result<> Vnode::rmdir(std::string_view) { return error(Errno::enotdir); }
Result<> Vnode::rename(std::string_view, Vnode&, std::string_view, uint32_t) {
  return error(Errno::enotdir);
}
Result<> Vnode::readdir(uint64_t*, DirentSink&) { return error(Errno::enotdir); }
Result<size_t> Vnode::child_name(const Vnode&, std::span<char>) { return error(Errno::enotdir); }
bool Vnode::is_empty_directory() { return false; }
Result<std::string_view> Vnode::link_target() { return error(Errno::einval); }

}  // namespace nimbus::fs
