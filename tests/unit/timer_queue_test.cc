// Unit tests for the per-CPU timer queue: deadline order, ties, removal, expiry.
#include "kernel/sched/timer_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace nimbus {
namespace {

TEST(TimerQueue, EmptyQueueHasNothingExpired) {
  TimerQueue queue;
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.earliest(), nullptr);
  EXPECT_EQ(queue.pop_expired(~0ull), nullptr);
}

TEST(TimerQueue, PopsInDeadlineOrderRegardlessOfInsertionOrder) {
  std::mt19937 random(7);
  std::vector<Timer> timers(200);
  for (auto& t : timers) t.deadline_ns = random() % 1000;
  TimerQueue queue;
  for (auto& t : timers) queue.insert(&t);
  EXPECT_EQ(queue.size(), timers.size());
  uint64_t last = 0;
  size_t popped = 0;
  while (Timer* t = queue.pop_expired(~0ull)) {
    EXPECT_GE(t->deadline_ns, last);
    EXPECT_FALSE(t->is_armed());
    last = t->deadline_ns;
    popped++;
  }
  EXPECT_EQ(popped, timers.size());
}

TEST(TimerQueue, EqualDeadlinesFireInInsertionOrder) {
  Timer a, b, c;
  a.deadline_ns = b.deadline_ns = c.deadline_ns = 5;
  TimerQueue queue;
  queue.insert(&a);
  queue.insert(&b);
  queue.insert(&c);
  EXPECT_EQ(queue.pop_expired(5), &a);
  EXPECT_EQ(queue.pop_expired(5), &b);
  EXPECT_EQ(queue.pop_expired(5), &c);
}

TEST(TimerQueue, OnlyExpiredTimersArePopped) {
  Timer early, late;
  early.deadline_ns = 100;
  late.deadline_ns = 200;
  TimerQueue queue;
  queue.insert(&late);
  queue.insert(&early);
  EXPECT_EQ(queue.pop_expired(99), nullptr);
  EXPECT_EQ(queue.pop_expired(150), &early);
  EXPECT_EQ(queue.pop_expired(150), nullptr);
  EXPECT_EQ(queue.earliest(), &late);
  EXPECT_EQ(queue.pop_expired(200), &late);
}

TEST(TimerQueue, RemovedTimerNeverFires) {
  Timer a, b;
  a.deadline_ns = 1;
  b.deadline_ns = 2;
  TimerQueue queue;
  queue.insert(&a);
  queue.insert(&b);
  queue.remove(&a);
  EXPECT_FALSE(a.is_armed());
  EXPECT_EQ(queue.pop_expired(10), &b);
  EXPECT_TRUE(queue.empty());
}

}  // namespace
}  // namespace nimbus
