/* pc_profile.c - a QEMU TCG plugin that counts executed guest instructions per translation block
 * start address, for finding where a guest spends its instructions (bench/insn_count/profile.py
 * names them).
 *
 *   qemu-system-x86_64 ... -plugin file=pc_profile.so,ctl=FIFO,out=FILE
 *
 * Each line written to the FIFO makes the plugin write "ADDRESS COUNT" lines (hex address,
 * instructions executed in blocks starting there since the last report) to FILE, through FILE.tmp
 * and rename(2), and start counting again from zero. As in insn_count.c the counts are inline adds
 * per block (one vCPU assumed); a block translated again at the same address shares its counter.
 * The table is fixed (1 Mi addresses); a guest that runs more distinct blocks than that stops
 * being profiled and says so on stderr. The plugin API is declared here (Debian has no
 * qemu-plugin.h): QEMU 7.2, API version 1. */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
typedef struct qemu_info_t qemu_info_t;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op,
                                              void *ptr, uint64_t imm);

#define EXPORT __attribute__((visibility("default")))
EXPORT int qemu_plugin_version = 1;

#define TABLE_SIZE (1u << 20) /* open addressing; a power of two */
struct entry {
  uint64_t address; /* 0: free */
  uint64_t count;
};
static struct entry *g_table;
static size_t g_used;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static char g_ctl[4096];
static char g_out[4096];

/* The entry for `address`, made if new; NULL once the table is three-quarters full. */
static struct entry *entry_for(uint64_t address) {
  uint64_t slot = (address * 0x9e3779b97f4a7c15ull) >> 44;
  for (;;) {
    struct entry *e = &g_table[slot & (TABLE_SIZE - 1)];
    if (e->address == address) return e;
    if (!e->address) {
      if (g_used >= TABLE_SIZE / 4 * 3) return NULL;
      g_used++;
      e->address = address;
      return e;
    }
    slot++;
  }
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  (void)id;
  pthread_mutex_lock(&g_lock);
  struct entry *e = entry_for(qemu_plugin_tb_vaddr(tb));
  pthread_mutex_unlock(&g_lock);
  if (!e) {
    static int warned;
    if (!warned++) fprintf(stderr, "pc_profile: table full; later blocks are not counted\n");
    return;
  }
  qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &e->count,
                                           qemu_plugin_tb_n_insns(tb));
}

static void report(void) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", g_out);
  FILE *f = fopen(tmp, "w");
  if (!f) return;
  pthread_mutex_lock(&g_lock);
  for (size_t i = 0; i < TABLE_SIZE; i++) {
    uint64_t n = __atomic_exchange_n(&g_table[i].count, 0, __ATOMIC_RELAXED);
    if (g_table[i].address && n)
      fprintf(f, "%llx %llu\n", (unsigned long long)g_table[i].address, (unsigned long long)n);
  }
  pthread_mutex_unlock(&g_lock);
  if (fclose(f) == 0) rename(tmp, g_out);
}

static void *control_thread(void *unused) {
  (void)unused;
  char buffer[256];
  for (;;) {
    int fd = open(g_ctl, O_RDONLY);
    if (fd < 0) return NULL;
    while (read(fd, buffer, sizeof buffer) > 0) report();
    close(fd);
  }
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
  (void)info;
  for (int i = 0; i < argc; ++i) {
    if (strncmp(argv[i], "ctl=", 4) == 0) snprintf(g_ctl, sizeof g_ctl, "%s", argv[i] + 4);
    else if (strncmp(argv[i], "out=", 4) == 0) snprintf(g_out, sizeof g_out, "%s", argv[i] + 4);
    else {
      fprintf(stderr, "pc_profile: unknown argument '%s' (ctl=FIFO, out=FILE)\n", argv[i]);
      return -1;
    }
  }
  if (!g_ctl[0] || !g_out[0]) {
    fprintf(stderr, "pc_profile: needs ctl=FIFO and out=FILE\n");
    return -1;
  }
  g_table = calloc(TABLE_SIZE, sizeof *g_table);
  if (!g_table) return -1;
  pthread_t thread;
  if (pthread_create(&thread, NULL, control_thread, NULL) != 0) return -1;
  pthread_detach(thread);
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
  return 0;
}
