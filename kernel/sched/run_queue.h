// A CPU's queue of runnable threads, and the choice of where to place or steal work
// (pure logic, unit-tested on the host).
#pragma once

#include <cstddef>
#include <optional>
#include <span>

#include "kernel/lib/intrusive_list.h"

namespace nimbus {

// First in, first out: with equal time slices, every runnable thread gets the CPU in turn.
template <typename T, ListNode T::*Node>
class RunQueue {
 public:
  void enqueue(T* thread) { m_queue.push_back(thread); }
  T* dequeue() { return m_queue.pop_front(); }
  void remove(T* thread) { m_queue.remove(thread); }
  bool empty() const { return m_queue.empty(); }
  size_t size() const { return m_queue.size(); }

  // The thread CPU `thief` may take: the one that waited least (at the back, coldest in
  // this CPU's turn order), never `running` (still on this CPU's stack) nor one that may
  // not run on the thief (T::may_run_on()).
  T* steal_candidate(const T* running, size_t thief) const {
    for (T* t = m_queue.back(); t; t = m_queue.prev(t)) {
      if (t != running && t->may_run_on(thief)) return t;
    }
    return nullptr;
  }

 private:
  IntrusiveList<T, Node> m_queue;
};

// Load of one CPU as the balancer sees it: queued threads plus the one running.
struct CpuLoad {
  size_t queued;
  bool busy;
  size_t total() const { return queued + (busy ? 1 : 0); }
};

// The least-loaded CPU (lowest index on ties), for placing a new thread.
inline size_t least_loaded_cpu(std::span<const CpuLoad> loads, size_t preferred) {
  size_t best = preferred;
  for (size_t i = 0; i < loads.size(); i++) {
    if (loads[i].total() < loads[best].total()) best = i;
  }
  return best;
}

// The CPU to steal from: the one with the most queued (waiting) threads, if any waits.
inline std::optional<size_t> busiest_cpu(std::span<const CpuLoad> loads, size_t self) {
  std::optional<size_t> best;
  for (size_t i = 0; i < loads.size(); i++) {
    if (i == self || loads[i].queued == 0) continue;
    if (!best || loads[i].queued > loads[*best].queued) best = i;
  }
  return best;
}

}  // namespace nimbus
