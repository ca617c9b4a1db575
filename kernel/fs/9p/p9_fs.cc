// P9Fs: attach, and statfs through Tstatfs.
#include "kernel/fs/9p/p9_fs.h"

#include <new>

#include "kernel/fs/9p/p9_vnode.h"
#include "kernel/lib/ref_ptr.h"

namespace nimbus::p9 {
namespace {

constexpr uint64_t kV9fsMagic = 0x01021997;  // V9FS_MAGIC, statfs's f_type
constexpr uint64_t kStatFsReadOnly = 1;      // ST_RDONLY

}  // namespace

Result<P9Fs*> P9Fs::try_mount(virtio_9p::Channel& channel, fs::ClockFunction clock, Access access) {
  auto* p9 = new (kNoThrow) P9Fs(channel, clock, access);
  if (!p9) return error(Errno::enomem);
  auto qid = p9->m_client.start(&p9->m_root_fid);
  if (!qid) {
    delete p9;
    return error(qid.error());
  }
  if (!(qid->type & kQidDirectory)) {
    delete p9;
    return error(Errno::enotdir);
  }
  auto* root = new (kNoThrow) P9Vnode(*p9, fs::VnodeType::directory, qid->path, p9->m_root_fid);
  if (!root) {
    delete p9;
    return error(Errno::enomem);
  }
  p9->m_root = adopt_ref<fs::Vnode>(root);
  return p9;
}

fs::StatFs P9Fs::statfs() {
  fs::StatFs result;
  result.type = kV9fsMagic;
  result.dev_minor = device_minor();
  result.flags = read_only() ? kStatFsReadOnly : 0;
  if (auto host = m_client.statfs(m_root_fid)) {
    result.block_size = host->block_size;
    result.blocks = host->blocks;
    result.blocks_free = host->blocks_free;
    result.blocks_available = host->blocks_available;
    result.files = host->files;
    result.files_free = host->files_free;
    if (host->name_length) result.name_max = host->name_length;
  }
  return result;
}

}  // namespace nimbus::p9
