// The NVMe controller reset and enable sequence (NVM Express Base 2.0, 3.5.1): disable,
// wait for not-ready, program the admin queues, enable, wait for ready, each wait bounded by
// CAP.TO, so a controller that never becomes ready is a clear error rather than a hang.
#pragma once

#include <cstdint>

#include "kernel/drivers/nvme/registers.h"
#include "kernel/lib/result.h"

namespace nimbus::nvme {

struct AdminQueues {
  uint64_t submission_physical = 0;  // 4 KiB aligned
  uint64_t completion_physical = 0;  // 4 KiB aligned
  uint32_t entries = 0;              // each queue's, 2..4096
};

// Why the sequence failed, for the driver's message: a static string and the CSTS value
// last read.
struct EnableProblem {
  const char* what = nullptr;
  uint32_t status = 0;
  uint32_t waited_ms = 0;
};

// Clears CC.EN and waits until CSTS.RDY reads 0. ETIMEDOUT when it stays 1 past CAP.TO.
Result<> disable_controller(Registers& registers, const Capabilities& capabilities, WaitClock& clock,
                            EnableProblem& problem);

// Disables the controller, programs AQA/ASQ/ACQ, sets CC (NVM command set, 4 KiB pages,
// 64-byte submission and 16-byte completion entries, EN) and waits for CSTS.RDY.
// ENODEV when the controller lacks the NVM command set or 4 KiB pages, or the queues do not
// fit CAP.MQES; EIO when it reports a fatal status (CSTS.CFS); ETIMEDOUT when it does not
// become ready within CAP.TO. `problem` says which.
Result<> enable_controller(Registers& registers, const AdminQueues& queues, WaitClock& clock,
                           EnableProblem& problem);

}  // namespace nimbus::nvme
