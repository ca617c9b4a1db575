// Readiness notifications: subscriptions, notifying, and the poll waiter's sleep.
#include "kernel/sync/poll_queue.h"

#include <new>

#include "kernel/lib/ref_ptr.h"

namespace nimbus {

void PollQueue::subscribe(PollEntry& entry) {
  SpinlockGuard guard(m_lock);
  entry.queue = this;
  m_entries.push_back(&entry);
}

void PollQueue::unsubscribe(PollEntry& entry) {
  SpinlockGuard guard(m_lock);
  if (entry.queue == this && entry.node.is_linked()) m_entries.remove(&entry);
  entry.queue = nullptr;
}

void PollQueue::notify(uint32_t events) {
  SpinlockGuard guard(m_lock);
  for (PollEntry* entry = m_entries.front(); entry; entry = m_entries.next(entry)) entry->callback(*entry, events);
}

PollWaiter::~PollWaiter() {
  for (size_t i = 0; i < m_count; i++) {
    Subscription& s = m_subscriptions ? m_subscriptions[i] : m_inline;
    s.entry.queue->unsubscribe(s.entry);
  }
  delete[] m_subscriptions;
}

Result<> PollWaiter::reserve(size_t count) {
  if (count <= 1 || count <= m_capacity) return {};
  // Only before the first subscription: entries are linked into queues and cannot move.
  if (m_count) return error(Errno::einval);
  m_subscriptions = new (kNoThrow) Subscription[count];
  if (!m_subscriptions) return error(Errno::enomem);
  m_capacity = count;
  return {};
}

void PollWaiter::watch(PollQueue& queue) {
  Subscription& s = m_subscriptions ? m_subscriptions[m_count] : m_inline;
  m_count++;
  s.waiter = this;
  s.entry.callback = on_notify;
  queue.subscribe(s.entry);
}

void PollWaiter::on_notify(PollEntry& entry, uint32_t) {
  // entry is the first member of its Subscription.
  PollWaiter* waiter = reinterpret_cast<Subscription*>(&entry)->waiter;
  SpinlockGuard guard(waiter->m_lock);
  waiter->m_notified = true;
  waiter->m_sleeper.wake_all();
}

WaitResult PollWaiter::wait(uint64_t deadline_ns) {
  SpinlockGuard guard(m_lock);
  WaitResult result = WaitResult::woken;
  if (!m_notified) result = m_sleeper.wait_interruptible(m_lock, deadline_ns);
  m_notified = false;
  return result;
}

}  // namespace nimbus
