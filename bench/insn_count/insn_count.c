/* insn_count.c - a QEMU TCG plugin that counts executed guest instructions and reports the running
 * total on request, so bench/net.sh can take the count before and after a fixed number of requests.
 *
 *   qemu-system-x86_64 ... -plugin file=insn_count.so,ctl=FIFO,out=FILE
 *
 * Each line written to the FIFO makes the plugin write the current total to FILE (through
 * FILE.tmp and rename(2), so a reader never sees a half-written number). The count is kept with
 * an inline add per translation block (QEMU's "tb_exec_inline" hook), the cheapest way QEMU
 * offers: a block whose execution is cut short by an exception or interrupt still counts all its
 * instructions, an over-count of a few instructions per interrupt. One vCPU is assumed (the
 * benchmark runs -smp 1): the add is not atomic.
 *
 * The plugin API is declared here rather than taken from qemu-plugin.h, which Debian does not
 * package; these are the QEMU 7.2 (API version 1) declarations this plugin uses. */
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
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op,
                                              void *ptr, uint64_t imm);

#define EXPORT __attribute__((visibility("default")))
EXPORT int qemu_plugin_version = 1;

static uint64_t g_instructions;
static char g_ctl[4096];
static char g_out[4096];

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  (void)id;
  qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &g_instructions,
                                           qemu_plugin_tb_n_insns(tb));
}

static void report(void) {
  char tmp[4200], text[32];
  snprintf(tmp, sizeof tmp, "%s.tmp", g_out);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  int n = snprintf(text, sizeof text, "%llu\n",
                   (unsigned long long)__atomic_load_n(&g_instructions, __ATOMIC_RELAXED));
  ssize_t written = write(fd, text, (size_t)n);
  close(fd);
  if (written == n) rename(tmp, g_out);
}

/* Serves the FIFO for the life of QEMU: a writer closing it just means "open it again". */
static void *control_thread(void *unused) {
  (void)unused;
  char buffer[256];
  for (;;) {
    int fd = open(g_ctl, O_RDONLY);
    if (fd < 0) return NULL;
    ssize_t n;
    while ((n = read(fd, buffer, sizeof buffer)) > 0) report();
    close(fd);
  }
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
  (void)info;
  for (int i = 0; i < argc; ++i) {
    if (strncmp(argv[i], "ctl=", 4) == 0) snprintf(g_ctl, sizeof g_ctl, "%s", argv[i] + 4);
    else if (strncmp(argv[i], "out=", 4) == 0) snprintf(g_out, sizeof g_out, "%s", argv[i] + 4);
    else {
      fprintf(stderr, "insn_count: unknown argument '%s' (ctl=FIFO, out=FILE)\n", argv[i]);
      return -1;
    }
  }
  if (!g_ctl[0] || !g_out[0]) {
    fprintf(stderr, "insn_count: needs ctl=FIFO and out=FILE\n");
    return -1;
  }
  pthread_t thread;
  if (pthread_create(&thread, NULL, control_thread, NULL) != 0) return -1;
  pthread_detach(thread);
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
  return 0;
}
