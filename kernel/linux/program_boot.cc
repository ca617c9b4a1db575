// Runs the program packed in the initrd.
#include "kernel/linux/program_boot.h"
#include "kernel/linux/resource_limits.h"

#include <cstring>
#include <new>

#include "kernel/drivers/serial.h"
#include "kernel/drivers/serial_input.h"
#include "kernel/drivers/virtio/console.h"
#include "kernel/fs/fs.h"
#include "kernel/fs/tty_device.h"
#include "kernel/lib/console.h"
#include "kernel/lib/format.h"
#include "kernel/lib/exit_status.h"
#include "kernel/linux/file_syscalls.h"
#include "kernel/linux/process.h"
#include "kernel/linux/procfs.h"
#include "kernel/linux/standard_streams.h"
#include "kernel/linux/syscalls.h"
#include "kernel/linux/signals.h"
#include "kernel/fs/pipe.h"
#include "kernel/linux/shares.h"
#include "kernel/linux/volumes.h"
#include "kernel/linux/vnode_mapping.h"
#include "kernel/mm/heap.h"
#include "kernel/net/kernel_net_stack.h"
#include "kernel/sched/cpu.h"
#include "kernel/sched/thread.h"
#include "kernel/sync/spinlock.h"
#include "kernel/time/clock.h"

namespace nimbus::linux {
namespace {

constexpr int kAtFdcwd = fs::linux_abi::at_fdcwd;

// The serial port as a Console (output as is, input by interrupt).
class SerialConsole final : public fs::Console {
 public:
  Result<size_t> write(std::span<const std::byte> data) override {
    SpinlockGuard guard(m_lock);
    serial::write(reinterpret_cast<const char*>(data.data()), data.size());
    return data.size();
  }
  Result<size_t> read(std::span<std::byte> buffer, bool nonblocking) override {
    size_t n = TRY(serial_input::read({reinterpret_cast<uint8_t*>(buffer.data()), buffer.size()}, nonblocking));
    if (n == 0 && nonblocking && !buffer.empty()) return error(Errno::eagain);
    return n;
  }
  size_t readable_bytes() override { return serial_input::available(); }

 private:
  Spinlock m_lock;
};

// The program's standard streams. With virtio-console (virtio-mmio on microvm, virtio-pci on
// q35) they are the ports `nimbus run` names; /dev/console and /dev/tty read stdin and write
// stdout, and descriptor 2 writes the stderr port. Without it (nimbus could not hand QEMU its
// descriptors), all three are the serial console. standard_streams.cc makes the descriptors.
constexpr std::string_view kStdinPort = "nimbus.stdin";
constexpr std::string_view kStdoutPort = "nimbus.stdout";
constexpr std::string_view kStderrPort = "nimbus.stderr";
// The device announces its ports within a few interrupts of the driver starting; this only
// bounds a broken or foreign device (slow under TCG, hence generous).
constexpr uint64_t kPortWaitNs = 2'000'000'000;

SerialConsole g_serial_console;
// PID 1's (the boot's until the program starts).
fs::FsContext* g_context = nullptr;

StreamConsoles standard_streams() {
  if (!virtio_console::present()) return {&g_serial_console, nullptr};
  uint64_t deadline = clock::monotonic_ns() + kPortWaitNs;
  using virtio_console::PortUse;
  auto* input = virtio_console::open_port(kStdinPort, PortUse::input, deadline);
  auto* output = virtio_console::open_port(kStdoutPort, PortUse::output, deadline);
  auto* errors = virtio_console::open_port(kStderrPort, PortUse::output, deadline);
  if (!input || !output || !errors) {
    print("nimbus: virtio-console lacks the %.*s, %.*s and %.*s ports; using the serial console\n",
          static_cast<int>(kStdinPort.size()), kStdinPort.data(), static_cast<int>(kStdoutPort.size()),
          kStdoutPort.data(), static_cast<int>(kStderrPort.size()), kStderrPort.data());
    return {&g_serial_console, nullptr};
  }
  auto* terminal = new (kNoThrow) virtio_console::PortStream(*input, *output);
  auto* error_stream = new (kNoThrow) virtio_console::PortStream(*input, *errors);
  if (!terminal || !error_stream) return {&g_serial_console, nullptr};
  return {terminal, error_stream};
}

// A whole small file, NUL-terminated, on the heap (nullptr if missing).
char* read_file(const char* path, size_t* length) {
  auto file = fs::open_file(*g_context, kAtFdcwd, path, fs::linux_abi::o_rdonly, 0);
  if (!file) return nullptr;
  size_t capacity = 4096, size = 0;
  auto* data = static_cast<char*>(heap::allocate(capacity));
  while (data) {
    auto n = (*file)->read({reinterpret_cast<std::byte*>(data + size), capacity - size - 1});
    if (!n) break;
    if (*n == 0) break;
    size += *n;
    if (size + 1 == capacity) {
      auto* bigger = static_cast<char*>(heap::allocate(capacity * 2));
      if (bigger) memcpy(bigger, data, size);
      heap::free(data);
      data = bigger;
      capacity *= 2;
    }
  }
  if (!data) return nullptr;
  data[size] = '\0';
  *length = size;
  return data;
}

// NUL-separated strings -> a NULL-terminated array pointing into `text`.
const char** split(char* text, size_t length) {
  size_t count = 0;
  for (size_t i = 0; i < length; i++) count += text[i] == '\0';
  if (length && text[length - 1] != '\0') count++;
  auto** list = static_cast<const char**>(heap::allocate((count + 1) * sizeof(char*)));
  if (!list) return nullptr;
  size_t n = 0;
  for (size_t i = 0; i < length; i += strlen(text + i) + 1) list[n++] = text + i;
  list[n] = nullptr;
  return list;
}

void write_if_missing(const char* path, const char* text) {
  using namespace fs::linux_abi;
  auto fd = fs::open(*g_context, kAtFdcwd, path, o_wronly | o_creat | o_excl, 0644);
  if (!fd) return;
  if (auto file = g_context->fds().get(*fd)) (void)(*file)->write({reinterpret_cast<const std::byte*>(text), strlen(text)});
  (void)fs::close(*g_context, *fd);
}

}  // namespace

Result<MappedFile*> open_mapped(const char* path, uint64_t* size) {
  auto file = TRY(fs::open_file(file_context(), kAtFdcwd, path, fs::linux_abi::o_rdonly, 0));
  if (!file->vnode()->is_regular()) return error(Errno::eacces);
  *size = file->vnode()->stat().size;
  return map_vnode(file->vnode(), path);
}

namespace {

// Whether /proc/PID/fd shows the caller's descriptors: another process's table may go away
// while being read (its descriptors are not shown; Linux would show them to root).
bool own_descriptors(uint32_t pid) { return pid == current_process().pid; }

// /proc/PID/fd: one symlink per open descriptor.
void list_fds(uint32_t pid, void (*add)(std::string_view, void*), void* context) {
  if (!own_descriptors(pid)) return;
  fs::FdTable& fds = file_context().fds();
  uint64_t limit = fds.limit();
  for (uint64_t fd = 0; fd < limit; fd++) {
    if (!fds.get(static_cast<int>(fd))) continue;
    char name[24];
    size_t n = format_to(name, sizeof(name), "%lu", fd);
    add({name, n}, context);
  }
}

bool fd_target(uint32_t pid, std::string_view name, TextBuffer& out) {
  if (!own_descriptors(pid)) return false;
  int fd = 0;
  for (char c : name) {
    if (c < '0' || c > '9') return false;
    fd = fd * 10 + (c - '0');
  }
  auto file = file_context().fds().get(fd);
  if (!file) return false;
  fs::Stat s = (*file)->vnode()->stat();
  constexpr uint32_t kPtsMajor = 136;
  switch (s.mode & fs::linux_abi::s_ifmt) {
    case fs::linux_abi::s_ififo:
      if ((*file)->found_in()) break;  // a named FIFO has a path
      out.format("pipe:[%lu]", s.ino);
      return true;
    case fs::linux_abi::s_ifchr:
      if ((*file)->found_in()) break;
      if (s.rdev_major == kPtsMajor) out.format("/dev/pts/%u", s.rdev_minor);
      else out.append("/dev/console");
      return true;
    case fs::linux_abi::s_ifsock:
      if ((*file)->found_in()) break;  // opened by its path (O_PATH)
      out.format("socket:[%lu]", s.ino);
      return true;
    default: break;
  }
  if (!file_path(**file, out)) out.format("/proc/self/fd/%d (inode %lu)", fd, s.ino);
  return true;
}

// What opening /proc/self/fd/N reaches: the descriptor's own node, so opening it again gives
// the same object (the standard streams, files, directories, devices, pipes); for a socket,
// open() of its node fails with ENXIO, as on Linux.
RefPtr<fs::Vnode> fd_object(uint32_t pid, std::string_view name) {
  if (!own_descriptors(pid)) return nullptr;
  int fd = 0;
  for (char c : name) {
    if (c < '0' || c > '9') return nullptr;
    fd = fd * 10 + (c - '0');
  }
  // The calling process's descriptors (PID 1's table is the boot's, a child's its own).
  auto file = file_context().fds().get(fd);
  if (!file) return nullptr;
  return (*file)->vnode();
}

}  // namespace

// The path an open file has (as Linux's d_path): a directory's own, or the directory it was
// opened in and its name there; false when it has none (no longer linked there, or opened
// other than by path).
bool file_path(const fs::File& file, TextBuffer& out) {
  const RefPtr<fs::Vnode>& vnode = file.vnode();
  RefPtr<fs::Vnode> directory = vnode->is_directory() ? vnode : file.found_in();
  if (!directory) return false;
  char* path = static_cast<char*>(heap::allocate(fs::linux_abi::path_max));
  if (!path) return false;
  auto length = fs::path_of(*g_context, directory, {path, fs::linux_abi::path_max});
  char name[fs::linux_abi::name_max];
  Result<size_t> name_length = 0;
  if (length && !vnode->is_directory()) name_length = directory->child_name(*vnode, name);
  bool found = length && *length > 1 && name_length;
  if (found) {
    out.append({path, *length - 1});
    if (!vnode->is_directory()) {
      if (*length > 2) out.append("/");
      out.append({name, *name_length});
    }
  }
  heap::free(path);
  return found;
}

fs::FsContext& file_context() {
  if (LinuxThread* thread = current_thread()->linux_thread) return *thread->process->files;
  return *g_context;
}

int boot_program(std::span<const std::byte> initrd, const HostStreamKinds& stream_kinds) {
  serial_input::set_input_listener([] { g_serial_console.input_arrived(); });
  fs::CpioError cpio_error;
  StreamConsoles streams = standard_streams();
  RefPtr<fs::Vnode> disk_root;
  if (!mount_disk_root(&disk_root)) return static_cast<int>(ExitStatus::bad_command_line);
  if (auto built = fs::init_root(initrd, *streams.terminal, &cpio_error, disk_root); !built) {
    if (disk_root && !cpio_error.reason) {
      print("nimbus: the root disk lacks /dev, /tmp, /proc, /sys or /etc (error %d)\n", static_cast<int>(built.error()));
      return static_cast<int>(ExitStatus::bad_executable);
    }
    print("nimbus: the initrd is not a valid cpio archive: %s at byte %zu\n",
          cpio_error.reason ? cpio_error.reason : "error", cpio_error.offset);
    return static_cast<int>(ExitStatus::bad_executable);
  }
  g_context = new (kNoThrow) fs::FsContext(fs::vfs());
  if (!g_context) return static_cast<int>(ExitStatus::out_of_memory);
  fs::set_file_size_limit([] { return soft_resource_limit(kRlimitFsize); });
  install_readiness_signal_sender();
  fs::set_broken_pipe_signal([] {
    if (LinuxThread* self = current_thread()->linux_thread) (void)send_signal(self->tid, kSigpipe, kSiKernel);
  });
  auto clock = [] { return static_cast<int64_t>(clock::wall_ns()); };
  SyntheticFs* procfs = make_procfs(clock);
  SyntheticFs* sysfs = make_sysfs(clock);
  if (!procfs || !sysfs || !fs::vfs().mount("/proc", procfs->root()) || !fs::vfs().mount("/sys", sysfs->root())) {
    print("nimbus: cannot mount /proc and /sys\n");
    return static_cast<int>(ExitStatus::out_of_memory);
  }
  // On a disk root the working directory's RAM copy goes over the disk's first, so that a
  // volume on it or below it is mounted on top and stays visible.
  size_t ram_directory_length = 0;
  if (char* ram_directory = read_file("/.nimbus/workdir", &ram_directory_length)) {
    auto mounted = fs::vfs().mount_ram_copy({ram_directory, ram_directory_length});
    if (!mounted) print("nimbus: cannot make the working directory %s writable\n", ram_directory);
    heap::free(ram_directory);
    if (!mounted) return static_cast<int>(ExitStatus::bad_executable);
  }
  if (!mount_volumes(*g_context)) return static_cast<int>(ExitStatus::bad_command_line);
  if (!mount_shares(*g_context)) return static_cast<int>(ExitStatus::bad_command_line);
  set_fd_directory(DynamicDirectory{list_fds, fd_target, fd_object});
  // The host name and addresses come from the network stage (hostname=, ip=, dns=).
  net::KernelNetworkIdentity identity = net::kernel_network_identity();
  char text[512];
  format_to(text, sizeof(text), "%.*s\n", static_cast<int>(identity.hostname.size()), identity.hostname.data());
  write_if_missing("/etc/hostname", text);
  write_if_missing("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
  write_if_missing("/etc/group", "root:x:0:\nnogroup:x:65534:\n");
  net::format_etc_hosts(identity, text, sizeof(text));
  write_if_missing("/etc/hosts", text);
  if (net::format_resolv_conf(identity, text, sizeof(text))) write_if_missing("/etc/resolv.conf", text);

  if (!install_standard_streams(*g_context, streams, stream_kinds)) {
    print("nimbus: cannot open the standard streams\n");
    return static_cast<int>(ExitStatus::out_of_memory);
  }

  size_t exe_length = 0, argv_length = 0, env_length = 0, workdir_length = 0;
  char* exe = read_file("/.nimbus/exe", &exe_length);
  char* argv_text = read_file("/.nimbus/argv", &argv_length);
  char* env_text = read_file("/.nimbus/env", &env_length);
  char* workdir = read_file("/.nimbus/workdir", &workdir_length);
  if (!exe || !argv_text) {
    print("nimbus: the initrd names no program (.nimbus/exe, .nimbus/argv)\n");
    return static_cast<int>(ExitStatus::bad_executable);
  }
  static char empty[] = "";
  const char** argv = split(argv_text, argv_length);
  const char** envp = env_text ? split(env_text, env_length) : split(empty, 0);
  if (!argv || !envp) return static_cast<int>(ExitStatus::out_of_memory);
  if (workdir && workdir_length) {
    if (auto changed = fs::chdir(*g_context, {workdir, workdir_length}); !changed) {
      print("nimbus: cannot change to the working directory %s\n", workdir);
      return static_cast<int>(ExitStatus::bad_executable);
    }
  }

  uint64_t size = 0;
  auto mapped = open_mapped(exe, &size);
  if (!mapped) {
    print("nimbus: cannot open %s\n", exe);
    return static_cast<int>(ExitStatus::bad_executable);
  }
  int status = run_program(Program{exe, argv, envp}, **mapped, size, open_mapped, *g_context);
  (*mapped)->release();
  return status;
}

}  // namespace nimbus::linux
