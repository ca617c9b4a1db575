// Chooses and runs the self-tests.
#include "kernel/selftest/selftest.h"

#include "kernel/lib/console.h"
#include "kernel/lib/exit_status.h"

namespace nimbus::selftest {

int run(std::string_view name) {
  auto status = [](bool ok) { return static_cast<int>(ok ? ExitStatus::success : ExitStatus::test_failed); };
  if (name.empty() || name == "selftest") {
    bool ok = allocation();
    ok = threads_on_every_cpu() && ok;
    ok = timers() && ok;
    print("selftest: %s\n", ok ? "ok" : "FAILED");
    return status(ok);
  }
  if (name == "alloc") return status(allocation());
  if (name == "threads") return status(thread_churn());
  if (name == "mutex") return status(mutex_counter());
  if (name == "sleep") return status(sleep_accuracy());
  if (name == "timers") return status(timers());
  if (name == "net-arp") return status(virtio_net_arp());
  if (name == "net-udp-echo") return status(udp_echo());
  if (name == "pagefault") deliberate_page_fault();
  if (name == "oom") exhaust_memory();
  print("nimbus: unknown test '%.*s'\n", static_cast<int>(name.size()), name.data());
  return static_cast<int>(ExitStatus::bad_command_line);
}

}  // namespace nimbus::selftest
