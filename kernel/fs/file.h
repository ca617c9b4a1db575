// File: an open file description (what open() creates and dup() shares), and FileOps, the
// I/O of files that are not plain vnodes (devices, pipes).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/fs/linux_abi.h"
#include "kernel/fs/vnode.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/lib/result.h"
#include "kernel/sync/mutex.h"
#include "kernel/sync/poll_queue.h"

namespace nimbus::fs {

class File;
class Pipe;

// Linux's struct iovec, for readv/writev: the same layout, so the syscall layer can copy an
// application's iovec array straight into an array of these.
struct IoVec {
  void* base;
  size_t length;
};
static_assert(sizeof(IoVec) == 16);

// Largest count one read or write moves (Linux's MAX_RW_COUNT).
constexpr size_t kMaxIoCount = 0x7ffff000;

// The I/O behind a device node or a pipe. A File with FileOps sends reads, writes, ioctls
// and polls here instead of to its vnode.
class FileOps {
 public:
  enum class SeekMode : uint8_t {
    unseekable,  // lseek: ESPIPE; pread/pwrite: ESPIPE (ttys, pipes)
    always_zero,  // lseek succeeds and reports 0 (/dev/null, /dev/zero...)
  };

  // Called once a File uses these ops, and when that File's last reference goes.
  virtual void open(File&) {}
  virtual void release(File&) {}
  virtual Result<size_t> read(File& file, std::span<std::byte> buffer, IoFlags flags) = 0;
  virtual Result<size_t> write(File& file, std::span<const std::byte> data, IoFlags flags) = 0;
  // Ops that take readv/writev's vectors in one call (sockets: one writev is one datagram,
  // and an empty write still sends one) say so; the File then calls read_vectors and
  // write_vectors instead of read and write per vector.
  virtual bool takes_vectors() const { return false; }
  virtual Result<size_t> read_vectors(File&, std::span<const IoVec>, IoFlags) { return error(Errno::einval); }
  virtual Result<size_t> write_vectors(File&, std::span<const IoVec>, IoFlags) { return error(Errno::einval); }
  // `argument` is the application's pointer, already checked by the syscall layer for
  // ioctl_argument_size(request) bytes.
  virtual Result<int64_t> ioctl(File&, uint32_t, uintptr_t) { return error(Errno::enotty); }
  // POLL* bits that are ready now.
  virtual uint32_t poll(File&) {
    using namespace linux_abi;
    return pollin | pollout | pollrdnorm | pollwrnorm;
  }
  // Where poll/epoll wait for this file's readiness to change (nullptr: it never changes,
  // as for regular files and devices that are always ready).
  virtual PollQueue* poll_queue(File&) { return nullptr; }
  virtual SeekMode seek_mode() const { return SeekMode::unseekable; }
  // What kind of object these ops are (the address of a static tag; nullptr: none of
  // interest), so the syscall layer can tell an epoll or eventfd from other files (no RTTI).
  virtual const void* type_tag() const { return nullptr; }
  // The pipe these ops are, for F_GETPIPE_SZ/F_SETPIPE_SZ (no RTTI in the kernel).
  virtual Pipe* as_pipe() { return nullptr; }

 protected:
  ~FileOps() = default;
};

// RLIMIT_FSIZE, which the Linux layer keeps: writes and truncation of regular files stop at
// it (EFBIG, the syscall layer raising SIGXFSZ). Without a source there is no limit.
using FileSizeLimit = uint64_t (*)();
void set_file_size_limit(FileSizeLimit limit);
// The limit now (UINT64_MAX: none).
uint64_t file_size_limit();

// How many bytes the ioctl requests this layer knows read or write through their argument
// (0 for unknown ones), so the syscall layer can check the pointer first.
size_t ioctl_argument_size(uint32_t request);

// An open file description. Shared by every descriptor dup'd from one open(). Reads and
// writes of positioned files (regular files, directories) hold the position lock for the
// whole transfer, so threads sharing one File never see the same offset twice.
class File final : public RefCounted<File> {
 public:
  // `flags` are the open(2) flags; the ones Linux keeps (access mode, O_APPEND, O_NONBLOCK,
  // ...) are what F_GETFL reports. `ops` (optional: devices) must outlive the File.
  static Result<RefPtr<File>> try_create(RefPtr<Vnode> vnode, uint32_t flags, FileOps* ops = nullptr);
  // As try_create, with counted ops (a pipe) that the File keeps alive.
  template <typename Owner>
  static Result<RefPtr<File>> try_create_owned(RefPtr<Vnode> vnode, uint32_t flags, RefPtr<Owner> owner);
  ~File();

  const RefPtr<Vnode>& vnode() const { return m_vnode; }
  // The directory a file opened by path was found in (for /proc/self/fd's paths), or null.
  const RefPtr<Vnode>& found_in() const { return m_found_in; }
  void set_found_in(RefPtr<Vnode> directory) { m_found_in = std::move(directory); }
  FileOps* ops() const { return m_ops; }
  uint32_t flags() const { return m_flags.load(std::memory_order_relaxed); }
  // F_SETFL: changes only O_APPEND, O_NONBLOCK, O_ASYNC, O_DIRECT and O_NOATIME.
  void set_status_flags(uint32_t flags);
  bool is_path_only() const { return flags() & linux_abi::o_path; }
  // F_SETOWN/F_GETOWN: the process (> 0) or process group (< 0) that would get SIGIO. Only
  // recorded: no SIGIO is sent (programs such as nginx set it on every socket and never rely
  // on the signal when they poll).
  int signal_owner() const { return m_signal_owner.load(std::memory_order_relaxed); }
  void set_signal_owner(int owner) { m_signal_owner.store(owner, std::memory_order_relaxed); }
  bool is_readable() const;
  bool is_writable() const;

  Result<size_t> read(std::span<std::byte> buffer);
  Result<size_t> write(std::span<const std::byte> data);
  Result<size_t> pread(std::span<std::byte> buffer, int64_t offset);
  Result<size_t> pwrite(std::span<const std::byte> data, int64_t offset);
  Result<size_t> readv(std::span<const IoVec> vectors);
  Result<size_t> writev(std::span<const IoVec> vectors);
  Result<size_t> preadv(std::span<const IoVec> vectors, int64_t offset);
  Result<size_t> pwritev(std::span<const IoVec> vectors, int64_t offset);

  // lseek(2), SEEK_DATA and SEEK_HOLE included.
  Result<int64_t> seek(int64_t offset, int whence);
  // getdents64(2): whole struct linux_dirent64 records, resuming where the last call (or
  // an lseek to a d_off it returned) stopped; 0 at the end; EINVAL if not even one fits.
  Result<size_t> getdents64(std::span<std::byte> buffer);
  // ftruncate(2).
  Result<> truncate(int64_t length);
  Result<Stat> stat() const;
  Result<int64_t> ioctl(uint32_t request, uintptr_t argument);
  uint32_t poll();
  PollQueue* poll_queue() { return m_ops ? m_ops->poll_queue(*this) : nullptr; }

  uint64_t position();

 private:
  File(RefPtr<Vnode> vnode, uint32_t flags, FileOps* ops);
  bool is_positioned() const { return !m_ops; }
  bool takes_offsets() const;
  Result<size_t> read_vectors(std::span<const IoVec> vectors, uint64_t offset);
  Result<size_t> write_vectors(std::span<const IoVec> vectors, uint64_t* offset);
  Result<> check_readable() const;
  Result<> check_writable() const;

  RefPtr<Vnode> m_vnode;
  RefPtr<Vnode> m_found_in;
  FileOps* m_ops;
  // Keeps m_ops alive when it is a counted object (a pipe).
  void (*m_release_owner)(void*) = nullptr;
  void* m_owner = nullptr;
  std::atomic<uint32_t> m_flags;
  std::atomic<int> m_signal_owner{0};
  Mutex m_position_lock;
  uint64_t m_position = 0;
  // Sequential-read detection for the page cache's readahead (threads sharing the file may
  // race on it: the worst is a window of the wrong size).
  ReadaheadState m_readahead;
};

template <typename Owner>
Result<RefPtr<File>> File::try_create_owned(RefPtr<Vnode> vnode, uint32_t flags, RefPtr<Owner> owner) {
  FileOps* ops = owner.get();
  File* file = new (kNoThrow) File(std::move(vnode), flags, ops);
  if (!file) return error(Errno::enomem);
  file->m_owner = owner.leak_ref();
  file->m_release_owner = [](void* object) { static_cast<Owner*>(object)->unref(); };
  ops->open(*file);
  return adopt_ref(file);
}

}  // namespace nimbus::fs
