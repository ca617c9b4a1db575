// Pipe: the ring buffer behind pipe2() and named FIFOs, and PipeFs, where anonymous pipes'
// vnodes live.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/fs/file.h"
#include "kernel/fs/vnode.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/lib/result.h"
#include "kernel/sync/mutex.h"

namespace nimbus::fs {

// A File opened for reading is a reader, for writing a writer (O_RDWR: both). Reads block
// while the pipe is empty and a writer remains, and return 0 (EOF) once none does; writes
// block while it is full and fail with EPIPE once no reader remains (the syscall layer
// raises SIGPIPE). O_NONBLOCK turns waiting into EAGAIN. Writes of at most PIPE_BUF bytes
// are atomic: they wait until the whole write fits.
class Pipe final : public RefCounted<Pipe>, public FileOps {
 public:
  static constexpr size_t kDefaultCapacity = 65536;
  // /proc/sys/fs/pipe-max-size's default: F_SETPIPE_SZ's ceiling.
  static constexpr size_t kMaxCapacity = 1 << 20;

  static Result<RefPtr<Pipe>> try_create();
  ~Pipe();

  void open(File& file) override;
  void release(File& file) override;
  Result<size_t> read(File& file, std::span<std::byte> buffer, IoFlags flags) override;
  Result<size_t> write(File& file, std::span<const std::byte> data, IoFlags flags) override;
  // FIONREAD: the bytes waiting.
  Result<int64_t> ioctl(File& file, uint32_t request, uintptr_t argument) override;
  uint32_t poll(File& file) override;
  PollQueue* poll_queue(File&) override { return &m_poll_queue; }
  Pipe* as_pipe() override { return this; }
  // O_ASYNC: the read end hears "readable", the write end "writable" (Linux's pipe_fasync).
  bool signals_readiness() const override { return true; }

  // Opens a named FIFO whose pipe this is (vnode: the FIFO's): a reader waits for a writer
  // and a writer for a reader (O_RDWR does not wait); with O_NONBLOCK a reader does not wait
  // and a writer without readers fails with ENXIO. The new File counts itself before it
  // waits, which is what lets a reader and a writer that both block find each other (as
  // Linux's fifo_open).
  static Result<RefPtr<File>> open_fifo(const RefPtr<Pipe>& pipe, RefPtr<Vnode> vnode, uint32_t flags);

  // F_GETPIPE_SZ / F_SETPIPE_SZ: capacities are powers of two from 4 KiB up to
  // kMaxCapacity (EPERM above); EBUSY when the data waiting would not fit.
  size_t capacity();
  Result<size_t> set_capacity(size_t requested);
  size_t bytes_waiting();

  // For splice(2) and tee(2), which move bytes without a reader's buffer:
  // Waits until bytes are waiting (their count) or no writer remains (0); EAGAIN instead of
  // waiting when `nonblocking`.
  Result<size_t> wait_for_data(bool nonblocking);
  // Waits until there is room (how much); EPIPE once no reader remains.
  Result<size_t> wait_for_room(bool nonblocking);
  // Copies the oldest bytes, from `offset` on, without taking them out.
  size_t peek(std::span<std::byte> out, size_t offset = 0);
  // Takes out the oldest `count` bytes (at most what is waiting).
  void consume(size_t count);

 private:
  Pipe() = default;
  // The two halves of open_fifo, around creating the File.
  struct FifoOpen {
    bool reading;
    bool writing;
    bool nonblocking;
    uint64_t peer_opens;  // how often the other side had opened when we began
  };
  Result<FifoOpen> begin_fifo_open(uint32_t flags);
  void wait_for_peer(const FifoOpen& open);

  Mutex m_lock;
  ConditionVariable m_readable;  // data arrived, or the last writer left
  ConditionVariable m_writable;  // room appeared, or the last reader left
  ConditionVariable m_peers;     // a reader or writer opened (named FIFOs)
  PollQueue m_poll_queue;        // told about every change poll() would see
  std::byte* m_buffer = nullptr;
  size_t m_capacity = 0;
  size_t m_head = 0;  // where the oldest byte is
  size_t m_count = 0;
  uint32_t m_readers = 0;
  uint32_t m_writers = 0;
  uint64_t m_reader_opens = 0;
  uint64_t m_writer_opens = 0;
};

// The file system anonymous pipes' vnodes belong to (fstat shows a FIFO on its own device).
class PipeFs final : public FileSystem {
 public:
  explicit PipeFs(ClockFunction clock) : FileSystem(clock) {}
  RefPtr<Vnode> root() override { return nullptr; }
  StatFs statfs() override;
};

struct PipeEnds {
  RefPtr<File> read;
  RefPtr<File> write;
};

// pipe2(): a new pipe and its two Files; `flags` may hold O_NONBLOCK (both ends) and
// O_DIRECT (accepted, without packet mode); O_CLOEXEC is for the caller's descriptors.
Result<PipeEnds> make_pipe(PipeFs& fs, uint32_t flags);

// A write that stops short because the pipe lost its last reader returns what it wrote and,
// as on Linux, still raises SIGPIPE: the Linux layer installs who raises it (an EPIPE with
// nothing written is the syscall layer's own SIGPIPE).
using BrokenPipeSignal = void (*)();
void set_broken_pipe_signal(BrokenPipeSignal signal);

}  // namespace nimbus::fs
