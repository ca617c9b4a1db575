// ptrace, the minimum that lets a parent follow a child: PTRACE_TRACEME and PTRACE_ATTACH
// make a tracer; every signal the tracee is about to act on stops it first (a
// signal-delivery stop, which the tracer's wait reports as WIFSTOPPED without WUNTRACED and
// whatever __WCLONE says); PTRACE_CONT and PTRACE_DETACH resume it with a signal of the
// tracer's choice (0: none); PTRACE_KILL ends it. A successful execve sends the tracee
// SIGTRAP. Reading or changing the tracee's memory and registers is not offered (EIO).
#pragma once

#include <cstdint>

#include "kernel/lib/result.h"

namespace nimbus::linux {

struct LinuxThread;
struct Process;

// A signal-delivery stop: the calling thread of a traced process stops for `signal` until its
// tracer resumes it; returns the signal to act on instead (0: none). Without a tracer, `signal`.
int stop_for_tracer(LinuxThread& self, int signal);
// `tracer` ends: the processes it traced go on untraced. Under the tree lock.
void release_tracees_locked(Process& tracer);

}  // namespace nimbus::linux
