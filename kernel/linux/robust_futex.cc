// Robust futexes: at a thread's exit, the futexes of its robust list pass to a waiter marked
// FUTEX_OWNER_DIED (after Linux's kernel/futex/core.c exit_robust_list).
#include "kernel/linux/futex.h"
#include "kernel/linux/user_memory.h"

namespace nimbus::linux::futex {
namespace {

constexpr uint32_t kFutexWaiters = 0x80000000;
constexpr uint32_t kFutexOwnerDied = 0x40000000;
constexpr uint32_t kFutexTidMask = 0x3fffffff;
// Linux's ROBUST_LIST_LIMIT: a corrupt or circular list is not followed further.
constexpr int kRobustListLimit = 2048;

// struct robust_list_head.
struct RobustListHead {
  uint64_t next;  // struct robust_list *: the first entry, or the head itself when empty
  int64_t futex_offset;  // from an entry to its futex word
  uint64_t pending;  // list_op_pending: an entry being added or removed
};

// The entry's futex word; the entry's low bit says it is a PI futex.
uint32_t* futex_word(uint64_t entry, int64_t offset) {
  return reinterpret_cast<uint32_t*>((entry & ~uint64_t{1}) + static_cast<uint64_t>(offset));
}

// Linux's handle_futex_death: a futex the dead thread owns gets OWNER_DIED (keeping WAITERS)
// and, unless PI, one waiter is woken. A pending entry the thread did not get to lock (value 0)
// may have a waiter that a wake-up was meant for.
void release(uint32_t* word, uint32_t tid, bool pi, bool pending) {
  if (reinterpret_cast<uintptr_t>(word) & 3) return;
  if (!user::writable(word, sizeof(uint32_t))) return;
  uint32_t value = __atomic_load_n(word, __ATOMIC_SEQ_CST);
  for (;;) {
    if (pending && !pi && value == 0) {
      wake(word, 1, ~0u);
      return;
    }
    if ((value & kFutexTidMask) != tid) return;
    uint32_t died = (value & kFutexWaiters) | kFutexOwnerDied;
    if (__atomic_compare_exchange_n(word, &value, died, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) break;
  }
  if (!pi && (value & kFutexWaiters)) wake(word, 1, ~0u);
}

}  // namespace

void release_robust_list(uint64_t head_address, uint32_t tid) {
  if (!head_address) return;
  auto head = user::read(reinterpret_cast<const RobustListHead*>(head_address));
  if (!head) return;
  uint64_t pending = head->pending;
  uint64_t entry = head->next;
  for (int i = 0; i < kRobustListLimit && entry != head_address; i++) {
    // The next entry is read first: once released, the futex may be reused at once.
    auto next = user::read(reinterpret_cast<const uint64_t*>(entry & ~uint64_t{1}));
    if (!next) return;
    // The pending entry is handled below, once.
    if (entry != pending) release(futex_word(entry, head->futex_offset), tid, entry & 1, false);
    entry = *next;
  }
  if (pending) release(futex_word(pending, head->futex_offset), tid, pending & 1, true);
}

}  // namespace nimbus::linux::futex
