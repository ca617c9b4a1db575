// The extended attribute syscalls (get/list/set/removexattr and their l- and f- forms): names
// and values copied in and out of the application, Linux's VFS checks (fs/xattr.c), and the
// file system's vnode does the rest (ext4 stores them; others have none).
#include <cstring>

#include "kernel/fs/fs.h"
#include "kernel/fs/linux_abi.h"
#include "kernel/linux/file_syscalls.h"
#include "kernel/linux/syscalls.h"
#include "kernel/linux/user_memory.h"
#include "kernel/mm/heap.h"

namespace nimbus::linux {
namespace {

using namespace fs::linux_abi;
constexpr size_t kPathMax = 4096;

// A buffer on the heap (paths and values are too big for kernel stacks).
class HeapBuffer {
 public:
  explicit HeapBuffer(size_t size) : m_data(size ? static_cast<std::byte*>(heap::allocate(size)) : nullptr), m_size(size) {}
  ~HeapBuffer() {
    if (m_data) heap::free(m_data);
  }
  HeapBuffer(const HeapBuffer&) = delete;
  HeapBuffer& operator=(const HeapBuffer&) = delete;
  bool ok() const { return m_size == 0 || m_data; }
  std::span<std::byte> bytes() { return {m_data, m_size}; }
  char* chars() { return reinterpret_cast<char*>(m_data); }

 private:
  std::byte* m_data;
  size_t m_size;
};

// The vnode a path names (its last symlink followed or not).
Result<RefPtr<fs::Vnode>> vnode_at(const char* path, bool follow) {
  HeapBuffer buffer(kPathMax);
  if (!buffer.ok()) return error(Errno::enomem);
  if (!path) return error(Errno::efault);
  size_t length = TRY(user::copy_string(buffer.chars(), path, kPathMax));
  uint32_t flags = o_path | (follow ? 0 : o_nofollow);
  RefPtr<fs::File> opened = TRY(fs::open_file(file_context(), at_fdcwd, std::string_view(buffer.chars(), length), flags, 0));
  return opened->vnode();
}

// An open descriptor's vnode: EBADF for O_PATH descriptors, as Linux's fdget.
Result<RefPtr<fs::Vnode>> vnode_of(int fd) {
  RefPtr<fs::File> opened = TRY(file_context().fds().get(fd));
  if (opened->is_path_only()) return error(Errno::ebadf);
  return opened->vnode();
}

// The attribute name (at most 255 bytes; ERANGE when empty or longer).
struct Name {
  char text[xattr_name_max + 1];
  size_t length = 0;
  std::string_view view() const { return {text, length}; }
};
Result<> load_name(Name& name, const char* user_name) {
  if (!user_name) return error(Errno::efault);
  auto length = user::copy_string(name.text, user_name, sizeof(name.text));
  if (!length) return error(length.error() == Errno::enametoolong ? Errno::erange : length.error());
  if (*length == 0) return error(Errno::erange);
  name.length = *length;
  return {};
}

bool is_user_namespace(std::string_view name) { return name.substr(0, 5) == "user."; }

// user.* attributes belong to files and directories only (xattr_permission): others have none
// and cannot get one.
bool user_attributes_allowed(const fs::Vnode& vnode) { return vnode.is_regular() || vnode.is_directory(); }

Result<long> get(Result<RefPtr<fs::Vnode>> found, const char* user_name, void* value, size_t size) {
  RefPtr<fs::Vnode> vnode = TRY(std::move(found));
  Name name;
  TRY(load_name(name, user_name));
  if (!vnode) return error(Errno::enodata);  // pipes and sockets
  if (is_user_namespace(name.view()) && !user_attributes_allowed(*vnode)) return error(Errno::enodata);
  if (size > xattr_size_max) size = xattr_size_max;
  if (size == 0) return static_cast<long>(TRY(vnode->get_xattr(name.view(), {})));
  HeapBuffer buffer(size);
  if (!buffer.ok()) return error(Errno::enomem);
  size_t length = TRY(vnode->get_xattr(name.view(), buffer.bytes()));
  TRY(user::copy_to(value, buffer.bytes().data(), length));
  return static_cast<long>(length);
}

Result<long> list(Result<RefPtr<fs::Vnode>> found, char* list_out, size_t size) {
  RefPtr<fs::Vnode> vnode = TRY(std::move(found));
  if (!vnode) return 0;
  if (size > xattr_list_max) size = xattr_list_max;
  if (size == 0) return static_cast<long>(TRY(vnode->list_xattrs({})));
  HeapBuffer buffer(size);
  if (!buffer.ok()) return error(Errno::enomem);
  size_t length = TRY(vnode->list_xattrs({buffer.chars(), size}));
  TRY(user::copy_to(list_out, buffer.chars(), length));
  return static_cast<long>(length);
}

// setxattr (value not null or size 0) and removexattr (`remove`).
Result<long> change(Result<RefPtr<fs::Vnode>> found, const char* user_name, const void* value, size_t size, int flags,
                    bool remove) {
  RefPtr<fs::Vnode> vnode = TRY(std::move(found));
  if (vnode && vnode->fs().read_only()) return error(Errno::erofs);
  if (!remove && (static_cast<uint32_t>(flags) & ~(xattr_create | xattr_replace))) return error(Errno::einval);
  Name name;
  TRY(load_name(name, user_name));
  if (!remove && size > xattr_size_max) return error(Errno::e2big);
  HeapBuffer buffer(remove ? 0 : size);
  if (!buffer.ok()) return error(Errno::enomem);
  if (size && !remove) TRY(user::copy_from(buffer.bytes().data(), value, size));
  if (!vnode) return error(Errno::eopnotsupp);
  if (is_user_namespace(name.view()) && !user_attributes_allowed(*vnode)) return error(Errno::eperm);
  if (remove) TRY(vnode->remove_xattr(name.view()));
  else TRY(vnode->set_xattr(name.view(), buffer.bytes(), static_cast<uint32_t>(flags)));
  return 0;
}

}  // namespace

Result<long> sys_getxattr(const char* path, const char* name, void* value, size_t size) {
  return get(vnode_at(path, true), name, value, size);
}
Result<long> sys_lgetxattr(const char* path, const char* name, void* value, size_t size) {
  return get(vnode_at(path, false), name, value, size);
}
Result<long> sys_fgetxattr(int fd, const char* name, void* value, size_t size) {
  return get(vnode_of(fd), name, value, size);
}
Result<long> sys_listxattr(const char* path, char* list_out, size_t size) {
  return list(vnode_at(path, true), list_out, size);
}
Result<long> sys_llistxattr(const char* path, char* list_out, size_t size) {
  return list(vnode_at(path, false), list_out, size);
}
Result<long> sys_flistxattr(int fd, char* list_out, size_t size) { return list(vnode_of(fd), list_out, size); }
Result<long> sys_setxattr(const char* path, const char* name, const void* value, size_t size, int flags) {
  return change(vnode_at(path, true), name, value, size, flags, false);
}
Result<long> sys_lsetxattr(const char* path, const char* name, const void* value, size_t size, int flags) {
  return change(vnode_at(path, false), name, value, size, flags, false);
}
Result<long> sys_fsetxattr(int fd, const char* name, const void* value, size_t size, int flags) {
  return change(vnode_of(fd), name, value, size, flags, false);
}
Result<long> sys_removexattr(const char* path, const char* name) {
  return change(vnode_at(path, true), name, nullptr, 0, 0, true);
}
Result<long> sys_lremovexattr(const char* path, const char* name) {
  return change(vnode_at(path, false), name, nullptr, 0, 0, true);
}
Result<long> sys_fremovexattr(int fd, const char* name) { return change(vnode_of(fd), name, nullptr, 0, 0, true); }

}  // namespace nimbus::linux
