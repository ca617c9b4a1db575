// Unit tests for the run queue and the placement/stealing choices.
#include "kernel/sched/cpu_mask.h"
#include "kernel/sched/run_queue.h"

#include <gtest/gtest.h>

#include <vector>

namespace nimbus {
namespace {

struct FakeThread {
  explicit FakeThread(int thread_id = 0) : id(thread_id) {}
  int id;
  CpuMask allowed = CpuMask::all();
  ListNode node;
  bool may_run_on(size_t cpu) const { return allowed.has(cpu); }
};

using Queue = RunQueue<FakeThread, &FakeThread::node>;

TEST(RunQueue, FirstInFirstOut) {
  std::vector<FakeThread> threads(5);
  Queue queue;
  for (int i = 0; i < 5; i++) {
    threads[i].id = i;
    queue.enqueue(&threads[i]);
  }
  EXPECT_EQ(queue.size(), 5u);
  for (int i = 0; i < 5; i++) EXPECT_EQ(queue.dequeue()->id, i);
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.dequeue(), nullptr);
}

TEST(RunQueue, RequeuedThreadGoesToTheBack) {
  FakeThread a(1), b(2);
  Queue queue;
  queue.enqueue(&a);
  queue.enqueue(&b);
  FakeThread* first = queue.dequeue();
  queue.enqueue(first);  // its slice ended
  EXPECT_EQ(queue.dequeue(), &b);
  EXPECT_EQ(queue.dequeue(), &a);
}

TEST(RunQueue, StealTakesTheNewestAndSkipsRunningAndThreadsNotAllowedOnTheThief) {
  FakeThread a(1), b(2), c(3);
  c.allowed = CpuMask::only(0);  // pinned to the victim, CPU 0
  Queue queue;
  queue.enqueue(&a);
  queue.enqueue(&b);
  queue.enqueue(&c);
  EXPECT_EQ(queue.steal_candidate(nullptr, 1), &b);
  EXPECT_EQ(queue.steal_candidate(&b, 1), &a);
  queue.remove(&a);
  EXPECT_EQ(queue.steal_candidate(&b, 1), nullptr);
  EXPECT_EQ(queue.size(), 2u);
  c.allowed.add(1);  // its affinity now includes the thief
  EXPECT_EQ(queue.steal_candidate(&b, 1), &c);
}

TEST(CpuMask, AddHasAndFirst) {
  CpuMask mask;
  EXPECT_EQ(mask.first_below(4), 4u);
  mask.add(200);
  mask.add(3);
  EXPECT_TRUE(mask.has(3) && mask.has(200) && !mask.has(4));
  EXPECT_EQ(mask.first_below(256), 3u);
  EXPECT_EQ(mask.first_below(3), 3u);  // none below 3
  EXPECT_FALSE(mask.has(CpuMask::kBits));
  EXPECT_TRUE(CpuMask::all().has(255));
  EXPECT_EQ(CpuMask::only(7).first_below(256), 7u);
}

TEST(Placement, LeastLoadedCpuPrefersTheCallerOnTies) {
  std::vector<CpuLoad> loads = {{0, true}, {0, false}, {1, false}, {0, false}};
  EXPECT_EQ(least_loaded_cpu(loads, 0), 1u);
  loads = {{0, true}, {0, true}, {0, true}};
  EXPECT_EQ(least_loaded_cpu(loads, 2), 2u);
  loads = {{3, true}, {1, true}, {2, false}};
  EXPECT_EQ(least_loaded_cpu(loads, 0), 1u);
}

TEST(Placement, BusiestCpuIgnoresSelfAndCpusWithNothingQueued) {
  std::vector<CpuLoad> loads = {{5, true}, {0, true}, {2, true}, {3, true}};
  EXPECT_EQ(busiest_cpu(loads, 1), 0u);
  EXPECT_EQ(busiest_cpu(loads, 0), 3u);
  loads = {{0, true}, {0, true}};
  EXPECT_FALSE(busiest_cpu(loads, 0).has_value());
}

}  // namespace
}  // namespace nimbus
