// Self-tests: threads spread over every CPU, thread churn, and a contended mutex.
#include <atomic>

#include "kernel/lib/console.h"
#include "kernel/mm/heap.h"
#include "kernel/sched/cpu.h"
#include "kernel/sched/scheduler.h"
#include "kernel/sched/thread.h"
#include "kernel/selftest/selftest.h"
#include "kernel/sync/mutex.h"
#include "kernel/time/clock.h"

namespace nimbus::selftest {
namespace {

constexpr size_t kMaxThreads = 512;

// Creates `count` threads running entry(argument) and joins them all.
bool run_threads(const char* name, size_t count, Thread::Entry entry, void* argument) {
  static Thread* threads[kMaxThreads];
  for (size_t i = 0; i < count; i++) {
    auto thread = Thread::try_create(name, entry, argument);
    if (!thread) {
      print("%s: FAILED (thread %zu not created)\n", name, i);
      for (size_t j = 0; j < i; j++) threads[j]->join();
      return false;
    }
    threads[i] = *thread;
  }
  for (size_t i = 0; i < count; i++) threads[i]->join();
  return true;
}

struct CpuSpread {
  std::atomic<uint64_t> cpus_seen[cpus::kMax / 64];
  std::atomic<uint64_t> wrong_cpu{0};
};
CpuSpread g_spread;

void record_cpu() {
  uint32_t cpu = this_cpu().index;
  g_spread.cpus_seen[cpu / 64].fetch_or(1ull << (cpu % 64), std::memory_order_relaxed);
}

// A pinned thread: allocates, sleeps and yields, and must stay on its CPU throughout.
void pinned_worker(void* argument) {
  auto expected = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(argument));
  for (int i = 0; i < 20; i++) {
    void* p = heap::allocate(64 + i * 100);
    heap::free(p);
    if (i % 5 == 0) scheduler::sleep_for(200'000);
    scheduler::yield();
    if (this_cpu().index != expected) g_spread.wrong_cpu.fetch_add(1);
  }
  record_cpu();
}

// Unpinned threads: busy long enough to overlap, so the balancer must spread them.
void spread_worker(void*) {
  uint64_t until = clock::monotonic_ns() + 2'000'000;
  while (clock::monotonic_ns() < until) scheduler::yield();
}

std::atomic<uint64_t> g_churn_count{0};
void count_once(void*) { g_churn_count.fetch_add(1, std::memory_order_relaxed); }

struct Counter {
  Mutex mutex;
  uint64_t value = 0;  // guarded by mutex
  uint64_t per_thread = 0;
};

void increment_many(void* argument) {
  auto* counter = static_cast<Counter*>(argument);
  for (uint64_t i = 0; i < counter->per_thread; i++) {
    MutexGuard guard(counter->mutex);
    counter->value++;
  }
}

}  // namespace

bool threads_on_every_cpu() {
  size_t cpu_count = cpus::count();
  for (auto& word : g_spread.cpus_seen) word.store(0);
  g_spread.wrong_cpu.store(0);
  static Thread* pinned[cpus::kMax];
  for (size_t i = 0; i < cpu_count; i++) {
    auto thread = Thread::try_create_pinned("pinned", pinned_worker, reinterpret_cast<void*>(i), i);
    if (!thread) {
      print("threads: FAILED (no thread for cpu %zu)\n", i);
      return false;
    }
    pinned[i] = *thread;
  }
  bool spread_ok = run_threads("spread", 2 * cpu_count, spread_worker, nullptr);
  for (size_t i = 0; i < cpu_count; i++) pinned[i]->join();
  size_t seen = 0;
  for (auto& word : g_spread.cpus_seen) seen += __builtin_popcountll(word.load());
  if (!spread_ok || seen != cpu_count || g_spread.wrong_cpu.load()) {
    print("threads: FAILED (pinned threads ran on %zu of %zu cpus, %lu migrations)\n", seen, cpu_count,
          g_spread.wrong_cpu.load());
    return false;
  }
  print("threads: ok (%zu cpus, pinned and balanced threads)\n", cpu_count);
  return true;
}

bool thread_churn() {
  constexpr size_t kTotal = 10'000;
  size_t batch = 8 * cpus::count();
  if (batch > kMaxThreads) batch = kMaxThreads;
  g_churn_count.store(0);
  uint64_t start = clock::monotonic_ns();
  for (size_t done = 0; done < kTotal; done += batch) {
    size_t n = kTotal - done < batch ? kTotal - done : batch;
    if (!run_threads("churn", n, count_once, nullptr)) return false;
  }
  uint64_t ran = g_churn_count.load();
  uint64_t us = (clock::monotonic_ns() - start) / 1000;
  if (ran != kTotal) {
    print("threads: FAILED (%lu of %zu threads ran)\n", ran, kTotal);
    return false;
  }
  print("threads: ok created=%zu joined=%zu in %lu us\n", kTotal, kTotal, us);
  return true;
}

bool mutex_counter() {
  constexpr uint64_t kTotal = 1'000'000;
  size_t thread_count = 4 * cpus::count();
  while (kTotal % thread_count) thread_count++;
  static Counter counter;
  counter.value = 0;
  counter.per_thread = kTotal / thread_count;
  uint64_t start = clock::monotonic_ns();
  if (!run_threads("mutex", thread_count, increment_many, &counter)) return false;
  uint64_t us = (clock::monotonic_ns() - start) / 1000;
  MutexGuard guard(counter.mutex);
  if (counter.value != kTotal) {
    print("mutex: FAILED total=%lu expected=%lu\n", counter.value, kTotal);
    return false;
  }
  print("mutex: ok total=%lu threads=%zu cpus=%zu in %lu us\n", counter.value, thread_count, cpus::count(), us);
  return true;
}

}  // namespace nimbus::selftest
