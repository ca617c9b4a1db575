// A per-CPU queue of one-shot timers ordered by deadline (pure logic, unit-tested on the host).
#pragma once

#include <cstdint>

#include "kernel/lib/intrusive_list.h"

namespace nimbus {

struct Timer {
  using Callback = void (*)(Timer*);
  uint64_t deadline_ns = 0;
  Callback callback = nullptr;
  void* context = nullptr;
  ListNode node;
  bool is_armed() const { return node.is_linked(); }
};

// A sorted list: insertion is O(n) in the number of armed timers on one CPU, which stays
// small (sleepers and timeouts); the earliest deadline is O(1).
class TimerQueue {
 public:
  void insert(Timer* timer) {
    Timer* position = m_timers.front();
    while (position && position->deadline_ns <= timer->deadline_ns) position = m_timers.next(position);
    m_timers.insert_before(position, timer);
  }
  void remove(Timer* timer) { m_timers.remove(timer); }
  Timer* earliest() const { return m_timers.front(); }
  // Unlinks and returns the earliest timer whose deadline is <= now, or nullptr.
  Timer* pop_expired(uint64_t now_ns) {
    Timer* first = m_timers.front();
    if (!first || first->deadline_ns > now_ns) return nullptr;
    m_timers.remove(first);
    return first;
  }
  bool empty() const { return m_timers.empty(); }
  size_t size() const { return m_timers.size(); }

 private:
  IntrusiveList<Timer, &Timer::node> m_timers;
};

}  // namespace nimbus
