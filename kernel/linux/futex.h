// Futexes: sleeping on an application's 32-bit word, the base of every pthread primitive.
#pragma once

#include <cstdint>

#include "kernel/lib/result.h"

namespace nimbus::linux::futex {

// Sleeps if *address == expected, until woken (by a matching bit in `bitset`) or until the
// monotonic `deadline_ns` (0: none). EAGAIN if the value differs, ETIMEDOUT on timeout.
Result<long> wait(uint32_t* address, uint32_t expected, uint32_t bitset, uint64_t deadline_ns);
// Wakes up to `count` waiters on `address` whose bitset intersects `bitset` (at least one, as
// Linux: a count of 0 wakes one).
long wake(uint32_t* address, uint32_t count, uint32_t bitset);
// Wakes up to `wake_count` waiters and moves up to `requeue_count` others to `target`.
Result<long> requeue(uint32_t* address, uint32_t wake_count, uint32_t requeue_count, uint32_t* target,
                     const uint32_t* expected);
// FUTEX_WAKE_OP (see futex(2)).
Result<long> wake_op(uint32_t* address1, uint32_t* address2, uint32_t count1, uint32_t count2, uint32_t op);

// A thread with this robust list head (set_robust_list) and tid is exiting: every futex it still
// owns gets FUTEX_OWNER_DIED and one waiter is woken, so a robust mutex's next locker sees
// EOWNERDEAD (Linux's exit_robust_list). robust_futex.cc.
void release_robust_list(uint64_t head, uint32_t tid);

}  // namespace nimbus::linux::futex
