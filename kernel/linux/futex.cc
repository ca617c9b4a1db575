// Futexes: a hash of wait buckets keyed by what the word is (AddressSpace::identify_word): the
// address in its process, or the file and offset under a shared mapping, so that processes
// meet on shared memory and never on each other's private words.
#include "kernel/linux/futex.h"

#include "kernel/lib/intrusive_list.h"
#include "kernel/linux/process.h"
#include "kernel/linux/user_memory.h"
#include "kernel/sched/cpu.h"
#include "kernel/sched/scheduler.h"
#include "kernel/sched/thread.h"
#include "kernel/sync/spinlock.h"
#include "kernel/time/clock.h"

namespace nimbus::linux::futex {
namespace {

using Key = AddressSpace::WordIdentity;

Key key_for(const uint32_t* address) { return address_space().identify_word(reinterpret_cast<uintptr_t>(address)); }

struct Waiter {
  Thread* thread;
  Key key;
  uint32_t bitset;
  bool woken = false;
  ListNode node;
};

struct Bucket {
  Spinlock lock;
  IntrusiveList<Waiter, &Waiter::node> waiters;
};

constexpr size_t kBuckets = 256;
Bucket g_buckets[kBuckets];

Bucket& bucket_for(const Key& key) {
  uint64_t mixed = (key.offset >> 2) ^ (reinterpret_cast<uintptr_t>(key.object) >> 4);
  return g_buckets[(mixed * 0x9e3779b97f4a7c15ull) >> 56];
}

// Reads the word; it must be mapped. Called once without locks first, so the page is
// resident when read again under a bucket lock (where a fault could not sleep: a page
// unmapped meanwhile is EFAULT then).
Result<uint32_t> load(const uint32_t* address) {
  if (reinterpret_cast<uintptr_t>(address) & 3) return error(Errno::einval);
  return user::load_u32(address);
}

void wake_waiter(Bucket& bucket, Waiter* w) {
  bucket.waiters.remove(w);
  w->woken = true;
  scheduler::wake(w->thread);
}

void wake_on_timeout(Timer* timer) { scheduler::wake(static_cast<Thread*>(timer->context)); }

// Locks two buckets in address order (once if they are the same).
void lock_pair(Bucket& a, Bucket& b) {
  if (&a == &b) {
    a.lock.lock_raw();
  } else if (&a < &b) {
    a.lock.lock_raw();
    b.lock.lock_raw();
  } else {
    b.lock.lock_raw();
    a.lock.lock_raw();
  }
}
void unlock_pair(Bucket& a, Bucket& b) {
  a.lock.unlock_raw();
  if (&a != &b) b.lock.unlock_raw();
}

}  // namespace

Result<long> wait(uint32_t* address, uint32_t expected, uint32_t bitset, uint64_t deadline_ns) {
  if (bitset == 0) return error(Errno::einval);
  TRY(load(address));
  Waiter waiter{current_thread(), key_for(address), bitset};
  Thread* self = waiter.thread;
  Bucket& bucket = bucket_for(waiter.key);
  bool interrupts = bucket.lock.lock();
  // Checked under the bucket lock: a waker that changed the value takes this lock to wake.
  Result<uint32_t> current = user::load_u32_no_sleep(address);
  if (!current || *current != expected) {
    bucket.lock.unlock(interrupts);
    return error(current ? Errno::eagain : current.error());
  }
  bucket.waiters.push_back(&waiter);
  self->state = ThreadState::blocked;
  // A signal ends the wait (see WaitQueue::wait_interruptible for the ordering).
  self->in_interruptible_wait.store(true, std::memory_order_seq_cst);
  // Already interrupted: leave "blocked" through the scheduler (see wait_interruptible).
  bool interrupted = self->interrupt_requested.load(std::memory_order_seq_cst);
  if (interrupted) scheduler::wake(self);
  Cpu* armed_on = nullptr;
  if (deadline_ns && !interrupted) {
    armed_on = &this_cpu();
    self->sleep_timer.deadline_ns = deadline_ns;
    self->sleep_timer.callback = wake_on_timeout;
    self->sleep_timer.context = self;
    scheduler::arm_timer(&self->sleep_timer);
  }
  scheduler::block(bucket.lock);
  self->in_interruptible_wait.store(false, std::memory_order_relaxed);
  if (armed_on) scheduler::cancel_timer(*armed_on, &self->sleep_timer);
  // A requeue may have moved us to another bucket: find ours by the current address.
  for (;;) {
    Bucket& now = bucket_for(waiter.key);
    now.lock.lock_raw();
    if (&now == &bucket_for(waiter.key)) {
      if (!waiter.woken) now.waiters.remove(&waiter);
      now.lock.unlock_raw();
      break;
    }
    now.lock.unlock_raw();
  }
  x86::restore_interrupts(interrupts);
  if (waiter.woken) return 0;
  if (self->interrupt_requested.load()) return error(Errno::erestartsys);
  // Woken by neither a FUTEX_WAKE, a signal nor the deadline: wait again (the value is checked
  // afresh), as Linux does; an untimed wait never times out.
  if (!deadline_ns || clock::monotonic_ns() < deadline_ns) return wait(address, expected, bitset, deadline_ns);
  return error(Errno::etimedout);
}

long wake(uint32_t* address, uint32_t count, uint32_t bitset) {
  Key key = key_for(address);
  Bucket& bucket = bucket_for(key);
  SpinlockGuard guard(bucket.lock);
  // Linux counts after waking (`if (++ret >= nr_wake) break`, nr_wake an int), so a count of 0
  // or one that is negative as an int still wakes one waiter.
  long woken = 0;
  for (Waiter* w = bucket.waiters.front(); w;) {
    Waiter* next = bucket.waiters.next(w);
    if (w->key == key && (w->bitset & bitset)) {
      wake_waiter(bucket, w);
      if (++woken >= static_cast<int32_t>(count)) break;
    }
    w = next;
  }
  return woken;
}

Result<long> requeue(uint32_t* address, uint32_t wake_count, uint32_t requeue_count, uint32_t* target,
                     const uint32_t* expected) {
  TRY(load(address));
  TRY(load(target));
  Key from_key = key_for(address);
  Key to_key = key_for(target);
  Bucket& from = bucket_for(from_key);
  Bucket& to = bucket_for(to_key);
  bool interrupts = x86::save_and_disable_interrupts();
  lock_pair(from, to);
  Result<uint32_t> current = expected ? user::load_u32_no_sleep(address) : Result<uint32_t>(0u);
  if (!current || (expected && *current != *expected)) {
    unlock_pair(from, to);
    x86::restore_interrupts(interrupts);
    return error(current ? Errno::eagain : current.error());
  }
  long done = 0;
  uint32_t moved = 0;
  for (Waiter* w = from.waiters.front(); w;) {
    Waiter* next = from.waiters.next(w);
    if (w->key == from_key) {
      if (done < static_cast<long>(wake_count)) {
        wake_waiter(from, w);
        done++;
      } else if (moved < requeue_count) {
        from.waiters.remove(w);
        w->key = to_key;
        to.waiters.push_back(w);
        moved++;
      } else {
        break;
      }
    }
    w = next;
  }
  unlock_pair(from, to);
  x86::restore_interrupts(interrupts);
  // CMP_REQUEUE returns woken + requeued; REQUEUE only the woken, as Linux does.
  return expected ? done + moved : done;
}

Result<long> wake_op(uint32_t* address1, uint32_t* address2, uint32_t count1, uint32_t count2, uint32_t op) {
  uint32_t operation = (op >> 28) & 7;
  bool shift = (op >> 31) & 1;
  uint32_t compare = (op >> 24) & 15;
  uint32_t argument = (op >> 12) & 0xfff;
  uint32_t compare_argument = op & 0xfff;
  if (shift) argument = argument < 32 ? 1u << argument : 0;
  // A read-only or vanished page is EFAULT from the exchange, as on Linux.
  uint32_t old = TRY(load(address2));
  for (;;) {
    uint32_t value;
    switch (operation) {
      case 0: value = argument; break;
      case 1: value = old + argument; break;
      case 2: value = old | argument; break;
      case 3: value = old & ~argument; break;
      case 4: value = old ^ argument; break;
      default: return error(Errno::enosys);
    }
    if (TRY(user::compare_exchange_u32(address2, old, value))) break;
  }
  bool condition;
  int32_t signed_old = static_cast<int32_t>(old);
  switch (compare) {
    case 0: condition = old == compare_argument; break;
    case 1: condition = old != compare_argument; break;
    case 2: condition = signed_old < static_cast<int32_t>(compare_argument); break;
    case 3: condition = signed_old <= static_cast<int32_t>(compare_argument); break;
    case 4: condition = signed_old > static_cast<int32_t>(compare_argument); break;
    case 5: condition = signed_old >= static_cast<int32_t>(compare_argument); break;
    default: return error(Errno::enosys);
  }
  long woken = wake(address1, count1, ~0u);
  if (condition) woken += wake(address2, count2, ~0u);
  return woken;
}

}  // namespace nimbus::linux::futex
