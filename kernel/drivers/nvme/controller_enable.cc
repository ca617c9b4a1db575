// The NVMe controller reset and enable sequence, over the Registers interface.
#include "kernel/drivers/nvme/controller_enable.h"

namespace nimbus::nvme {
namespace {

// Waits until (CSTS & mask) == want, CSTS.CFS is set, or CAP.TO passes. The fatal bit ends
// the wait at once: a controller that reports it will not become ready (3.5.1: the host
// then resets it).
Result<> wait_for_status(Registers& registers, const Capabilities& capabilities, WaitClock& clock, uint32_t want,
                         EnableProblem& problem, const char* timeout_message) {
  uint64_t start = clock.now_ns();
  uint64_t limit = uint64_t{capabilities.timeout_ms} * 1'000'000;
  for (;;) {
    uint32_t status = registers.read32(reg::kStatus);
    problem.status = status;
    problem.waited_ms = static_cast<uint32_t>((clock.now_ns() - start) / 1'000'000);
    // All ones: the function no longer answers (removed, or its BAR is not decoded).
    if (status == ~0u) {
      problem.what = "the controller's registers read all ones (is its BAR decoded?)";
      return error(Errno::enodev);
    }
    if ((status & csts::kReady) == want) return {};
    if (want && (status & csts::kFatal)) {
      problem.what = "the controller reported a fatal status (CSTS.CFS) while enabling";
      return error(Errno::eio);
    }
    if (clock.now_ns() - start > limit) {
      problem.what = timeout_message;
      return error(Errno::etimedout);
    }
    clock.relax();
  }
}

}  // namespace

Result<> disable_controller(Registers& registers, const Capabilities& capabilities, WaitClock& clock,
                            EnableProblem& problem) {
  uint32_t configuration = registers.read32(reg::kConfiguration);
  if (configuration & cc::kEnable) registers.write32(reg::kConfiguration, configuration & ~cc::kEnable);
  return wait_for_status(registers, capabilities, clock, 0, problem,
                         "the controller did not become not-ready after CC.EN was cleared");
}

Result<> enable_controller(Registers& registers, const AdminQueues& queues, WaitClock& clock,
                           EnableProblem& problem) {
  Capabilities capabilities = Capabilities::decode(registers.read64(reg::kCapabilities));
  if (!capabilities.nvm_command_set) {
    problem.what = "the controller does not offer the NVM command set";
    return error(Errno::enodev);
  }
  if (capabilities.min_page_shift > 12 || capabilities.max_page_shift < 12) {
    problem.what = "the controller does not take 4 KiB memory pages";
    return error(Errno::enodev);
  }
  if (queues.entries < 2 || queues.entries > 4096 || queues.entries > capabilities.max_queue_entries) {
    problem.what = "the admin queues do not fit the controller's CAP.MQES";
    return error(Errno::enodev);
  }
  TRY(disable_controller(registers, capabilities, clock, problem));
  // 3.1.3.7-9: sizes are zero-based, completion queue size in the upper half.
  registers.write32(reg::kAdminQueueAttributes, (queues.entries - 1) << 16 | (queues.entries - 1));
  registers.write64(reg::kAdminSubmissionQueue, queues.submission_physical);
  registers.write64(reg::kAdminCompletionQueue, queues.completion_physical);
  registers.write32(reg::kConfiguration, cc::kCommandSetNvm | cc::kPageSize4k | cc::kArbitrationRoundRobin |
                                             cc::kSubmissionEntry64 | cc::kCompletionEntry16 | cc::kEnable);
  return wait_for_status(registers, capabilities, clock, csts::kReady, problem,
                         "the controller did not become ready within CAP.TO after CC.EN was set");
}

}  // namespace nimbus::nvme
