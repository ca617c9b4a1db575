// resolve_accel(): turns --accel auto|kvm|tcg into the accelerator QEMU will use.
#pragma once

#include <string>

#include "host_cache.h"
#include "kvm_device.h"
#include "run_options.h"

enum class Accel { Kvm, Tcg };

// auto picks KVM only when the probe kernel proves KVM runs ring-0 SSE code at native speed
// (kvm_pvm does not); the verdict is cached per host, and a fallback to TCG is announced once.
Accel resolve_accel(const RunOptions& options, const std::string& qemu, const KvmDevice& kvm,
                    HostCache& cache);
