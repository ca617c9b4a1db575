// Waiting for descriptors: poll, ppoll, select, pselect6, and epoll. Readiness comes from
// each File's poll(); a waiter subscribes to the PollQueue of every file that can change,
// checks readiness, and sleeps until one of them is notified, its timeout passes, or a
// signal interrupts it.
#include <cstring>
#include <new>

#include "kernel/fs/file.h"
#include "kernel/linux/anonymous_file.h"
#include "kernel/linux/file_syscalls.h"
#include "kernel/linux/process.h"
#include "kernel/linux/signals.h"
#include "kernel/linux/syscalls.h"
#include "kernel/linux/timer_setting.h"
#include "kernel/linux/user_memory.h"
#include "kernel/sync/mutex.h"
#include "kernel/sync/poll_queue.h"
#include "kernel/time/clock.h"

namespace nimbus::linux {
namespace {

using namespace fs::linux_abi;
constexpr uint32_t kEpollErr = 0x008, kEpollHup = 0x010;
constexpr uint32_t kEpollExclusive = 1u << 28;
constexpr uint32_t kEpollWakeup = 1u << 29;
constexpr uint32_t kEpollOneshot = 1u << 30;
constexpr uint32_t kEpollEt = 1u << 31;
constexpr int kEpollCtlAdd = 1, kEpollCtlDel = 2, kEpollCtlMod = 3;
constexpr size_t kMaxPollFds = 4096;
// Most events one epoll_wait reports (they are gathered on the kernel stack first).
constexpr size_t kEventsPerWait = 128;

Result<uint64_t> deadline_from_ms(int timeout_ms) {
  if (timeout_ms < 0) return kNoDeadline;
  return clock::monotonic_ns() + static_cast<uint64_t>(timeout_ms) * 1'000'000;
}

Result<uint64_t> deadline_from_timespec(const Timespec* timeout) {
  if (!timeout) return kNoDeadline;
  return clock::monotonic_ns() + TRY(read_duration_ns(timeout));
}

// The wait loop shared by poll, select and epoll_wait: `scan(waiter)` counts what is ready,
// subscribing `waiter` to each file's queue when it is non-null (the first scan only). Scans
// again after every notification until something is ready or the deadline passes.
template <typename Scan>
Result<long> wait_for_readiness(uint64_t deadline, size_t queues, Errno on_signal, Scan scan) {
  PollWaiter waiter;
  bool subscribe = clock::monotonic_ns() < deadline;  // a zero timeout only looks
  if (subscribe) TRY(waiter.reserve(queues));
  long ready = TRY(scan(subscribe ? &waiter : nullptr));
  while (!ready && clock::monotonic_ns() < deadline) {
    if (waiter.wait(deadline) == WaitResult::interrupted && signal_ends_wait()) return error(on_signal);
    ready = TRY(scan(nullptr));
  }
  return ready;
}

void watch_file(PollWaiter* waiter, fs::File& file) {
  if (!waiter) return;
  if (PollQueue* queue = file.poll_queue()) waiter->watch(*queue);
}

struct PollFd {
  int fd;
  int16_t events;
  int16_t revents;
};

Result<long> poll_fds(PollFd* user_fds, uint64_t count, uint64_t deadline) {
  if (count > kMaxPollFds) return error(Errno::einval);
  if (!user::writable(user_fds, count * sizeof(PollFd))) return error(Errno::efault);
  // A kernel copy of the array (the program's may change or go meanwhile), and the files,
  // which stay referenced for the whole wait: their queues must outlive the waiter.
  auto* fds = new (kNoThrow) PollFd[count ? count : 1];
  auto* files = new (kNoThrow) RefPtr<fs::File>[count ? count : 1];
  auto release = [&] {
    delete[] fds;
    delete[] files;
  };
  if (!fds || !files) {
    release();
    return error(Errno::enomem);
  }
  if (auto copied = user::copy_from(fds, user_fds, count * sizeof(PollFd)); !copied) {
    release();
    return error(copied.error());
  }
  for (uint64_t i = 0; i < count; i++) {
    if (fds[i].fd < 0) continue;
    if (auto file = file_context().fds().get(fds[i].fd)) files[i] = *file;
  }
  auto result = wait_for_readiness(deadline, count, Errno::erestartnohand, [&](PollWaiter* waiter) -> Result<long> {
    long ready = 0;
    for (uint64_t i = 0; i < count; i++) {
      PollFd& p = fds[i];
      p.revents = 0;
      if (p.fd < 0) continue;
      if (files[i]) watch_file(waiter, *files[i]);
      uint32_t state = files[i] ? files[i]->poll() : pollnval;
      uint32_t wanted = static_cast<uint16_t>(p.events) | pollerr | pollhup | pollnval;
      p.revents = static_cast<int16_t>(state & wanted);
      if (p.revents) ready++;
    }
    return ready;
  });
  // Only revents goes back, as Linux writes it.
  for (uint64_t i = 0; result && i < count; i++) {
    if (auto written = user::write(&user_fds[i].revents, fds[i].revents); !written) result = error(written.error());
  }
  release();
  return result;
}

// select's fd_set: a bitmap of longs.
Result<long> select_common(int count, uint64_t* readable, uint64_t* writable, uint64_t* exceptional,
                           uint64_t deadline) {
  if (count < 0) return error(Errno::einval);
  if (count > 1024) count = 1024;  // FD_SETSIZE: no descriptor is above it here
  size_t words = (static_cast<size_t>(count) + 63) / 64;
  uint64_t want_read[16] = {}, want_write[16] = {}, want_except[16] = {};
  if (readable) TRY(user::copy_from(want_read, readable, words * 8));
  if (writable) TRY(user::copy_from(want_write, writable, words * 8));
  if (exceptional) TRY(user::copy_from(want_except, exceptional, words * 8));
  // The files stay referenced for the whole wait: their queues must outlive the waiter.
  auto* files = new (kNoThrow) RefPtr<fs::File>[count ? count : 1];
  if (!files) return error(Errno::enomem);
  size_t watched = 0;
  for (int fd = 0; fd < count; fd++) {
    uint64_t bit = 1ull << (fd % 64);
    size_t w = static_cast<size_t>(fd) / 64;
    if (!((want_read[w] | want_write[w] | want_except[w]) & bit)) continue;
    auto file = file_context().fds().get(fd);
    if (!file) {
      delete[] files;
      return error(Errno::ebadf);
    }
    files[fd] = *file;
    watched++;
  }
  uint64_t got_read[16], got_write[16], got_except[16];
  auto result = wait_for_readiness(deadline, watched, Errno::erestartnohand, [&](PollWaiter* waiter) -> Result<long> {
    long n = 0;
    memset(got_read, 0, sizeof(got_read));
    memset(got_write, 0, sizeof(got_write));
    memset(got_except, 0, sizeof(got_except));
    for (int fd = 0; fd < count; fd++) {
      if (!files[fd]) continue;
      uint64_t bit = 1ull << (fd % 64);
      size_t w = static_cast<size_t>(fd) / 64;
      watch_file(waiter, *files[fd]);
      uint32_t state = files[fd]->poll();
      if ((want_read[w] & bit) && (state & (pollin | pollhup | pollerr))) got_read[w] |= bit, n++;
      if ((want_write[w] & bit) && (state & (pollout | pollerr))) got_write[w] |= bit, n++;
      if ((want_except[w] & bit) && (state & pollpri)) got_except[w] |= bit, n++;
    }
    return n;
  });
  delete[] files;
  long ready = TRY(result);
  if (readable) TRY(user::copy_to(readable, got_read, words * 8));
  if (writable) TRY(user::copy_to(writable, got_write, words * 8));
  if (exceptional) TRY(user::copy_to(exceptional, got_except, words * 8));
  return ready;
}

// --- epoll ---

class Epoll;

// One watched descriptor. Its PollEntry stays subscribed to the file's queue for as long as
// the interest exists; a notification marks it `pending` (maybe ready) and wakes the
// epoll's own waiters. Waits re-check pending interests with poll(): level-triggered ones
// stay pending while ready, edge-triggered ones until the next notification.
struct Interest {
  PollEntry entry;  // first: on_notify finds the Interest from it
  Epoll* owner;
  int fd;
  RefPtr<fs::File> file;
  uint64_t data;              // guarded by the epoll's mutex
  std::atomic<uint32_t> events;  // 0 while an EPOLLONESHOT interest is disarmed
  std::atomic<bool> pending{true};
  ListNode node;
};

class Epoll final : public RefCounted<Epoll>, public fs::FileOps {
 public:
  static constexpr char kTypeTag = 0;
  const void* type_tag() const override { return &kTypeTag; }

  ~Epoll() {
    while (Interest* interest = m_interests.pop_front()) drop(interest);
  }
  Result<size_t> read(fs::File&, std::span<std::byte>, fs::IoFlags) override { return error(Errno::einval); }
  Result<size_t> write(fs::File&, std::span<const std::byte>, fs::IoFlags) override { return error(Errno::einval); }
  PollQueue* poll_queue(fs::File&) override { return &m_queue; }

  uint32_t poll(fs::File&) override {
    MutexGuard guard(m_lock);
    for (Interest* i = m_interests.front(); i; i = m_interests.next(i)) {
      uint32_t events = i->events.load();
      if (i->pending.load() && events && !closed_everywhere(*i) && (i->file->poll() & (events | kEpollErr | kEpollHup))) return pollin;
    }
    return 0;
  }

  Result<> control(int op, int fd, RefPtr<fs::File> file, uint32_t events, uint64_t data) {
    events &= ~(kEpollWakeup | kEpollExclusive);
    MutexGuard guard(m_lock);
    Interest* existing = find(fd, file.get());
    switch (op) {
      case kEpollCtlAdd: {
        if (existing) return error(Errno::eexist);
        TRY(check_nesting(*file));
        auto* interest = new (kNoThrow) Interest{};
        if (!interest) return error(Errno::enomem);
        interest->owner = this;
        interest->fd = fd;
        interest->file = static_cast<RefPtr<fs::File>&&>(file);
        interest->data = data;
        interest->events.store(events);
        interest->entry.callback = on_notify;
        m_interests.push_back(interest);
        if (Epoll* inner = as_epoll(*interest->file)) inner->m_watchers.fetch_add(1);
        if (PollQueue* queue = interest->file->poll_queue()) queue->subscribe(interest->entry);
        break;
      }
      case kEpollCtlMod:
        if (!existing) return error(Errno::enoent);
        existing->data = data;
        existing->events.store(events);
        existing->pending.store(true);
        break;
      case kEpollCtlDel:
        if (!existing) return error(Errno::enoent);
        m_interests.remove(existing);
        drop(existing);
        return {};
      default:
        return error(Errno::einval);
    }
    // A new or re-armed interest may be ready already.
    m_queue.notify(pollin);
    return {};
  }

  struct Event {
    uint32_t events;
    uint64_t data;
  } __attribute__((packed));

  // Fills up to `max` ready events; returns how many. Reported interests move to the back of
  // the list, so a small `max` still serves every descriptor in turn.
  size_t collect(Event* out, size_t max) {
    MutexGuard guard(m_lock);
    size_t n = 0;
    size_t remaining = m_interests.size();
    for (Interest* i = m_interests.front(); i && remaining && n < max; remaining--) {
      Interest* next = m_interests.next(i);
      if (closed_everywhere(*i)) {
        m_interests.remove(i);
        drop(i);
        i = next;
        continue;
      }
      // Cleared before poll(): a notification that comes after it marks the interest again.
      if (i->pending.exchange(false)) {
        uint32_t events = i->events.load();
        uint32_t state = events ? i->file->poll() & (events | kEpollErr | kEpollHup) : 0;
        if (state) {
          out[n++] = Event{state, i->data};
          if (events & kEpollOneshot) i->events.store(0);
          else if (!(events & kEpollEt)) i->pending.store(true);
          m_interests.remove(i);
          m_interests.push_back(i);
        }
      }
      i = next;
    }
    return n;
  }

  PollQueue& queue() { return m_queue; }

 private:
  // As on Linux, an interest ends when its open file description is closed: when no
  // descriptor (or call in progress) holds the file but the interest itself.
  static bool closed_everywhere(const Interest& interest) { return interest.file->ref_count() == 1; }

  static Epoll* as_epoll(fs::File& file) {
    fs::FileOps* ops = file.ops();
    return ops && ops->type_tag() == &kTypeTag ? static_cast<Epoll*>(ops) : nullptr;
  }

  // Nesting is one level deep (an epoll inside an epoll that nobody watches), which rules
  // out the cycles Linux detects with its ELOOP walk.
  Result<> check_nesting(fs::File& target) {
    Epoll* inner = as_epoll(target);
    if (!inner) return {};
    if (inner == this) return error(Errno::einval);
    if (m_watchers.load() || inner->m_nested.load()) return error(Errno::eloop);
    m_nested.fetch_add(1);
    return {};
  }

  static void on_notify(PollEntry& entry, uint32_t changed) {
    auto* interest = reinterpret_cast<Interest*>(&entry);
    uint32_t events = interest->events.load();
    if (!events) return;  // EPOLLONESHOT, fired: deaf until EPOLL_CTL_MOD
    if (changed && !(changed & (events | kEpollErr | kEpollHup))) return;
    interest->pending.store(true);
    interest->owner->m_queue.notify(pollin);
  }

  void drop(Interest* interest) {
    if (interest->entry.queue) interest->entry.queue->unsubscribe(interest->entry);
    if (Epoll* inner = as_epoll(*interest->file)) {
      inner->m_watchers.fetch_sub(1);
      m_nested.fetch_sub(1);
    }
    delete interest;
  }

  Interest* find(int fd, fs::File* file) {
    for (Interest* i = m_interests.front(); i; i = m_interests.next(i))
      if (i->fd == fd && i->file.get() == file) return i;
    return nullptr;
  }

  Mutex m_lock;  // guards the interest list and each interest's data
  IntrusiveList<Interest, &Interest::node> m_interests;
  PollQueue m_queue;  // epoll_wait callers, and pollers of the epoll descriptor itself
  std::atomic<uint32_t> m_watchers{0};  // epolls this one is in
  std::atomic<uint32_t> m_nested{0};    // epolls in this one
};

Result<long> epoll_wait_common(int epfd, void* events, int max, uint64_t deadline) {
  if (max <= 0 || static_cast<size_t>(max) > SIZE_MAX / sizeof(Epoll::Event)) return error(Errno::einval);
  size_t bytes = static_cast<size_t>(max) * sizeof(Epoll::Event);
  if (!user::writable(events, bytes)) return error(Errno::efault);
  RefPtr<fs::File> holder;
  Epoll* epoll = TRY(anonymous_file_ops<Epoll>(epfd, holder));
  // Collected into the kernel, then copied out: the program's array may go meanwhile. Fewer
  // events than asked for per call is allowed; the rest stay pending for the next call.
  Epoll::Event collected[kEventsPerWait];
  size_t wanted = static_cast<size_t>(max) < kEventsPerWait ? static_cast<size_t>(max) : kEventsPerWait;
  // epoll_wait is never restarted after a handler (signal(7)).
  long n = TRY(wait_for_readiness(deadline, 1, Errno::eintr, [&](PollWaiter* waiter) -> Result<long> {
    if (waiter) waiter->watch(epoll->queue());
    return static_cast<long>(epoll->collect(collected, wanted));
  }));
  TRY(user::copy_to(events, collected, static_cast<size_t>(n) * sizeof(Epoll::Event)));
  return n;
}

}  // namespace

Result<long> sys_poll(void* fds, uint64_t count, int timeout_ms) {
  return poll_fds(static_cast<PollFd*>(fds), count, TRY(deadline_from_ms(timeout_ms)));
}

Result<long> sys_ppoll(void* fds, uint64_t count, const Timespec* timeout, const uint64_t* mask, size_t mask_size) {
  uint64_t deadline = TRY(deadline_from_timespec(timeout));
  if (mask) TRY(use_temporary_signal_mask(mask, mask_size));
  return poll_fds(static_cast<PollFd*>(fds), count, deadline);
}

// select and pselect6 write back the time that was left (zero once it ran out), whatever the
// outcome, as Linux's poll_select_finish; a timeout it cannot write back is not an error.
uint64_t remaining_ns(uint64_t deadline) {
  uint64_t now = clock::monotonic_ns();
  return deadline > now ? deadline - now : 0;
}

Result<long> sys_select(int count, uint64_t* readable, uint64_t* writable, uint64_t* exceptional, Timeval* timeout) {
  uint64_t deadline = kNoDeadline;
  if (timeout) {
    Timeval t = TRY(user::read(timeout));
    if (t.microseconds < 0 || t.microseconds >= 1'000'000) return error(Errno::einval);
    deadline = clock::monotonic_ns() + TRY(timespec_ns(Timespec{t.seconds, t.microseconds * 1000}));
  }
  Result<long> outcome = select_common(count, readable, writable, exceptional, deadline);
  if (timeout && deadline != kNoDeadline) {
    uint64_t left = remaining_ns(deadline);
    Timeval t{static_cast<int64_t>(left / 1'000'000'000), static_cast<int64_t>(left % 1'000'000'000 / 1000)};
    (void)user::write(timeout, t);
  }
  return outcome;
}

Result<long> sys_pselect6(int count, uint64_t* readable, uint64_t* writable, uint64_t* exceptional,
                          Timespec* timeout, const void* mask) {
  uint64_t deadline = TRY(deadline_from_timespec(timeout));
  if (mask) {
    // The sixth argument points at {const sigset_t* set; size_t size}.
    struct MaskArgument {
      const uint64_t* set;
      size_t size;
    };
    MaskArgument m = TRY(user::read(static_cast<const MaskArgument*>(mask)));
    if (m.set) TRY(use_temporary_signal_mask(m.set, m.size));
  }
  Result<long> outcome = select_common(count, readable, writable, exceptional, deadline);
  if (timeout && deadline != kNoDeadline) {
    uint64_t left = remaining_ns(deadline);
    (void)user::write(timeout, Timespec{static_cast<int64_t>(left / 1'000'000'000), static_cast<int64_t>(left % 1'000'000'000)});
  }
  return outcome;
}

Result<long> sys_epoll_create1(int flags) {
  if (flags & ~static_cast<int>(o_cloexec)) return error(Errno::einval);
  return install_anonymous_file(TRY(try_make_ref<Epoll>()), static_cast<uint32_t>(flags));
}

Result<long> sys_epoll_create(int size) {
  if (size <= 0) return error(Errno::einval);
  return sys_epoll_create1(0);
}

Result<long> sys_epoll_ctl(int epfd, int op, int fd, const void* event) {
  // Linux's order: the event (for every operation but DEL), both descriptors, a target that
  // can be polled, an epoll that is not its own target, then EPOLLEXCLUSIVE's rules.
  bool has_event = op != kEpollCtlDel;
  Epoll::Event e{0, 0};
  if (has_event) TRY(user::copy_from(&e, event, sizeof(e)));
  TRY(file_context().fds().get(epfd));
  auto target = TRY(file_context().fds().get(fd));
  if (!target->ops()) return error(Errno::eperm);  // as Linux: regular files and directories cannot be watched
  if (fd == epfd) return error(Errno::einval);
  RefPtr<fs::File> holder;
  Epoll* epoll = TRY(anonymous_file_ops<Epoll>(epfd, holder));
  if (has_event && (e.events & kEpollExclusive)) {
    // Exclusive wake-ups are set once, for plain readiness, and not for nested epolls.
    constexpr uint32_t kExclusiveOk = pollin | pollout | kEpollErr | kEpollHup | kEpollWakeup | kEpollEt |
                                      kEpollExclusive;
    if (op == kEpollCtlMod) return error(Errno::einval);
    bool nested = target->ops()->type_tag() == &Epoll::kTypeTag;
    if (op == kEpollCtlAdd && (nested || (e.events & ~kExclusiveOk))) return error(Errno::einval);
  }
  TRY(epoll->control(op, fd, target, e.events, e.data));
  return 0;
}

Result<long> sys_epoll_wait(int epfd, void* events, int max, int timeout_ms) {
  return epoll_wait_common(epfd, events, max, TRY(deadline_from_ms(timeout_ms)));
}

Result<long> sys_epoll_pwait(int epfd, void* events, int max, int timeout_ms, const void* mask, size_t mask_size) {
  uint64_t deadline = TRY(deadline_from_ms(timeout_ms));
  if (mask) TRY(use_temporary_signal_mask(static_cast<const uint64_t*>(mask), mask_size));
  return epoll_wait_common(epfd, events, max, deadline);
}

Result<long> sys_epoll_pwait2(int epfd, void* events, int max, const Timespec* timeout, const void* mask,
                              size_t mask_size) {
  uint64_t deadline = TRY(deadline_from_timespec(timeout));
  if (mask) TRY(use_temporary_signal_mask(static_cast<const uint64_t*>(mask), mask_size));
  return epoll_wait_common(epfd, events, max, deadline);
}

}  // namespace nimbus::linux
