// Waiting for descriptors: poll, ppoll, select, pselect6, and epoll. Readiness comes from
// each File's poll(). The file layer has no readiness notifications yet, so a wait checks
// the descriptors, then sleeps a little (from 50 us, doubling up to 2 ms) and checks again,
// until something is ready, the timeout passes, or a signal is pending.
#include <cstring>
#include <new>

#include "kernel/fs/file.h"
#include "kernel/fs/fs.h"
#include "kernel/linux/file_syscalls.h"
#include "kernel/linux/process.h"
#include "kernel/linux/syscalls.h"
#include "kernel/linux/user_memory.h"
#include "kernel/mm/heap.h"
#include "kernel/sched/scheduler.h"
#include "kernel/sync/mutex.h"
#include "kernel/sync/spinlock.h"
#include "kernel/time/clock.h"

namespace nimbus::linux {
namespace {

using namespace fs::linux_abi;
constexpr uint64_t kNoDeadline = ~0ull;
constexpr uint32_t kEpollIn = 0x001, kEpollOut = 0x004, kEpollErr = 0x008, kEpollHup = 0x010;
constexpr uint32_t kEpollOneshot = 1u << 30;
constexpr uint32_t kEpollEt = 1u << 31;
constexpr int kEpollCtlAdd = 1, kEpollCtlDel = 2, kEpollCtlMod = 3;
constexpr size_t kMaxPollFds = 4096;

bool signal_pending() {
  LinuxThread& self = current_linux_thread();
  return self.pending.load() & ~self.signal_mask;
}

// Calls ready() until it returns non-zero, the deadline passes (then 0), or a signal is
// pending (EINTR).
template <typename F>
Result<long> wait_until_ready(uint64_t deadline, F ready) {
  uint64_t pause = 50'000;
  for (;;) {
    long n = TRY(ready());
    if (n) return n;
    uint64_t now = clock::monotonic_ns();
    if (now >= deadline) return 0;
    if (signal_pending()) return error(Errno::eintr);
    uint64_t wake = now + pause;
    scheduler::sleep_until(wake < deadline ? wake : deadline);
    if (pause < 2'000'000) pause *= 2;
  }
}

Result<uint64_t> deadline_from_ms(int timeout_ms) {
  if (timeout_ms < 0) return kNoDeadline;
  return clock::monotonic_ns() + static_cast<uint64_t>(timeout_ms) * 1'000'000;
}

Result<uint64_t> deadline_from_timespec(const Timespec* timeout) {
  if (!timeout) return kNoDeadline;
  return clock::monotonic_ns() + TRY(read_duration_ns(timeout));
}

struct PollFd {
  int fd;
  int16_t events;
  int16_t revents;
};

Result<long> poll_fds(PollFd* user_fds, uint64_t count, uint64_t deadline) {
  if (count > kMaxPollFds) return error(Errno::einval);
  if (!user::writable(user_fds, count * sizeof(PollFd))) return error(Errno::efault);
  return wait_until_ready(deadline, [&]() -> Result<long> {
    long ready = 0;
    for (uint64_t i = 0; i < count; i++) {
      PollFd& p = user_fds[i];
      p.revents = 0;
      if (p.fd < 0) continue;
      auto file = file_context().fds().get(p.fd);
      uint32_t state = file ? (*file)->poll() : pollnval;
      uint32_t wanted = static_cast<uint16_t>(p.events) | pollerr | pollhup | pollnval;
      p.revents = static_cast<int16_t>(state & wanted);
      if (p.revents) ready++;
    }
    return ready;
  });
}

// --- epoll ---

struct Interest {
  int fd;
  RefPtr<fs::File> file;
  uint32_t events;
  uint64_t data;
  bool disabled;  // EPOLLONESHOT after it fired
};

class Epoll;
// Live epoll instances, to tell an epoll descriptor from others without RTTI.
Spinlock g_epolls_lock;
Epoll* g_epolls[64];
size_t g_epoll_count = 0;

class Epoll final : public RefCounted<Epoll>, public fs::FileOps {
 public:
  Epoll() {
    SpinlockGuard guard(g_epolls_lock);
    if (g_epoll_count < 64) g_epolls[g_epoll_count++] = this;
  }
  ~Epoll() {
    {
      SpinlockGuard guard(g_epolls_lock);
      for (size_t i = 0; i < g_epoll_count; i++) {
        if (g_epolls[i] == this) g_epolls[i] = g_epolls[--g_epoll_count];
      }
    }
    for (size_t i = 0; i < m_count; i++) m_interests[i].~Interest();
    heap::free(m_interests);
  }
  Result<size_t> read(fs::File&, std::span<std::byte>, fs::IoFlags) override { return error(Errno::einval); }
  Result<size_t> write(fs::File&, std::span<const std::byte>, fs::IoFlags) override { return error(Errno::einval); }
  uint32_t poll(fs::File&) override { return ready_count(nullptr, 0) ? pollin : 0; }

  Result<> control(int op, int fd, RefPtr<fs::File> file, uint32_t events, uint64_t data) {
    MutexGuard guard(m_lock);
    Interest* existing = find(fd);
    switch (op) {
      case kEpollCtlAdd: {
        if (existing) return error(Errno::eexist);
        if (m_count == m_capacity) {
          size_t capacity = m_capacity ? m_capacity * 2 : 16;
          auto* grown = static_cast<Interest*>(heap::allocate(capacity * sizeof(Interest), alignof(Interest)));
          if (!grown) return error(Errno::enomem);
          for (size_t i = 0; i < m_count; i++) {
            new (&grown[i]) Interest(static_cast<Interest&&>(m_interests[i]));
            m_interests[i].~Interest();
          }
          heap::free(m_interests);
          m_interests = grown;
          m_capacity = capacity;
        }
        new (&m_interests[m_count++]) Interest{fd, static_cast<RefPtr<fs::File>&&>(file), events, data, false};
        return {};
      }
      case kEpollCtlMod:
        if (!existing) return error(Errno::enoent);
        existing->events = events;
        existing->data = data;
        existing->disabled = false;
        return {};
      case kEpollCtlDel:
        if (!existing) return error(Errno::enoent);
        existing->~Interest();
        if (existing != &m_interests[m_count - 1]) {
          new (existing) Interest(static_cast<Interest&&>(m_interests[m_count - 1]));
          m_interests[m_count - 1].~Interest();
        }
        m_count--;
        return {};
      default:
        return error(Errno::einval);
    }
  }

  struct Event {
    uint32_t events;
    uint64_t data;
  } __attribute__((packed));

  // Fills up to `max` ready events (level-triggered); returns how many.
  size_t ready_count(Event* out, size_t max) {
    MutexGuard guard(m_lock);
    size_t n = 0;
    for (size_t i = 0; i < m_count && (n < max || !out); i++) {
      Interest& interest = m_interests[i];
      if (interest.disabled) continue;
      uint32_t state = interest.file->poll() & (interest.events | kEpollErr | kEpollHup);
      if (!state) continue;
      if (out) {
        out[n] = Event{state, interest.data};
        if (interest.events & kEpollOneshot) interest.disabled = true;
      }
      n++;
      if (!out) break;
    }
    return n;
  }

 private:
  Interest* find(int fd) {
    for (size_t i = 0; i < m_count; i++)
      if (m_interests[i].fd == fd) return &m_interests[i];
    return nullptr;
  }
  Mutex m_lock;  // guards the interest list
  Interest* m_interests = nullptr;
  size_t m_count = 0;
  size_t m_capacity = 0;
};

// epoll instances and other kernel objects with no file system of their own.
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

Result<Epoll*> epoll_of(int fd, RefPtr<fs::File>& holder) {
  holder = TRY(file_context().fds().get(fd));
  SpinlockGuard guard(g_epolls_lock);
  for (size_t i = 0; i < g_epoll_count; i++) {
    if (static_cast<fs::FileOps*>(g_epolls[i]) == holder->ops()) return g_epolls[i];
  }
  return error(Errno::einval);
}

Result<long> epoll_wait_common(int epfd, void* events, int max, uint64_t deadline) {
  if (max <= 0) return error(Errno::einval);
  size_t bytes = static_cast<size_t>(max) * sizeof(Epoll::Event);
  if (!user::writable(events, bytes)) return error(Errno::efault);
  RefPtr<fs::File> holder;
  Epoll* epoll = TRY(epoll_of(epfd, holder));
  auto* out = static_cast<Epoll::Event*>(events);
  return wait_until_ready(deadline, [&]() -> Result<long> {
    return static_cast<long>(epoll->ready_count(out, static_cast<size_t>(max)));
  });
}

// select's fd_set: a bitmap of longs.
Result<long> select_common(int count, uint64_t* readable, uint64_t* writable, uint64_t* exceptional,
                           uint64_t deadline) {
  if (count < 0 || count > 1024) return error(Errno::einval);
  size_t words = (static_cast<size_t>(count) + 63) / 64;
  uint64_t want_read[16] = {}, want_write[16] = {}, want_except[16] = {};
  if (readable) TRY(user::copy_from(want_read, readable, words * 8));
  if (writable) TRY(user::copy_from(want_write, writable, words * 8));
  if (exceptional) TRY(user::copy_from(want_except, exceptional, words * 8));
  uint64_t got_read[16], got_write[16], got_except[16];
  auto result = wait_until_ready(deadline, [&]() -> Result<long> {
    long ready = 0;
    memset(got_read, 0, sizeof(got_read));
    memset(got_write, 0, sizeof(got_write));
    memset(got_except, 0, sizeof(got_except));
    for (int fd = 0; fd < count; fd++) {
      uint64_t bit = 1ull << (fd % 64);
      size_t w = static_cast<size_t>(fd) / 64;
      if (!((want_read[w] | want_write[w] | want_except[w]) & bit)) continue;
      auto file = file_context().fds().get(fd);
      if (!file) return error(Errno::ebadf);
      uint32_t state = (*file)->poll();
      if ((want_read[w] & bit) && (state & (pollin | pollhup | pollerr))) got_read[w] |= bit, ready++;
      if ((want_write[w] & bit) && (state & (pollout | pollerr))) got_write[w] |= bit, ready++;
      if ((want_except[w] & bit) && (state & pollpri)) got_except[w] |= bit, ready++;
    }
    return ready;
  });
  long ready = TRY(result);
  if (readable) TRY(user::copy_to(readable, got_read, words * 8));
  if (writable) TRY(user::copy_to(writable, got_write, words * 8));
  if (exceptional) TRY(user::copy_to(exceptional, got_except, words * 8));
  return ready;
}

}  // namespace

Result<long> sys_poll(void* fds, uint64_t count, int timeout_ms) {
  return poll_fds(static_cast<PollFd*>(fds), count, TRY(deadline_from_ms(timeout_ms)));
}

Result<long> sys_ppoll(void* fds, uint64_t count, const Timespec* timeout, const uint64_t* mask, size_t mask_size) {
  (void)mask;  // the mask would be swapped in for the wait; signals do not interrupt waits yet
  (void)mask_size;
  return poll_fds(static_cast<PollFd*>(fds), count, TRY(deadline_from_timespec(timeout)));
}

Result<long> sys_select(int count, uint64_t* readable, uint64_t* writable, uint64_t* exceptional, Timeval* timeout) {
  uint64_t deadline = kNoDeadline;
  if (timeout) {
    Timeval t = TRY(user::read(timeout));
    if (t.seconds < 0 || t.microseconds < 0) return error(Errno::einval);
    deadline = clock::monotonic_ns() + static_cast<uint64_t>(t.seconds) * 1'000'000'000 +
               static_cast<uint64_t>(t.microseconds) * 1000;
  }
  return select_common(count, readable, writable, exceptional, deadline);
}

Result<long> sys_pselect6(int count, uint64_t* readable, uint64_t* writable, uint64_t* exceptional,
                          const Timespec* timeout, const void* mask) {
  (void)mask;
  return select_common(count, readable, writable, exceptional, TRY(deadline_from_timespec(timeout)));
}

Result<long> sys_epoll_create1(int flags) {
  if (flags & ~static_cast<int>(o_cloexec)) return error(Errno::einval);
  auto* epoll = new (std::nothrow) Epoll();
  auto* inode = new (std::nothrow) AnonymousInode(fs::vfs().pipe_fs());
  if (!epoll || !inode) {
    delete epoll;
    delete inode;
    return error(Errno::enomem);
  }
  auto file = TRY(fs::File::try_create_owned(adopt_ref<fs::Vnode>(inode), o_rdwr, adopt_ref(epoll)));
  return TRY(file_context().fds().install(file, flags & o_cloexec));
}

Result<long> sys_epoll_create(int size) {
  if (size <= 0) return error(Errno::einval);
  return sys_epoll_create1(0);
}

Result<long> sys_epoll_ctl(int epfd, int op, int fd, const void* event) {
  RefPtr<fs::File> holder;
  Epoll* epoll = TRY(epoll_of(epfd, holder));
  if (fd == epfd) return error(Errno::einval);
  auto target = TRY(file_context().fds().get(fd));
  Epoll::Event e{0, 0};
  if (op != kEpollCtlDel) TRY(user::copy_from(&e, event, sizeof(e)));
  TRY(epoll->control(op, fd, target, e.events, e.data));
  return 0;
}

Result<long> sys_epoll_wait(int epfd, void* events, int max, int timeout_ms) {
  return epoll_wait_common(epfd, events, max, TRY(deadline_from_ms(timeout_ms)));
}

Result<long> sys_epoll_pwait(int epfd, void* events, int max, int timeout_ms, const void* mask, size_t mask_size) {
  (void)mask;
  (void)mask_size;
  return epoll_wait_common(epfd, events, max, TRY(deadline_from_ms(timeout_ms)));
}

Result<long> sys_epoll_pwait2(int epfd, void* events, int max, const Timespec* timeout, const void* mask,
                              size_t mask_size) {
  (void)mask;
  (void)mask_size;
  return epoll_wait_common(epfd, events, max, TRY(deadline_from_timespec(timeout)));
}

}  // namespace nimbus::linux
