// Readiness signals from the application's side: fcntl's F_SETOWN, F_GETOWN, F_SETOWN_EX,
// F_GETOWN_EX, F_SETSIG and F_GETSIG, and the sender that signals a file's owner when the
// file (with O_ASYNC, kernel/fs/file_async.cc) becomes readable or writable. Linux's rules
// (fs/fcntl.c): the owner is a thread, a process or a process group that exists when it is
// set; each signal is checked against the credentials of whoever set the owner; F_SETSIG 0
// sends a plain SIGIO, any other signal comes with si_fd, si_band and si_code POLL_*.
#include <climits>

#include "kernel/fs/file.h"
#include "kernel/fs/fs.h"
#include "kernel/linux/credentials.h"
#include "kernel/linux/file_syscalls.h"
#include "kernel/linux/process.h"
#include "kernel/linux/signals.h"
#include "kernel/linux/syscalls.h"
#include "kernel/linux/user_memory.h"

namespace nimbus::linux {
namespace {

using namespace fs::linux_abi;

// struct f_owner_ex.
struct OwnerEx {
  int32_t type;
  int32_t pid;
};
static_assert(sizeof(OwnerEx) == 8);

// si_band of each reason (Linux's band_table, indexed by POLL_IN - 1 ...).
uint64_t band_of(fs::Readiness reason) {
  switch (reason) {
    case fs::Readiness::in: return pollin | pollrdnorm;
    case fs::Readiness::out: return pollout | pollwrnorm | pollwrband;
    case fs::Readiness::message: return pollin | pollrdnorm | pollmsg;
    case fs::Readiness::error: return pollerr;
    case fs::Readiness::priority: return pollpri | pollrdband;
    case fs::Readiness::hangup: return pollhup | pollerr;
  }
  return 0;
}

// Linux's sigio_perm: the setter was root, or its real or effective uid is the receiver's
// real or saved uid.
bool may_signal(const fs::SignalOwner& owner, Process& target) {
  SpinlockGuard guard(credentials_lock());
  const Credentials& c = target.credentials;
  return owner.euid == 0 || owner.euid == c.suid || owner.euid == c.uid || owner.uid == c.suid || owner.uid == c.uid;
}

struct Delivery {
  const fs::SignalOwner* owner;
  int signal;
  const SignalDetails* details;
};

void send_readiness_signal(const fs::SignalOwner& owner, int signal, int fd, fs::Readiness reason) {
  SignalDetails details;
  int number = signal;
  if (signal == 0) {
    number = kSigio;
    details.code = kSiKernel;
  } else {
    uint64_t band = band_of(reason);
    details.code = static_cast<int32_t>(reason);
    details.pid_or_timer = static_cast<int32_t>(band & 0xffffffff);  // si_band, a long over both
    details.uid_or_overrun = static_cast<int32_t>(band >> 32);
    details.value = static_cast<uint32_t>(fd);  // si_fd, right after si_band
  }
  Delivery delivery{&owner, number, &details};
  switch (owner.kind) {
    case fs::SignalOwner::thread: {
      bool permitted = false;
      struct Check {
        const fs::SignalOwner* owner;
        bool* permitted;
      } check{&owner, &permitted};
      with_thread(
          static_cast<uint32_t>(owner.id),
          [](LinuxThread& t, void* context) {
            auto* c = static_cast<Check*>(context);
            *c->permitted = may_signal(*c->owner, *t.process);
          },
          &check);
      if (permitted) (void)send_signal(static_cast<uint32_t>(owner.id), number, details);
      return;
    }
    case fs::SignalOwner::process: {
      SpinlockGuard guard(process_tree_lock());
      Process* process = find_process_locked(static_cast<uint32_t>(owner.id));
      if (process && process->state == ProcessState::alive && may_signal(owner, *process))
        (void)send_process_signal(*process, number, details);
      return;
    }
    case fs::SignalOwner::group:
      with_processes(
          [](Process& p, void* context) {
            auto* d = static_cast<Delivery*>(context);
            if (p.state != ProcessState::alive || p.pgid != static_cast<uint32_t>(d->owner->id)) return;
            if (may_signal(*d->owner, p)) (void)send_process_signal(p, d->signal, *d->details);
          },
          &delivery);
      return;
  }
}

// Whether `id` names something of `kind` now (F_SETOWN's ESRCH): a thread, a process (or
// any thread, whose id Linux also accepts as a pid), a process group.
bool owner_exists(fs::SignalOwner::Kind kind, int32_t id) {
  if (id <= 0) return false;
  bool thread = with_thread(static_cast<uint32_t>(id), [](LinuxThread&, void*) {}, nullptr);
  if (kind == fs::SignalOwner::thread || kind == fs::SignalOwner::process) {
    if (thread) return true;
  }
  SpinlockGuard guard(process_tree_lock());
  if (kind == fs::SignalOwner::group && group_exists_locked(static_cast<uint32_t>(id), 0)) return true;
  return find_process_locked(static_cast<uint32_t>(id)) != nullptr || thread;
}

Result<> set_owner(fs::File& file, fs::SignalOwner::Kind kind, int32_t id) {
  if (id != 0 && !owner_exists(kind, id)) return error(Errno::esrch);
  Credentials credentials = current_credentials();
  fs::SignalOwner owner;
  owner.kind = kind;
  owner.id = id;
  owner.uid = credentials.uid;
  owner.euid = credentials.euid;
  file.set_signal_owner(owner);
  return {};
}

}  // namespace

void install_readiness_signal_sender() { fs::set_readiness_signal_sender(send_readiness_signal); }

bool is_owner_command(int command) {
  switch (command) {
    case f_setown:
    case f_getown:
    case f_setown_ex:
    case f_getown_ex:
    case f_setsig:
    case f_getsig: return true;
    default: return false;
  }
}

Result<long> fcntl_owner(int fd, int command, uint64_t argument) {
  RefPtr<fs::File> file = TRY(file_context().fds().get(fd));
  if (file->is_path_only()) return error(Errno::ebadf);
  switch (command) {
    case f_getown: {
      fs::SignalOwner owner = file->signal_owner();
      return owner.kind == fs::SignalOwner::group ? -owner.id : owner.id;
    }
    case f_setown: {
      auto who = static_cast<int32_t>(argument);
      // Linux refuses only INT_MIN (no process group can be its negation).
      if (who == INT_MIN) return error(Errno::einval);
      if (who < 0) TRY(set_owner(*file, fs::SignalOwner::group, -who));
      else TRY(set_owner(*file, fs::SignalOwner::process, who));
      return 0;
    }
    case f_getown_ex: {
      fs::SignalOwner owner = file->signal_owner();
      OwnerEx out{static_cast<int32_t>(owner.kind), owner.id};
      TRY(user::write(reinterpret_cast<OwnerEx*>(argument), out));
      return 0;
    }
    case f_setown_ex: {
      OwnerEx in = TRY(user::read(reinterpret_cast<const OwnerEx*>(argument)));
      fs::SignalOwner::Kind kind;
      switch (in.type) {
        case f_owner_tid: kind = fs::SignalOwner::thread; break;
        case f_owner_pid: kind = fs::SignalOwner::process; break;
        case f_owner_pgrp: kind = fs::SignalOwner::group; break;
        default: return error(Errno::einval);
      }
      if (in.pid < 0) return error(Errno::esrch);
      TRY(set_owner(*file, kind, in.pid));
      return 0;
    }
    case f_getsig: return file->readiness_signal();
    default:  // f_setsig
      if (argument > static_cast<uint64_t>(kSignalCount)) return error(Errno::einval);
      file->set_readiness_signal(static_cast<int>(argument));
      return 0;
  }
}

}  // namespace nimbus::linux
