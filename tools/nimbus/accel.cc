// resolve_accel(): turns --accel auto|kvm|tcg into the accelerator QEMU will use.
#include "accel.h"

#include <unistd.h>

#include <chrono>
#include <iostream>

#include "child_process.h"
#include "host_paths.h"
#include "text.h"

namespace {

constexpr const char* kVerdictKey = "accel";
constexpr const char* kReasonKey = "accel_reason";
// Real KVM runs the probe's loop in about a millisecond; QEMU's own start-up dominates this limit.
constexpr std::chrono::milliseconds kProbeTimeLimit{2000};
// PROBE_OK comes from CMake, which passes the same value to probe.S.
constexpr int kProbeSuccessExit = (NIMBUS_PROBE_OK << 1) | 1;

struct ProbeResult {
  bool passed = false;
  std::string detail;
};

ProbeResult run_probe(const std::string& qemu, const std::string& probe_kernel) {
  ChildSpec spec;
  spec.argv = {qemu,
               "-M",
               "microvm,x-option-roms=off",
               "-accel",
               "kvm",
               "-cpu",
               "host",
               "-m",
               "16M",
               "-smp",
               "1",
               "-nodefaults",
               "-no-user-config",
               "-display",
               "none",
               "-no-reboot",
               "-kernel",
               probe_kernel,
               "-device",
               "isa-debug-exit,iobase=0xf4,iosize=4"};
  spec.time_limit = kProbeTimeLimit;
  spec.forward_stderr = false;
  spec.detach_stdio = true;
  // kvm_pvm's emulator reports the failure and then leaves the VM paused: stop waiting at once.
  spec.stop_on_line = [](std::string_view line) {
    return line.find("KVM internal error") != std::string_view::npos ||
           line.find("emulation failure") != std::string_view::npos;
  };

  auto outcome = run_child(spec);
  if (!outcome) return {false, outcome.error().message};
  using Ending = ChildOutcome::Ending;
  switch (outcome->ending) {
    case Ending::StoppedOnLine:
      return {false, "KVM internal error"};
    case Ending::TimedOut:
      return {false, cat("no result within ", kProbeTimeLimit.count(), " ms")};
    case Ending::Signaled:
      return {false, cat("QEMU killed by signal ", outcome->code)};
    case Ending::OutputClosed:  // the probe watches no output
      return {false, "output closed"};
    case Ending::Exited:
      break;
  }
  if (outcome->code == kProbeSuccessExit)
    return {true, cat("passed in ", outcome->elapsed.count(), " ms")};
  for (const std::string& line : outcome->stderr_lines)
    if (line.starts_with("qemu-system")) return {false, line};
  return {false, cat("QEMU exit status ", outcome->code)};
}

void notice(const std::string& message) {
  std::cerr << "nimbus: " << message << std::endl;
}

Accel learn_verdict(const std::string& qemu, const KvmDevice& kvm, HostCache& cache, bool verbose) {
  std::string reason;
  if (!kvm.usable) {
    reason = kvm.problem;
  } else {
    std::string probe_kernel = (executable_dir() / "nimbus-probe.elf").string();
    if (::access(probe_kernel.c_str(), R_OK) != 0) {
      // Not a fact about the host, so not cached: the next run probes once the file is built.
      notice(cat("accelerator probe ", probe_kernel,
                 " is missing (build the nimbus-probe target); using TCG"));
      return Accel::Tcg;
    }
    ProbeResult probe = run_probe(qemu, probe_kernel);
    if (probe.passed) {
      if (verbose) notice(cat("KVM probe ", probe.detail, "; using KVM"));
      cache.set(kVerdictKey, "kvm");
      cache.set(kReasonKey, cat("kvm probe ", probe.detail));
      cache.save();
      return Accel::Kvm;
    }
    reason = cat("KVM cannot run ring-0 SSE code at speed here (kvm probe: ", probe.detail, ")");
  }
  notice(cat(reason, "; using TCG"));
  cache.set(kVerdictKey, "tcg");
  cache.set(kReasonKey, reason);
  cache.save();
  return Accel::Tcg;
}

}  // namespace

Accel resolve_accel(const RunOptions& options, const std::string& qemu, const KvmDevice& kvm,
                    HostCache& cache) {
  switch (options.accel) {
    case AccelChoice::Kvm:
      return Accel::Kvm;
    case AccelChoice::Tcg:
      return Accel::Tcg;
    case AccelChoice::Auto:
      break;
  }
  if (options.icount) {
    if (options.verbose) notice("--icount counts instructions under TCG; using TCG");
    return Accel::Tcg;
  }

  auto verdict = cache.get(kVerdictKey);
  if (verdict == "kvm" || verdict == "tcg") {
    if (options.verbose)
      notice(cat(cache.get(kReasonKey).value_or("cached verdict"), "; using ",
                 *verdict == "kvm" ? "KVM" : "TCG", " (cached in ", cache.path().string(),
                 "; delete it to probe again)"));
    return *verdict == "kvm" ? Accel::Kvm : Accel::Tcg;
  }
  return learn_verdict(qemu, kvm, cache, options.verbose);
}
