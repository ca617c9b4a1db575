// Descriptors 0, 1 and 2: a tty device (/dev/pts/N) or a FIFO-like stream over each host
// stream's console, each on a node of its own that /proc/self/fd/N leads back to.
#include "kernel/linux/standard_streams.h"

#include <cstring>
#include <new>

#include "kernel/fs/file.h"
#include "kernel/fs/fs.h"
#include "kernel/fs/linux_abi.h"
#include "kernel/fs/tty_device.h"
#include "kernel/fs/vfs.h"
#include "kernel/lib/format.h"

namespace nimbus::linux {
namespace {

using namespace fs::linux_abi;

// Unix 98 pseudo-terminals' major number: a terminal stream shows as /dev/pts/N, as it would
// under a terminal emulator.
constexpr uint32_t kPtsMajor = 136;

// A host stream that is not a terminal: bytes through, and the answers a pipe gives (terminal
// ioctls ENOTTY, lseek ESPIPE).
class HostPipe final : public fs::FileOps {
 public:
  explicit HostPipe(fs::Console& console) : m_console(console) {}
  Result<size_t> read(fs::File&, std::span<std::byte> buffer, fs::IoFlags flags) override {
    if (buffer.empty()) return 0;
    return m_console.read(buffer, flags.nonblocking);
  }
  Result<size_t> write(fs::File&, std::span<const std::byte> data, fs::IoFlags) override {
    return m_console.write(data);
  }
  Result<int64_t> ioctl(fs::File&, uint32_t request, uintptr_t argument) override {
    if (request != fionread) return error(Errno::enotty);
    int waiting = static_cast<int>(m_console.readable_bytes());
    memcpy(reinterpret_cast<void*>(argument), &waiting, sizeof(waiting));
    return 0;
  }
  uint32_t poll(fs::File&) override {
    uint32_t events = pollout | pollwrnorm;
    if (m_console.readable_bytes())
      events |= pollin | pollrdnorm;
    else if (m_console.input_ended())
      events |= pollin | pollrdnorm | pollhup;
    return events;
  }
  PollQueue* poll_queue(fs::File&) override { return &m_console.poll_queue(); }

 private:
  fs::Console& m_console;
};

// The node behind a piped standard stream. No directory names it; opening it again (through
// /proc/self/fd/N) shares the stream's operations.
class StreamNode final : public fs::Vnode {
 public:
  StreamNode(fs::FileSystem& fs, fs::FileOps& ops)
      : Vnode(fs, fs::VnodeType::fifo, fs.allocate_ino()), m_ops(ops), m_time(fs.now()) {}

  fs::Stat stat() override {
    fs::Stat result;
    result.dev_minor = fs().device_minor();
    result.ino = ino();
    result.mode = m_mode;
    result.nlink = 1;
    result.block_size = 4096;
    result.atime_ns = result.mtime_ns = result.ctime_ns = result.btime_ns = m_time;
    return result;
  }
  Result<> set_attributes(const fs::SetAttributes& attributes) override {
    if (attributes.mask & fs::SetAttributes::mode) m_mode = s_ififo | (attributes.mode_bits & 07777);
    return {};
  }
  fs::FileOps* stream_ops() override { return &m_ops; }

 private:
  uint32_t m_mode = s_ififo | 0600;
  fs::FileOps& m_ops;
  int64_t m_time;
};

// A terminal stream: its own tty device, numbered and named as a pseudo-terminal
// (/dev/pts/N), so ttyname() finds it and /proc/self/fd/N leads back to it.
Result<> install_terminal(fs::FsContext& context, int fd, fs::Console& console, const HostStreamKinds& kinds) {
  auto* tty = new (kNoThrow) fs::TtyDevice(console);
  if (!tty) return error(Errno::enomem);
  if (kinds.rows && kinds.columns) tty->set_window_size(kinds.rows, kinds.columns);
  auto minor = static_cast<uint32_t>(fd);
  TRY(context.vfs().devices().add(kPtsMajor, minor, *tty));
  char path[16];
  format_to(path, sizeof(path), "/dev/pts/%d", fd);
  TRY(fs::mknod(context, at_fdcwd, path, s_ifchr | 0620, kPtsMajor, minor));
  int installed = TRY(fs::open(context, at_fdcwd, path, o_rdwr, 0));
  if (installed != fd) return error(Errno::ebadf);
  return {};
}

// Any other stream: a FIFO no directory names, opened as a shell's pipe would be.
Result<> install_pipe(fs::FsContext& context, int fd, fs::Console& console) {
  auto* pipe = new (kNoThrow) HostPipe(console);
  if (!pipe) return error(Errno::enomem);
  auto node = TRY(try_make_ref<StreamNode>(context.vfs().pipe_fs(), *pipe));
  auto file = TRY(fs::File::try_create(std::move(node), fd == 0 ? o_rdonly : o_wronly, pipe));
  int installed = TRY(context.fds().install(std::move(file), false));
  if (installed != fd) return error(Errno::ebadf);
  return {};
}

}  // namespace

Result<> install_standard_streams(fs::FsContext& context, const StreamConsoles& consoles,
                                  const HostStreamKinds& kinds) {
  for (int fd = 0; fd < 3; fd++) {
    fs::Console& console = fd == 2 && consoles.errors ? *consoles.errors : *consoles.terminal;
    if (kinds.terminal[fd]) TRY(install_terminal(context, fd, console, kinds));
    else TRY(install_pipe(context, fd, console));
  }
  return {};
}

}  // namespace nimbus::linux
