// O_ASYNC: a file whose readiness changes send its owner a signal (SIGIO, or the F_SETSIG
// one with si_fd and si_band), as Linux's fasync does for pipes, sockets and terminals.
//
// Turning O_ASYNC on subscribes the File to its ops' poll queue, the one poll and epoll
// wait on, so every notification that could wake a reader or a writer also reaches the
// owner. The notification's events say which way it went: a file open for reading hears
// "readable" (POLL_IN), one open for writing "writable" (POLL_OUT), so the read end of a
// pipe is not signalled when its writer's space frees up. The signal itself goes out
// through the sender the Linux layer installs (it knows processes, groups and credentials).
#include <new>

#include "kernel/fs/file.h"

namespace nimbus::fs {

using namespace linux_abi;

namespace {
std::atomic<ReadinessSignalSender> g_sender{nullptr};

constexpr uint32_t kReadableEvents = pollin | pollrdnorm | pollhup;
constexpr uint32_t kWritableEvents = pollout | pollwrnorm | pollerr;
}  // namespace

void set_readiness_signal_sender(ReadinessSignalSender sender) { g_sender.store(sender, std::memory_order_release); }

struct File::AsyncSubscription {
  PollEntry entry;  // first: on_readiness finds the subscription from it
  File* file = nullptr;
  int fd = -1;  // the descriptor O_ASYNC was turned on through (si_fd)
};

SignalOwner File::signal_owner() const {
  uint64_t target = m_owner_target.load(std::memory_order_acquire);
  uint64_t credentials = m_owner_credentials.load(std::memory_order_acquire);
  SignalOwner owner;
  owner.kind = static_cast<SignalOwner::Kind>(target >> 32);
  owner.id = static_cast<int32_t>(target & 0xffffffff);
  owner.uid = static_cast<uint32_t>(credentials >> 32);
  owner.euid = static_cast<uint32_t>(credentials & 0xffffffff);
  return owner;
}

void File::set_signal_owner(const SignalOwner& owner) {
  m_owner_credentials.store((uint64_t{owner.uid} << 32) | owner.euid, std::memory_order_release);
  m_owner_target.store((uint64_t(static_cast<uint32_t>(owner.kind)) << 32) | static_cast<uint32_t>(owner.id),
                       std::memory_order_release);
}

int File::readiness_signal() const { return m_readiness_signal.load(std::memory_order_acquire); }

void File::set_readiness_signal(int signal) { m_readiness_signal.store(signal, std::memory_order_release); }

Result<> File::set_status_flags(uint32_t flags, int fd) {
  auto store = [this, &flags] {
    uint32_t old = m_flags.load(std::memory_order_relaxed);
    while (!m_flags.compare_exchange_weak(old, (old & ~kSetflMask) | (flags & kSetflMask),
                                          std::memory_order_relaxed)) {
    }
  };
  PollQueue* queue = m_ops && m_ops->signals_readiness() ? m_ops->poll_queue(*this) : nullptr;
  if (!queue) {
    // As Linux, whose ->fasync sets the flag: files without one (regular files, eventfd...)
    // take F_SETFL's O_ASYNC without error and do not keep it.
    flags = (flags & ~o_async) | (this->flags() & o_async);
    store();
    return {};
  }
  MutexGuard guard(m_async_toggle);
  bool was_async = this->flags() & o_async;
  bool wants_async = flags & o_async;
  if (wants_async && !was_async) {
    if (!m_async) {
      m_async = new (kNoThrow) AsyncSubscription;
      if (!m_async) return error(Errno::enomem);
      m_async->entry.callback = on_readiness;
      m_async->file = this;
    }
    m_async->fd = fd;  // unsubscribed here, so no notification reads it meanwhile
    queue->subscribe(m_async->entry);
  } else if (!wants_async && was_async && m_async && m_async->entry.queue) {
    m_async->entry.queue->unsubscribe(m_async->entry);
  }
  store();
  return {};
}

void File::end_async() {
  if (!m_async) return;
  if (m_async->entry.queue) m_async->entry.queue->unsubscribe(m_async->entry);
  delete m_async;
  m_async = nullptr;
}

void File::on_readiness(PollEntry& entry, uint32_t events) {
  auto* subscription = reinterpret_cast<AsyncSubscription*>(&entry);
  File& file = *subscription->file;
  ReadinessSignalSender sender = g_sender.load(std::memory_order_acquire);
  if (!sender) return;
  SignalOwner owner = file.signal_owner();
  int signal = file.readiness_signal();
  if (!owner.id) return;
  bool readable = file.is_readable();
  bool writable = file.is_writable();
  if (events == 0) {
    // "Anything may have changed": one signal, so a program waiting for it is not left behind.
    sender(owner, signal, subscription->fd, readable ? Readiness::in : Readiness::out);
    return;
  }
  if (readable && (events & kReadableEvents)) sender(owner, signal, subscription->fd, Readiness::in);
  if (writable && (events & kWritableEvents)) sender(owner, signal, subscription->fd, Readiness::out);
}

}  // namespace nimbus::fs
