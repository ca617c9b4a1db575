// Linux processes: what each owns (address space, descriptors and cwd, signal actions,
// threads, children), the current one, the process tree, and how threads and processes end.
#pragma once

#include <atomic>
#include <cstdint>

#include "kernel/lib/intrusive_list.h"
#include "kernel/lib/result.h"
#include "kernel/linux/credentials.h"
#include "kernel/linux/elf_loader.h"
#include "kernel/linux/procfs.h"
#include "kernel/linux/resource_limits.h"
#include "kernel/linux/syscall_frame.h"
#include "kernel/mm/address_space.h"
#include "kernel/sync/spinlock.h"
#include "kernel/sync/wait_queue.h"

namespace nimbus {
class Thread;
namespace fs {
class FsContext;
}
}  // namespace nimbus

namespace nimbus::linux {

struct Process;

// What a signal's siginfo says beyond its number (kill, sigqueue, a timer, a child's end).
struct SignalDetails {
  int32_t code = 0;  // si_code: SI_USER
  int32_t pid_or_timer = 0;  // si_pid, or si_timerid for SI_TIMER
  int32_t uid_or_overrun = 0;  // si_uid, or si_overrun for SI_TIMER
  uint64_t value = 0;  // si_value (sigqueue, timers); SIGCHLD: si_status
};

// sched_setscheduler, sched_setattr, setpriority: what Linux would report (Nimbus has one
// policy, so these do not change when a thread runs). Linux keeps them per thread; here they
// are the process's, inherited by fork.
struct SchedulingSettings {
  int policy = 0;  // SCHED_OTHER
  int priority = 0;
  int nice = 0;
};

// Per application thread.
struct LinuxThread {
  uint32_t tid = 0;
  Thread* thread = nullptr;
  Process* process = nullptr;
  uint64_t clear_child_tid = 0;  // set_tid_address / CLONE_CHILD_CLEARTID
  uint64_t robust_list = 0;
  uint64_t robust_list_length = 0;
  // Signals: bit n-1 for signal n. `pending` is set by other threads (atomically).
  uint64_t signal_mask = 0;
  std::atomic<uint64_t> pending{0};
  SignalDetails pending_details[64];  // of each pending signal (one of each is kept, as Linux for standard signals)
  // ppoll, pselect6, epoll_pwait, rt_sigsuspend: the mask to restore once the call returns
  // (or to save in the signal frame of the handler that runs as it returns).
  uint64_t saved_signal_mask = 0;
  bool has_saved_signal_mask = false;
  uint64_t alternate_stack = 0;
  uint64_t alternate_stack_size = 0;
  bool alternate_stack_disabled = true;
  int32_t alternate_stack_flags = 2;  // as sigaltstack set them (SS_DISABLE, SS_AUTODISARM...)
  char name[16] = {};  // prctl(PR_SET_NAME); empty: the program's name
  int parent_death_signal = 0;
  // A copy by memcpy/memset into or out of program memory faulted during this system call
  // (the exception table's note_and_skip): the call then fails with EFAULT.
  bool user_access_faulted = false;
  ListNode node;  // in the list of all threads
};

struct KernelSigaction {
  uint64_t handler;
  uint64_t flags;
  uint64_t restorer;
  uint64_t mask;
};

// A process's signal actions and the signals sent to it as a whole (kill).
struct ProcessSignals {
  Spinlock actions_lock;  // guards `actions`
  KernelSigaction actions[65] = {};
  std::atomic<uint64_t> pending{0};
  SignalDetails details[64];  // of each process-directed pending signal (signals.cc's details lock)
};

// The strings of /proc/PID/{exe,cmdline,environ}, copied by execve, shared with forked children.
struct ProgramStrings {
  std::atomic<uint32_t> references{1};
  void retain() { references.fetch_add(1, std::memory_order_relaxed); }
  void release();
};

// The program `nimbus run` starts; the VM ends with it.
constexpr uint32_t kInitPid = 1;

enum class ProcessState : uint8_t { alive, zombie };

// Wait statuses (as wait4 reports them).
constexpr int exited_status(int code) { return (code & 0xff) << 8; }
constexpr int killed_status(int signal) { return signal & 0x7f; }

struct Process {
  uint32_t pid = 0;
  // The process tree, guarded by process_tree_lock(): parent, children, state, pgid, sid.
  Process* parent = nullptr;
  ListNode sibling_node;  // in the parent's children
  ListNode table_node;    // in the table of all processes
  IntrusiveList<Process, &Process::sibling_node> children;
  uint32_t pgid = 0;
  uint32_t sid = 0;
  ProcessState state = ProcessState::alive;
  int wait_status = 0;   // once a zombie
  int exit_signal = 17;  // SIGCHLD to the parent at the end (clone's low byte)
  uint32_t creator_tid = 0;  // the parent's thread that made it: only that one waits with __WNOTHREAD
  WaitQueue child_events;  // this process's waits for its children (under the tree lock)

  AddressSpace* space = nullptr;  // one reference held (shared while a vfork child runs)
  fs::FsContext* files = nullptr;  // cwd, root, umask, descriptors
  ProcessSignals signals;
  Credentials credentials;  // under credentials_lock()
  ResourceLimits limits;    // under resource_limits_lock()
  SchedulingSettings scheduling;  // syscalls_sched.cc, under its settings lock
  std::atomic<bool> no_new_privileges{false};  // PR_SET_NO_NEW_PRIVS: kept by fork and execve
  ProcessInfo info;
  ProgramStrings* strings = nullptr;  // owner of info's strings; nullptr: the boot's, kept forever

  std::atomic<uint32_t> live_threads{0};
  std::atomic<bool> exiting{false};  // exit_group or a fatal signal: every thread ends
  int exit_status = 0;                // the wait status exit_group chose
  // The thread that execs while execve ends the others: their SIGKILL ends only themselves.
  std::atomic<LinuxThread*> exec_thread{nullptr};
  std::atomic<uint64_t> exited_cpu_time_ns{0};
  uint64_t children_cpu_time_ns = 0;  // of reaped children (RUSAGE_CHILDREN)

  // vfork: the parent sleeps on its vfork_wait (under the tree lock) until the child
  // (which holds vfork_parent meanwhile) execs or exits and sets the parent's vfork_done.
  Process* vfork_parent = nullptr;
  bool vfork_done = false;
  WaitQueue vfork_wait;
  bool has_execed = false;  // setpgid on a child that has: EACCES

  // Job control. A stop signal's default action stops every thread (they sleep on
  // stop_wait at their next return to the program) until SIGCONT or SIGKILL. `stopped`
  // changes under stop_lock (taken after the tree and thread-list locks); the reports below
  // are the parent's, under the tree lock: a stop WUNTRACED has not yet seen, a continue
  // WCONTINUED has not. SIGCONT may come from under the tree lock, so the thread it wakes
  // tells the parent (continue_to_announce), as Linux's get_signal does.
  std::atomic<bool> stopped{false};
  std::atomic<bool> continue_to_announce{false};
  Spinlock stop_lock;
  WaitQueue stop_wait;
  int stop_signal = 0;
  bool stop_unreported = false;
  bool continue_unreported = false;

  // ptrace (ptrace.cc), under the tree lock (trace_stopped under stop_lock too): the tracing
  // process, a signal-delivery stop the tracer has not seen through wait yet, and the signal
  // its PTRACE_CONT or PTRACE_DETACH hands back.
  std::atomic<Process*> tracer{nullptr};
  std::atomic<bool> trace_stopped{false};
  int trace_signal = 0;
  bool trace_unreported = false;
  int trace_resume_signal = 0;
};

// The process tree's lock (parent, children, states, groups; the process table).
Spinlock& process_tree_lock();
// The process of the calling application thread.
Process& current_process();
// The process `pid`, or nullptr; the caller holds the tree lock.
Process* find_process_locked(uint32_t pid);
// Whether a process is in group `pgid` (and session `sid`, unless 0); under the tree lock.
bool group_exists_locked(uint32_t pgid, uint32_t sid);
// Whether group `pgid` is orphaned (POSIX): no member has a parent in another group of the
// same session. Job-control stops (SIGTSTP, SIGTTIN, SIGTTOU) are discarded there, as on
// Linux. Under the tree lock.
bool group_is_orphaned_locked(uint32_t pgid);
// Runs f on every process; the caller holds the tree lock.
void for_each_process_locked(void (*f)(Process& process, void* context), void* context);
// Runs f on every process under the tree lock.
void with_processes(void (*f)(Process& process, void* context), void* context);
// A new process's number and entry in the table (alive, no threads yet): ENOMEM / EAGAIN.
Result<Process*> create_process();
// A number for a new thread (threads and processes share one number space).
uint32_t allocate_id();
// The child of a vfork execs or exits: its parent may go on. Takes the tree lock.
void finish_vfork(Process& child);
// Frees a reaped zombie.
void free_process(Process* process);

// The threads of every process, for signals sent by tid.
void register_thread(LinuxThread& thread);
void unregister_thread(LinuxThread& thread);
// Runs f on the live thread `tid` (tid 0: the first live thread of the current process)
// under the thread-list lock, so it cannot exit meanwhile; false if there is none.
bool with_thread(uint32_t tid, void (*f)(LinuxThread& thread, void* context), void* context);
// Runs f on every live thread of `process` under the thread-list lock.
void with_threads(Process& process, void (*f)(LinuxThread& thread, void* context), void* context);
void with_threads(void (*f)(LinuxThread& thread, void* context), void* context);
// Makes the calling kernel thread run `thread` of `process`: page tables, %fs (registers it).
void adopt_linux_thread(LinuxThread& thread, uint64_t fs_base);

struct Program {
  const char* path;          // guest path of the executable
  const char* const* argv;   // NULL-terminated
  const char* const* envp;   // NULL-terminated
};

// The current process's address space.
AddressSpace& address_space();
// Whether the calling thread is an application thread (application faults make sense only then).
bool has_process();
// Creates PID 1 with `files` (the boot's descriptors), loads the program and starts its
// first thread. Errors are printed; the caller ends the VM with the returned status.
int run_program(const Program& program, MappedFile& exe, uint64_t exe_size, OpenFile open_interpreter,
                fs::FsContext& files);

// Maps the stack (below `layout`'s top), the vDSO, and writes argc/argv/envp/auxv for
// `image` into `space`, which must be the one loaded (CR3); fills `info`'s layout fields.
// Returns the initial %rsp.
Result<uintptr_t> prepare_program_stack(AddressSpace& space, const Program& program, const LoadedImage& image,
                                        const ProgramLayout& layout, ProcessInfo& info);

// exit_group with a wait status (exited_status / killed_status): every thread of the current
// process ends; PID 1's end ends the VM (exit code, or 128 + signal).
[[noreturn]] void exit_process(int wait_status);
// The calling thread ends (exit); the last one of its process ends the process with `wait_status`.
[[noreturn]] void exit_thread(int wait_status);
// CPU time of the whole process: its live threads and those that have exited.
uint64_t process_cpu_time_ns();
SyscallFrame*& current_syscall_frame();
LinuxThread& current_linux_thread();

}  // namespace nimbus::linux
