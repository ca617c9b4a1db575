// P9Fs: a host directory shared over virtio-9p (`nimbus run --share`), mounted through the
// 9P2000.L client. Every vnode holds a fid for its path and, once it is read or written, a
// second fid opened on it; nothing is cached in the guest, so the host's changes show at once
// and the guest's reach the host file as each write returns.
#pragma once

#include "kernel/drivers/virtio/p9.h"
#include "kernel/fs/9p/p9_client.h"
#include "kernel/fs/vnode.h"

namespace nimbus::p9 {

class P9Fs final : public fs::FileSystem {
 public:
  enum class Access : uint8_t { read_only, read_write };
  // Attaches to the share on `channel`; the errno of the first request that failed.
  static Result<P9Fs*> try_mount(virtio_9p::Channel& channel, fs::ClockFunction clock, Access access);

  RefPtr<fs::Vnode> root() override { return m_root; }
  fs::StatFs statfs() override;
  bool read_only() const override { return m_access == Access::read_only; }
  Client& client() { return m_client; }

 private:
  P9Fs(virtio_9p::Channel& channel, fs::ClockFunction clock, Access access)
      : FileSystem(clock), m_client(channel), m_access(access) {}

  Client m_client;
  Access m_access;
  uint32_t m_root_fid = 0;
  RefPtr<fs::Vnode> m_root;
};

}  // namespace nimbus::p9
