// timerfd: an IntervalTimer read as a descriptor: read returns the expirations since the
// last read (or setting) and blocks while there are none.
#include <cstring>

#include "kernel/linux/anonymous_file.h"
#include "kernel/linux/syscalls.h"
#include "kernel/linux/timer_setting.h"
#include "kernel/linux/user_memory.h"
#include "kernel/sched/interval_timer.h"
#include "kernel/sync/poll_queue.h"
#include "kernel/sync/spinlock.h"
#include "kernel/sync/wait_queue.h"

namespace nimbus::linux {
namespace {

using namespace fs::linux_abi;
constexpr int kTfdTimerAbstime = 1;
constexpr int kTfdTimerCancelOnSet = 2;

class TimerFd final : public RefCounted<TimerFd>, public fs::FileOps {
 public:
  static constexpr char kTypeTag = 0;
  explicit TimerFd(int clock) : m_clock(clock), m_timer(on_expiry, this) {}
  const void* type_tag() const override { return &kTypeTag; }
  PollQueue* poll_queue(fs::File&) override { return &m_poll_queue; }
  int clock() const { return m_clock; }
  IntervalTimer& timer() { return m_timer; }

  Result<size_t> read(fs::File&, std::span<std::byte> buffer, fs::IoFlags flags) override {
    if (buffer.size() < sizeof(uint64_t)) return error(Errno::einval);
    uint64_t expirations;
    {
      SpinlockGuard guard(m_lock);
      // Checked under m_lock, which on_expiry takes to wake us: no expiry is missed.
      while ((expirations = m_timer.take_expirations()) == 0) {
        if (flags.nonblocking) return error(Errno::eagain);
        if (m_readers.wait_interruptible(m_lock, kNoDeadline) == WaitResult::interrupted)
          return error(Errno::erestartsys);
      }
    }
    memcpy(buffer.data(), &expirations, sizeof(expirations));  // checked by the syscall layer
    return sizeof(expirations);
  }

  Result<size_t> write(fs::File&, std::span<const std::byte>, fs::IoFlags) override { return error(Errno::einval); }

  uint32_t poll(fs::File&) override { return m_timer.expirations() ? pollin | pollrdnorm : 0; }

 private:
  static void on_expiry(void* context, uint64_t) {
    auto* self = static_cast<TimerFd*>(context);
    {
      SpinlockGuard guard(self->m_lock);
      self->m_readers.wake_all();
    }
    self->m_poll_queue.notify(pollin | pollrdnorm);
  }

  int m_clock;
  Spinlock m_lock;  // guards m_readers
  WaitQueue m_readers;
  PollQueue m_poll_queue;
  // Last, so it is destroyed first: its destructor waits out an expiry callback in flight,
  // which uses the members above.
  IntervalTimer m_timer;
};

}  // namespace

Result<long> sys_timerfd_create(int clock, int flags) {
  if (flags & ~static_cast<int>(o_cloexec | o_nonblock)) return error(Errno::einval);
  if (!is_timer_clock(clock)) return error(Errno::einval);
  auto timerfd = TRY(try_make_ref<TimerFd>(clock));
  return install_anonymous_file(timerfd, static_cast<uint32_t>(flags));
}

Result<long> sys_timerfd_settime(int fd, int flags, const ItimerSpec* new_value, ItimerSpec* old_value) {
  if (flags & ~(kTfdTimerAbstime | kTfdTimerCancelOnSet)) return error(Errno::einval);
  RefPtr<fs::File> holder;
  TimerFd* timerfd = TRY(anonymous_file_ops<TimerFd>(fd, holder));
  ItimerSpec wanted = TRY(user::read(new_value));
  TimerSetting setting = TRY(to_timer_setting(wanted, timerfd->clock(), flags & kTfdTimerAbstime));
  IntervalTimer::Setting previous = timerfd->timer().arm(setting.deadline_ns, setting.interval_ns);
  if (old_value) TRY(user::write(old_value, to_itimerspec(previous)));
  return 0;
}

Result<long> sys_timerfd_gettime(int fd, ItimerSpec* value) {
  RefPtr<fs::File> holder;
  TimerFd* timerfd = TRY(anonymous_file_ops<TimerFd>(fd, holder));
  TRY(user::write(value, to_itimerspec(timerfd->timer().setting())));
  return 0;
}

}  // namespace nimbus::linux
