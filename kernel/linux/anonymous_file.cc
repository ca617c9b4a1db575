// Anonymous inodes for epoll, eventfd, timerfd and signalfd descriptors.
#include "kernel/linux/anonymous_file.h"

#include "kernel/fs/fs.h"
#include "kernel/fs/vnode.h"

namespace nimbus::linux {
namespace {

class AnonymousInode final : public fs::Vnode {
 public:
  explicit AnonymousInode(fs::FileSystem& fs) : Vnode(fs, fs::VnodeType::regular, fs.allocate_ino()) {}
  fs::Stat stat() override {
    fs::Stat s;
    s.ino = ino();
    s.mode = 0600;
    s.dev_minor = fs().device_minor();
    return s;
  }
  Result<> set_attributes(const fs::SetAttributes&) override { return error(Errno::eperm); }
};

}  // namespace

Result<RefPtr<fs::Vnode>> make_anonymous_inode() {
  return TRY(try_make_ref<AnonymousInode>(fs::vfs().pipe_fs()));
}

}  // namespace nimbus::linux
