// Vfs: building the tree at boot, mounting, and named FIFOs' pipes.
#include "kernel/fs/vfs.h"

#include "kernel/fs/path_walk.h"

namespace nimbus::fs {

Vfs::Vfs(const Services& services)
    : m_clock(services.clock),
      m_root_fs(services.pages, services.clock),
      m_dev_fs(services.pages, services.clock),
      m_pipe_fs(services.clock),
      m_devfs(services.random, services.console) {}

Result<> Vfs::init(std::span<const std::byte> initrd, CpioError* cpio_error, RefPtr<Vnode> disk_root) {
  TRY(m_root_fs.init(0755));
  TRY(m_dev_fs.init(0755));
  if (!initrd.empty()) TRY(unpack_cpio(m_root_fs, initrd, cpio_error));
  RefPtr<Vnode> root = m_root_fs.root();
  struct Directory {
    const char* name;
    uint32_t permissions;
  };
  for (Directory directory : {Directory{"dev", 0755}, Directory{"tmp", 01777}, Directory{"proc", 0555},
                              Directory{"sys", 0555}, Directory{"etc", 0755}}) {
    auto created = root->create(directory.name, NewNode{VnodeType::directory, directory.permissions});
    if (!created && created.error() != Errno::eexist) return error(created.error());
  }
  TRY(m_devfs.populate(*m_dev_fs.root(), m_devices));
  if (disk_root) {
    m_disk_root = std::move(disk_root);
    TRY(mount("/tmp", TRY(root->lookup("tmp"))));
    TRY(mount("/etc", TRY(root->lookup("etc"))));
  }
  return mount("/dev", m_dev_fs.root());
}

Result<> Vfs::mount_ram_copy(std::string_view path) {
  if (!m_disk_root) return {};
  auto starts_with = [&](std::string_view top) {
    return path.substr(0, top.size()) == top && (path.size() == top.size() || path[top.size()] == '/');
  };
  if (starts_with("/tmp") || starts_with("/etc")) return {};
  // The ramfs holds no mounts, so its directories are found by plain lookups.
  RefPtr<Vnode> copy = m_root_fs.root();
  size_t start = 0;
  while (start < path.size()) {
    size_t end = start;
    while (end < path.size() && path[end] != '/') end++;  // no memchr in the kernel
    std::string_view name = path.substr(start, end - start);
    start = end + 1;
    if (name.empty() || name == ".") continue;
    auto found = copy->lookup(name);
    if (!found || !(*found)->is_directory()) return {};
    copy = *found;
  }
  if (copy == m_root_fs.root()) return {};
  return mount(path, std::move(copy));
}

Result<> Vfs::mount(std::string_view path, RefPtr<Vnode> root) {
  PathWalk walk(m_mounts, this->root());
  RefPtr<Vnode> point = TRY(walk.resolve(this->root(), path, PathWalk::Follow::yes));
  // The mount table knows the point by its object, which the file system must keep.
  TRY(point->fs().keep_mount_point(point));
  return m_mounts.mount(std::move(point), std::move(root));
}

Result<RefPtr<Pipe>> Vfs::fifo_pipe(Vnode& fifo) {
  if (fifo.type() != VnodeType::fifo) return error(Errno::einval);
  MutexGuard guard(m_fifo_lock);
  // A pipe only this table holds has no File and no opener: its FIFO is closed, and its
  // vnode may even be gone (and its address reused), so it is dropped or replaced.
  size_t kept = 0;
  for (size_t i = 0; i < m_fifos.size(); i++) {
    Fifo& entry = m_fifos[i];
    if (entry.vnode == &fifo) {
      if (entry.pipe->ref_count() > 1) return entry.pipe;
      continue;
    }
    if (entry.pipe->ref_count() == 1) continue;
    if (kept != i) m_fifos[kept] = Fifo{entry.vnode, std::move(entry.pipe)};
    kept++;
  }
  m_fifos.truncate(kept);
  RefPtr<Pipe> pipe = TRY(Pipe::try_create());
  TRY(m_fifos.push_back(Fifo{&fifo, pipe}));
  return pipe;
}

}  // namespace nimbus::fs
