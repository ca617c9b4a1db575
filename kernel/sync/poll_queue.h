// Readiness notifications: what poll, select, epoll and blocking reads of event files sleep
// on. A file that can become ready owns a PollQueue and notifies it when its readiness
// changes; a waiter subscribes a PollEntry to each queue, re-checks readiness, then sleeps.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel/lib/intrusive_list.h"
#include "kernel/lib/result.h"
#include "kernel/sync/spinlock.h"
#include "kernel/sync/wait_queue.h"

namespace nimbus {

struct PollEntry;
class PollQueue;

// A subscription to one PollQueue. `callback` runs with the queue's lock held, interrupts
// off, possibly in an interrupt handler: it may only take spinlocks and wake threads.
struct PollEntry {
  using Callback = void (*)(PollEntry& entry, uint32_t events);
  Callback callback = nullptr;
  PollQueue* queue = nullptr;  // where it is subscribed, if anywhere
  ListNode node;
};

class PollQueue {
 public:
  PollQueue() = default;
  PollQueue(const PollQueue&) = delete;
  PollQueue& operator=(const PollQueue&) = delete;
  // Subscribers must unsubscribe before the queue goes away.
  void subscribe(PollEntry& entry);
  void unsubscribe(PollEntry& entry);
  // `events` (POLL* bits) say what may have changed, so epoll's edge-triggered mode can
  // ignore changes its interest does not cover; 0 means anything.
  void notify(uint32_t events);

 private:
  Spinlock m_lock;  // guards m_entries; taken before any subscriber's own locks
  IntrusiveList<PollEntry, &PollEntry::node> m_entries;
};

// One thread waiting until any of the queues it watches is notified. Subscribe first, then
// check readiness, then wait(): a notification in between makes wait() return at once.
class PollWaiter {
 public:
  PollWaiter() = default;
  ~PollWaiter();
  PollWaiter(const PollWaiter&) = delete;
  PollWaiter& operator=(const PollWaiter&) = delete;

  // Room for `count` subscriptions (ENOMEM).
  Result<> reserve(size_t count);
  // Needs room (reserve) unless it is the first subscription of a waiter without any.
  void watch(PollQueue& queue);
  // Sleeps until a watched queue is notified (since the previous wait), the monotonic
  // deadline passes (kNoDeadline: never), or the thread is interrupted.
  WaitResult wait(uint64_t deadline_ns);

 private:
  struct Subscription {
    PollEntry entry;
    PollWaiter* waiter;
  };
  static void on_notify(PollEntry& entry, uint32_t events);

  Spinlock m_lock;  // guards m_notified and m_sleeper
  bool m_notified = false;
  WaitQueue m_sleeper;
  Subscription m_inline{};  // the common single-queue case needs no allocation
  Subscription* m_subscriptions = nullptr;
  size_t m_capacity = 0;
  size_t m_count = 0;
};

}  // namespace nimbus
