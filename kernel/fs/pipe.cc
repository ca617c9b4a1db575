// Pipe: a ring buffer under a mutex, with condition variables for readers, writers and
// FIFO opens; PipeFs and the anonymous FIFO vnodes pipe2() hands out.
#include "kernel/fs/pipe.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <new>

namespace nimbus::fs {

using namespace linux_abi;

namespace {
std::atomic<BrokenPipeSignal> g_broken_pipe_signal{nullptr};
}  // namespace

void set_broken_pipe_signal(BrokenPipeSignal signal) { g_broken_pipe_signal.store(signal, std::memory_order_release); }

namespace {

std::byte* allocate_buffer(size_t capacity) {
  return static_cast<std::byte*>(::operator new(capacity, kNoThrow));
}

// An anonymous pipe's vnode: a FIFO that no directory names. Opening it again (through
// /proc/PID/fd/N, as bash's process substitution does with /dev/fd/63) opens the same pipe.
class AnonymousFifo final : public Vnode {
 public:
  AnonymousFifo(FileSystem& fs, RefPtr<Pipe> pipe)
      : Vnode(fs, VnodeType::fifo, fs.allocate_ino()), m_pipe(std::move(pipe)), m_time(fs.now()) {}

  FileOps* stream_ops() override { return m_pipe.get(); }

  Stat stat() override {
    Stat result;
    result.dev_minor = fs().device_minor();
    result.ino = ino();
    result.mode = s_ififo | 0600;
    result.nlink = 1;
    result.block_size = 4096;
    result.atime_ns = result.mtime_ns = result.ctime_ns = result.btime_ns = m_time;
    return result;
  }
  Result<> set_attributes(const SetAttributes&) override { return {}; }

 private:
  RefPtr<Pipe> m_pipe;
  int64_t m_time;
};

}  // namespace

Result<RefPtr<Pipe>> Pipe::try_create() {
  Pipe* pipe = new (kNoThrow) Pipe;
  if (!pipe) return error(Errno::enomem);
  RefPtr<Pipe> result = adopt_ref(pipe);
  pipe->m_buffer = allocate_buffer(kDefaultCapacity);
  if (!pipe->m_buffer) return error(Errno::enomem);
  pipe->m_capacity = kDefaultCapacity;
  return result;
}

Pipe::~Pipe() { ::operator delete(m_buffer); }

void Pipe::open(File& file) {
  MutexGuard guard(m_lock);
  if (file.is_readable()) {
    m_readers++;
    m_reader_opens++;
  }
  if (file.is_writable()) {
    m_writers++;
    m_writer_opens++;
  }
  m_peers.notify_all();
}

void Pipe::release(File& file) {
  MutexGuard guard(m_lock);
  if (file.is_readable() && --m_readers == 0) {
    m_writable.notify_all();
    m_poll_queue.notify(pollerr | pollout);
  }
  if (file.is_writable() && --m_writers == 0) {
    m_readable.notify_all();
    m_poll_queue.notify(pollhup | pollin);
  }
}

Result<RefPtr<File>> Pipe::open_fifo(const RefPtr<Pipe>& pipe, RefPtr<Vnode> vnode, uint32_t flags) {
  FifoOpen open = TRY(pipe->begin_fifo_open(flags));
  RefPtr<File> file = TRY(File::try_create_owned(std::move(vnode), flags, pipe));
  pipe->wait_for_peer(open);
  return file;
}

Result<Pipe::FifoOpen> Pipe::begin_fifo_open(uint32_t flags) {
  uint32_t mode = flags & o_accmode;
  FifoOpen open{mode == o_rdonly || mode == o_rdwr, mode == o_wronly || mode == o_rdwr, (flags & o_nonblock) != 0, 0};
  MutexGuard guard(m_lock);
  if (open.writing && !open.reading && open.nonblocking && m_readers == 0) return error(Errno::enxio);
  open.peer_opens = open.reading ? m_writer_opens : m_reader_opens;
  return open;
}

void Pipe::wait_for_peer(const FifoOpen& open) {
  if ((open.reading && open.writing) || open.nonblocking) return;
  MutexGuard guard(m_lock);
  // A peer that came and went since we began counts too.
  if (open.reading) {
    while (m_writers == 0 && m_writer_opens == open.peer_opens) m_peers.wait(m_lock);
  } else {
    while (m_readers == 0 && m_reader_opens == open.peer_opens) m_peers.wait(m_lock);
  }
}

Result<size_t> Pipe::read(File&, std::span<std::byte> buffer, IoFlags flags) {
  if (buffer.empty()) return 0;
  MutexGuard guard(m_lock);
  while (m_count == 0) {
    if (m_writers == 0) return 0;
    if (flags.nonblocking) return error(Errno::eagain);
    if (!m_readable.wait_interruptible(m_lock)) return error(Errno::erestartsys);
  }
  size_t total = std::min(buffer.size(), m_count);
  size_t first = std::min(total, m_capacity - m_head);
  memcpy(buffer.data(), m_buffer + m_head, first);
  memcpy(buffer.data() + first, m_buffer, total - first);
  m_head = (m_head + total) % m_capacity;
  m_count -= total;
  if (m_count == 0) m_head = 0;
  m_writable.notify_all();
  m_poll_queue.notify(pollout | pollwrnorm);
  return total;
}

Result<size_t> Pipe::write(File&, std::span<const std::byte> data, IoFlags flags) {
  if (data.empty()) return 0;
  MutexGuard guard(m_lock);
  // At most PIPE_BUF bytes go in whole or not at all; more may be split.
  bool atomic = data.size() <= pipe_buf;
  size_t total = 0;
  while (total < data.size()) {
    if (m_readers == 0) {
      if (!total) return error(Errno::epipe);
      if (BrokenPipeSignal signal = g_broken_pipe_signal.load(std::memory_order_acquire)) signal();
      return total;
    }
    size_t space = m_capacity - m_count;
    size_t remaining = data.size() - total;
    if (space == 0 || (atomic && space < remaining)) {
      if (flags.nonblocking) {
        if (total) return total;
        return error(Errno::eagain);
      }
      if (!m_writable.wait_interruptible(m_lock)) {
        if (total) return total;
        return error(Errno::erestartsys);
      }
      continue;
    }
    size_t chunk = std::min(space, remaining);
    size_t tail = (m_head + m_count) % m_capacity;
    size_t first = std::min(chunk, m_capacity - tail);
    memcpy(m_buffer + tail, data.data() + total, first);
    memcpy(m_buffer, data.data() + total + first, chunk - first);
    m_count += chunk;
    total += chunk;
    m_readable.notify_all();
    m_poll_queue.notify(pollin | pollrdnorm);
  }
  return total;
}

Result<size_t> Pipe::wait_for_data(bool nonblocking) {
  MutexGuard guard(m_lock);
  while (m_count == 0) {
    if (m_writers == 0) return 0;
    if (nonblocking) return error(Errno::eagain);
    if (!m_readable.wait_interruptible(m_lock)) return error(Errno::erestartsys);
  }
  return m_count;
}

Result<size_t> Pipe::wait_for_room(bool nonblocking) {
  MutexGuard guard(m_lock);
  for (;;) {
    if (m_readers == 0) return error(Errno::epipe);
    if (m_count < m_capacity) return m_capacity - m_count;
    if (nonblocking) return error(Errno::eagain);
    if (!m_writable.wait_interruptible(m_lock)) return error(Errno::erestartsys);
  }
}

size_t Pipe::peek(std::span<std::byte> out, size_t offset) {
  MutexGuard guard(m_lock);
  if (offset >= m_count) return 0;
  size_t total = std::min(out.size(), m_count - offset);
  size_t start = (m_head + offset) % m_capacity;
  size_t first = std::min(total, m_capacity - start);
  memcpy(out.data(), m_buffer + start, first);
  memcpy(out.data() + first, m_buffer, total - first);
  return total;
}

void Pipe::consume(size_t count) {
  MutexGuard guard(m_lock);
  count = std::min(count, m_count);
  if (count == 0) return;
  m_head = (m_head + count) % m_capacity;
  m_count -= count;
  if (m_count == 0) m_head = 0;
  m_writable.notify_all();
  m_poll_queue.notify(pollout | pollwrnorm);
}

Result<int64_t> Pipe::ioctl(File&, uint32_t request, uintptr_t argument) {
  if (request != fionread) return error(Errno::enotty);
  int waiting = static_cast<int>(bytes_waiting());
  memcpy(reinterpret_cast<void*>(argument), &waiting, sizeof(waiting));
  return 0;
}

uint32_t Pipe::poll(File& file) {
  MutexGuard guard(m_lock);
  uint32_t events = 0;
  if (file.is_readable()) {
    if (m_count) events |= pollin | pollrdnorm;
    if (m_writers == 0) events |= pollhup;
  }
  if (file.is_writable()) {
    if (m_capacity - m_count >= pipe_buf) events |= pollout | pollwrnorm;
    if (m_readers == 0) events |= pollerr;
  }
  return events;
}

size_t Pipe::capacity() {
  MutexGuard guard(m_lock);
  return m_capacity;
}

size_t Pipe::bytes_waiting() {
  MutexGuard guard(m_lock);
  return m_count;
}

Result<size_t> Pipe::set_capacity(size_t requested) {
  if (requested > kMaxCapacity) return error(Errno::eperm);
  size_t capacity = pipe_buf;
  while (capacity < requested) capacity *= 2;
  std::byte* buffer = allocate_buffer(capacity);
  if (!buffer) return error(Errno::enomem);
  MutexGuard guard(m_lock);
  if (m_count > capacity) {
    ::operator delete(buffer);
    return error(Errno::ebusy);
  }
  size_t first = std::min(m_count, m_capacity - m_head);
  memcpy(buffer, m_buffer + m_head, first);
  memcpy(buffer + first, m_buffer, m_count - first);
  ::operator delete(m_buffer);
  m_buffer = buffer;
  m_capacity = capacity;
  m_head = 0;
  m_writable.notify_all();
  m_poll_queue.notify(pollout | pollwrnorm);
  return capacity;
}

StatFs PipeFs::statfs() {
  StatFs result;
  result.type = pipefs_magic;
  result.block_size = 4096;
  result.dev_minor = device_minor();
  return result;
}

Result<PipeEnds> make_pipe(PipeFs& fs, uint32_t flags) {
  if (flags & ~(o_nonblock | o_cloexec | o_direct)) return error(Errno::einval);
  RefPtr<Pipe> pipe = TRY(Pipe::try_create());
  RefPtr<Vnode> vnode = TRY(try_make_ref<AnonymousFifo>(fs, pipe));
  uint32_t status = flags & o_nonblock;
  PipeEnds ends;
  ends.read = TRY(File::try_create_owned(vnode, o_rdonly | status, pipe));
  ends.write = TRY(File::try_create_owned(vnode, o_wronly | status, pipe));
  return ends;
}

}  // namespace nimbus::fs
