// Socket descriptors: inodes on a file system of their own that stat as S_IFSOCK 0777, as
// Linux's sockfs inodes do.
#include "kernel/linux/socket_file.h"

#include "kernel/fs/fs.h"
#include "kernel/fs/vnode.h"
#include "kernel/linux/file_syscalls.h"

namespace nimbus::linux {
namespace {

using namespace fs::linux_abi;

class SocketInode final : public fs::Vnode {
 public:
  explicit SocketInode(fs::FileSystem& fs) : Vnode(fs, fs::VnodeType::socket, fs.allocate_ino()), m_time(fs.now()) {}
  fs::Stat stat() override {
    fs::Stat s;
    s.ino = ino();
    s.mode = s_ifsock | 0777;
    s.nlink = 1;
    s.dev_minor = fs().device_minor();
    s.atime_ns = s.mtime_ns = s.ctime_ns = s.btime_ns = m_time;
    return s;
  }
  Result<> set_attributes(const fs::SetAttributes&) override { return {}; }

 private:
  int64_t m_time;
};

}  // namespace

Result<RefPtr<fs::File>> make_socket_file(RefPtr<net::Socket> socket, uint32_t flags) {
  // Sockets share the pipe file system's device, as anonymous inodes do.
  RefPtr<fs::Vnode> inode = TRY(try_make_ref<SocketInode>(fs::vfs().pipe_fs()));
  return fs::File::try_create_owned(inode, o_rdwr | (flags & o_nonblock), std::move(socket));
}

Result<long> install_socket(RefPtr<net::Socket> socket, uint32_t flags) {
  RefPtr<fs::File> file = TRY(make_socket_file(std::move(socket), flags));
  return TRY(file_context().fds().install(file, flags & o_cloexec));
}

Result<net::Socket*> socket_of(int fd, RefPtr<fs::File>& holder) {
  holder = TRY(file_context().fds().get(fd));
  fs::FileOps* ops = holder->ops();
  if (!ops || ops->type_tag() != &net::Socket::kTypeTag) return error(Errno::enotsock);
  return static_cast<net::Socket*>(ops);
}

}  // namespace nimbus::linux
