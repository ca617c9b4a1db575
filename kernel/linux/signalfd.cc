// signalfd: pending signals of a set, read as struct signalfd_siginfo records (which takes
// them, so no handler runs). As on Linux, what is readable depends on the reading thread:
// its own pending signals and the process's.
#include <cstring>

#include "kernel/linux/anonymous_file.h"
#include "kernel/linux/signals.h"
#include "kernel/linux/syscalls.h"
#include "kernel/linux/user_memory.h"
#include "kernel/sync/poll_queue.h"

namespace nimbus::linux {
namespace {

using namespace fs::linux_abi;
constexpr uint64_t kUncatchable = (1ull << (kSigkill - 1)) | (1ull << (kSigstop - 1));

// struct signalfd_siginfo (linux/signalfd.h): 128 bytes.
struct SignalfdSiginfo {
  uint32_t signo;
  int32_t errno_value;
  int32_t code;
  uint32_t pid;
  uint32_t uid;
  int32_t fd;
  uint32_t tid;
  uint32_t band;
  uint32_t overrun;
  uint32_t trapno;
  int32_t status;
  int32_t int_value;
  uint64_t ptr;
  uint64_t utime;
  uint64_t stime;
  uint64_t addr;
  uint16_t addr_lsb;
  uint16_t pad2;
  int32_t syscall;
  uint64_t call_addr;
  uint32_t arch;
  uint8_t pad[28];
};
static_assert(sizeof(SignalfdSiginfo) == 128);

// The kernel's siginfo as take_signal() writes it (signals.cc's SigInfo).
struct TakenSiginfo {
  int32_t signo;
  int32_t errno_value;
  int32_t code;
  int32_t pad;
  int32_t pid_or_timer;
  int32_t uid_or_overrun;
  uint64_t value;
  uint8_t rest[96];
};
static_assert(sizeof(TakenSiginfo) == 128);

class SignalFd final : public RefCounted<SignalFd>, public fs::FileOps {
 public:
  static constexpr char kTypeTag = 0;
  explicit SignalFd(uint64_t mask) : m_mask(mask) {}
  const void* type_tag() const override { return &kTypeTag; }
  PollQueue* poll_queue(fs::File&) override { return &signal_poll_queue(); }
  void set_mask(uint64_t mask) { m_mask.store(mask); }

  Result<size_t> read(fs::File&, std::span<std::byte> buffer, fs::IoFlags flags) override {
    size_t capacity = buffer.size() / sizeof(SignalfdSiginfo);
    if (capacity == 0) return error(Errno::einval);
    PollWaiter waiter;
    waiter.watch(signal_poll_queue());  // before looking, so no signal slips in unseen
    size_t n = 0;
    for (;;) {
      for (; n < capacity; n++) {
        TakenSiginfo taken;
        if (!take_signal(m_mask.load(), &taken)) break;
        SignalfdSiginfo out{};
        out.signo = static_cast<uint32_t>(taken.signo);
        out.code = taken.code;
        bool from_timer = taken.code == kSiTimer;
        out.pid = from_timer ? 0 : static_cast<uint32_t>(taken.pid_or_timer);
        out.uid = from_timer ? 0 : static_cast<uint32_t>(taken.uid_or_overrun);
        out.tid = from_timer ? static_cast<uint32_t>(taken.pid_or_timer) : 0;
        out.overrun = from_timer ? static_cast<uint32_t>(taken.uid_or_overrun) : 0;
        out.int_value = static_cast<int32_t>(taken.value);
        out.ptr = taken.value;
        memcpy(buffer.data() + n * sizeof(out), &out, sizeof(out));  // checked by the syscall layer
      }
      if (n) return n * sizeof(SignalfdSiginfo);
      if (flags.nonblocking) return error(Errno::eagain);
      if (waiter.wait(kNoDeadline) == WaitResult::interrupted && signal_ends_wait()) return error(Errno::erestartsys);
    }
  }

  Result<size_t> write(fs::File&, std::span<const std::byte>, fs::IoFlags) override { return error(Errno::einval); }

  uint32_t poll(fs::File&) override { return pending_signals() & m_mask.load() ? pollin | pollrdnorm : 0; }

 private:
  std::atomic<uint64_t> m_mask;
};

}  // namespace

Result<long> sys_signalfd4(int fd, const uint64_t* mask, size_t size, int flags) {
  if (flags & ~static_cast<int>(o_cloexec | o_nonblock)) return error(Errno::einval);
  if (size != sizeof(uint64_t)) return error(Errno::einval);
  uint64_t set = TRY(user::read(mask)) & ~kUncatchable;
  if (fd != -1) {
    RefPtr<fs::File> holder;
    SignalFd* existing = TRY(anonymous_file_ops<SignalFd>(fd, holder));
    existing->set_mask(set);
    return fd;
  }
  auto signalfd = TRY(try_make_ref<SignalFd>(set));
  return install_anonymous_file(signalfd, static_cast<uint32_t>(flags));
}

Result<long> sys_signalfd(int fd, const uint64_t* mask, size_t size) { return sys_signalfd4(fd, mask, size, 0); }

}  // namespace nimbus::linux
