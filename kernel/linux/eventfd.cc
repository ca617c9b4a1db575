// eventfd: a 64-bit counter that writes add to and reads take (all of it, or one with
// EFD_SEMAPHORE), readable while non-zero, writable while another 1 fits.
#include <cstring>

#include "kernel/linux/anonymous_file.h"
#include "kernel/linux/syscalls.h"
#include "kernel/sync/poll_queue.h"
#include "kernel/sync/spinlock.h"
#include "kernel/sync/wait_queue.h"

namespace nimbus::linux {
namespace {

using namespace fs::linux_abi;
constexpr uint32_t kEfdSemaphore = 1;
constexpr uint64_t kMaxCount = ~0ull - 1;

class EventFd final : public RefCounted<EventFd>, public fs::FileOps {
 public:
  static constexpr char kTypeTag = 0;
  EventFd(uint64_t initial, bool semaphore) : m_count(initial), m_semaphore(semaphore) {}
  const void* type_tag() const override { return &kTypeTag; }
  PollQueue* poll_queue(fs::File&) override { return &m_poll_queue; }

  Result<size_t> read(fs::File&, std::span<std::byte> buffer, fs::IoFlags flags) override {
    if (buffer.size() < sizeof(uint64_t)) return error(Errno::einval);
    uint64_t value;
    {
      SpinlockGuard guard(m_lock);
      while (m_count == 0) {
        if (flags.nonblocking) return error(Errno::eagain);
        if (m_readers.wait_interruptible(m_lock, kNoDeadline) == WaitResult::interrupted)
          return error(Errno::erestartsys);
      }
      value = m_semaphore ? 1 : m_count;
      m_count -= value;
      m_writers.wake_all();
    }
    m_poll_queue.notify(pollout | pollwrnorm);
    memcpy(buffer.data(), &value, sizeof(value));  // checked by the syscall layer
    return sizeof(value);
  }

  Result<size_t> write(fs::File&, std::span<const std::byte> data, fs::IoFlags flags) override {
    if (data.size() < sizeof(uint64_t)) return error(Errno::einval);
    uint64_t value;
    memcpy(&value, data.data(), sizeof(value));
    if (value == ~0ull) return error(Errno::einval);
    {
      SpinlockGuard guard(m_lock);
      while (kMaxCount - m_count < value) {
        if (flags.nonblocking) return error(Errno::eagain);
        if (m_writers.wait_interruptible(m_lock, kNoDeadline) == WaitResult::interrupted)
          return error(Errno::erestartsys);
      }
      m_count += value;
      if (value) m_readers.wake_all();
    }
    if (value) m_poll_queue.notify(pollin | pollrdnorm);
    return sizeof(value);
  }

  uint32_t poll(fs::File&) override {
    SpinlockGuard guard(m_lock);
    uint32_t events = 0;
    if (m_count) events |= pollin | pollrdnorm;
    if (m_count < kMaxCount) events |= pollout | pollwrnorm;
    return events;
  }

 private:
  Spinlock m_lock;  // guards m_count and both queues
  uint64_t m_count;
  bool m_semaphore;
  WaitQueue m_readers;
  WaitQueue m_writers;
  PollQueue m_poll_queue;
};

}  // namespace

Result<long> sys_eventfd2(unsigned initial, int flags) {
  if (flags & ~static_cast<int>(o_cloexec | o_nonblock | kEfdSemaphore)) return error(Errno::einval);
  auto eventfd = TRY(try_make_ref<EventFd>(initial, flags & kEfdSemaphore));
  return install_anonymous_file(eventfd, static_cast<uint32_t>(flags) & (o_cloexec | o_nonblock));
}

Result<long> sys_eventfd(unsigned initial) { return sys_eventfd2(initial, 0); }

}  // namespace nimbus::linux
