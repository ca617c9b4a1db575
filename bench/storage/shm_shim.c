/* shm_shim.c - System V shared memory (shmget, shmat, shmdt, shmctl) over anonymous shared
 * mappings, preloaded into fio (LD_PRELOAD) in BOTH guests of the storage benchmark.
 *
 * fio keeps its job table in a SysV segment (shmget + shmat; only builds with CONFIG_NO_SHM use
 * malloc), and Nimbus has no SysV IPC yet (shmget is ENOSYS, docs/syscalls.md). fio attaches the
 * segment before it starts any job, so a MAP_SHARED anonymous mapping made at shmget time is
 * shared with the job threads (--thread) and with forked job processes alike. The benchmark
 * preloads this into the Linux guest's fio too, so both run the same fio; it only touches fio's
 * bookkeeping, never its I/O path.
 *
 * Limits (enough for fio, not a general implementation): IPC_PRIVATE-style keys only (every
 * shmget makes a new segment), at most 64 segments per process, IPC_RMID marks a segment and
 * unmaps it at its shmdt, IPC_STAT reports only the size. */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>

#define MAX_SEGMENTS 64

static struct {
  void *addr;
  size_t size;
  int removed;
} g_segments[MAX_SEGMENTS];

int shmget(key_t key, size_t size, int flags) {
  (void)key;
  (void)flags;
  if (size == 0) {
    errno = EINVAL;
    return -1;
  }
  for (int id = 0; id < MAX_SEGMENTS; id++) {
    if (g_segments[id].addr) continue;
    void *addr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (addr == MAP_FAILED) {
      errno = ENOMEM;
      return -1;
    }
    g_segments[id].addr = addr;
    g_segments[id].size = size;
    g_segments[id].removed = 0;
    return id;
  }
  errno = ENOSPC;
  return -1;
}

void *shmat(int id, const void *where, int flags) {
  (void)flags;
  if (id < 0 || id >= MAX_SEGMENTS || !g_segments[id].addr || (where && where != g_segments[id].addr)) {
    errno = EINVAL;
    return (void *)-1;
  }
  return g_segments[id].addr;
}

int shmdt(const void *addr) {
  for (int id = 0; id < MAX_SEGMENTS; id++) {
    if (g_segments[id].addr != addr) continue;
    if (g_segments[id].removed) {
      munmap(g_segments[id].addr, g_segments[id].size);
      g_segments[id].addr = NULL;
    }
    return 0;
  }
  errno = EINVAL;
  return -1;
}

int shmctl(int id, int cmd, struct shmid_ds *info) {
  if (id < 0 || id >= MAX_SEGMENTS || !g_segments[id].addr) {
    errno = EINVAL;
    return -1;
  }
  switch (cmd) {
    case IPC_RMID:
      g_segments[id].removed = 1;
      return 0;
    case IPC_STAT:
      if (info) {
        memset(info, 0, sizeof *info);
        info->shm_segsz = g_segments[id].size;
      }
      return 0;
    default:
      errno = EINVAL;
      return -1;
  }
}
