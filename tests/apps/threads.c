/* Differential test: threads, mutexes, condition variables, thread-local storage. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

enum { kThreads = 8, kIncrements = 20000 };
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready = PTHREAD_COND_INITIALIZER;
static long counter;
static int started;
static __thread long mine;

static void* work(void* arg) {
  pthread_mutex_lock(&lock);
  started++;
  pthread_cond_broadcast(&ready);
  while (started < kThreads) pthread_cond_wait(&ready, &lock);
  pthread_mutex_unlock(&lock);
  for (int i = 0; i < kIncrements; i++) {
    mine++;
    pthread_mutex_lock(&lock);
    counter++;
    pthread_mutex_unlock(&lock);
  }
  return (void*)(mine + (long)arg);
}

int main(void) {
  pthread_t t[kThreads];
  for (long i = 0; i < kThreads; i++) pthread_create(&t[i], NULL, work, (void*)i);
  long sum = 0;
  for (int i = 0; i < kThreads; i++) {
    void* r;
    pthread_join(t[i], &r);
    sum += (long)r;
  }
  printf("counter %ld (expected %d)\n", counter, kThreads * kIncrements);
  printf("thread-local sums %ld (expected %d)\n", sum, kThreads * kIncrements + kThreads * (kThreads - 1) / 2);
  printf("main thread-local untouched %ld\n", mine);
  return 0;
}
