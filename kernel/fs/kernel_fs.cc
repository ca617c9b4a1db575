// The kernel's file system tree (kernel only): init_root() and vfs().
#include <new>

#include "kernel/fs/fs.h"
#include "kernel/fs/frame_page_allocator.h"
#include "kernel/fs/kernel_random.h"
#include "kernel/time/clock.h"

namespace nimbus::fs {

namespace {

FramePageAllocator g_pages;
// Built in place by init_root(), once the heap and clock work.
alignas(Vfs) unsigned char g_vfs_storage[sizeof(Vfs)];
Vfs* g_vfs = nullptr;

int64_t wall_clock() { return static_cast<int64_t>(clock::wall_ns()); }

}  // namespace

Result<> init_root(std::span<const std::byte> initrd, Console& console, CpioError* cpio_error,
                   RefPtr<Vnode> disk_root) {
  kernel_random().init();
  g_vfs = new (g_vfs_storage) Vfs(Services{g_pages, wall_clock, kernel_random(), console});
  return g_vfs->init(initrd, cpio_error, std::move(disk_root));
}

Vfs& vfs() { return *g_vfs; }

}  // namespace nimbus::fs
