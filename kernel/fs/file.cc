// File: positioned and streaming I/O, vectors, lseek, getdents64 records and ioctls.
#include "kernel/fs/file.h"

#include <algorithm>
#include <cstring>

#include "kernel/fs/file_locks.h"

namespace nimbus::fs {

namespace {
std::atomic<FileSizeLimit> g_file_size_limit{nullptr};
}  // namespace

void set_file_size_limit(FileSizeLimit limit) { g_file_size_limit.store(limit, std::memory_order_release); }

uint64_t file_size_limit() {
  FileSizeLimit limit = g_file_size_limit.load(std::memory_order_acquire);
  return limit ? limit() : UINT64_MAX;
}

using namespace linux_abi;

namespace {

// The flags Linux drops from f_flags once the open is done.
constexpr uint32_t kOpenOnlyFlags = o_creat | o_excl | o_noctty | o_trunc;

// getdents64 records: struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type;
// char d_name[]; }, each padded to 8 bytes. The older getdents(2) writes struct linux_dirent
// { unsigned long d_ino; unsigned long d_off; u16 d_reclen; char d_name[]; } with d_type in
// the record's last byte, after the name's NUL. The buffer may be unaligned, so fields are
// copied byte-wise.
class Dirent64Writer final : public DirentSink {
 public:
  Dirent64Writer(std::span<std::byte> buffer, DirentLayout layout) : m_buffer(buffer), m_layout(layout) {}

  bool emit(const DirentInfo& entry) override {
    bool old = m_layout == DirentLayout::linux_dirent;
    size_t name_offset = old ? kDirentNameOffset : kDirent64NameOffset;
    // The name's NUL, and for the old layout the d_type byte after it.
    size_t record = (name_offset + entry.name.size() + (old ? 2 : 1) + 7) & ~size_t{7};
    if (record > m_buffer.size() - m_written) {
      m_full = true;
      return false;
    }
    std::byte* out = m_buffer.data() + m_written;
    uint64_t ino = entry.ino;
    int64_t offset = static_cast<int64_t>(entry.next_position);
    auto length = static_cast<uint16_t>(record);
    uint8_t type = dirent_type(entry.type);
    memcpy(out, &ino, 8);
    memcpy(out + 8, &offset, 8);
    memcpy(out + 16, &length, 2);
    memcpy(out + name_offset, entry.name.data(), entry.name.size());
    memset(out + name_offset + entry.name.size(), 0, record - name_offset - entry.name.size());
    memcpy(out + (old ? record - 1 : 18), &type, 1);
    m_written += record;
    return true;
  }

  size_t written() const { return m_written; }
  bool full() const { return m_full; }

 private:
  std::span<std::byte> m_buffer;
  DirentLayout m_layout;
  size_t m_written = 0;
  bool m_full = false;
};

std::span<std::byte> bytes_of(const IoVec& vector, size_t limit) {
  return {static_cast<std::byte*>(vector.base), std::min(vector.length, limit)};
}

}  // namespace

size_t ioctl_argument_size(uint32_t request) {
  switch (request) {
    case tcgets:
    case tcsets:
    case tcsetsw:
    case tcsetsf: return sizeof(Termios);
    case tiocgwinsz:
    case tiocswinsz: return sizeof(Winsize);
    case fionread:
    case fionbio:
    case fioasync:
    case tiocoutq:
    case siocoutqnsd:
    case tiocgpgrp:
    case tiocspgrp: return sizeof(int);
    default: return 0;
  }
}

File::File(RefPtr<Vnode> vnode, uint32_t flags, FileOps* ops)
    : m_vnode(std::move(vnode)),
      m_ops(ops),
      m_flags((flags & ~kOpenOnlyFlags) | ((flags & o_path) ? 0 : o_largefile)) {}

Result<RefPtr<File>> File::try_create(RefPtr<Vnode> vnode, uint32_t flags, FileOps* ops) {
  File* file = new (kNoThrow) File(std::move(vnode), flags, ops);
  if (!file) return error(Errno::enomem);
  if (ops) ops->open(*file);
  return adopt_ref(file);
}

File::~File() {
  end_async();  // before the ops go: their poll queue holds the subscription
  release_description_locks(*this);
  if (m_ops) m_ops->release(*this);
  if (m_release_owner) m_release_owner(m_owner);
}

bool File::is_readable() const {
  uint32_t mode = flags() & o_accmode;
  return !is_path_only() && (mode == o_rdonly || mode == o_rdwr);
}

bool File::is_writable() const {
  uint32_t mode = flags() & o_accmode;
  return !is_path_only() && (mode == o_wronly || mode == o_rdwr);
}

Result<> File::check_readable() const {
  if (!is_readable()) return error(Errno::ebadf);
  return {};
}

Result<> File::check_writable() const {
  if (!is_writable()) return error(Errno::ebadf);
  return {};
}

uint64_t File::position() {
  MutexGuard guard(m_position_lock);
  return m_position;
}

Result<size_t> File::read_vectors(std::span<const IoVec> vectors, uint64_t offset) {
  uint32_t file_flags = flags();
  IoFlags io{.nonblocking = bool(file_flags & o_nonblock), .readahead = &m_readahead, .direct = bool(file_flags & o_direct)};
  if (m_ops && m_ops->takes_vectors()) return m_ops->read_vectors(*this, vectors, io);
  size_t total = 0;
  for (const IoVec& vector : vectors) {
    if (vector.length == 0) continue;
    std::span<std::byte> buffer = bytes_of(vector, kMaxIoCount - total);
    if (buffer.empty()) break;
    Result<size_t> done = m_ops ? m_ops->read(*this, buffer, io) : m_vnode->read_at(offset + total, buffer, io);
    if (!done) {
      if (total) break;
      return error(done.error());
    }
    total += *done;
    if (*done < buffer.size()) break;
    // Once data has arrived, a stream hands over what it has rather than waiting for more.
    io.nonblocking = true;
  }
  return total;
}

Result<size_t> File::write_vectors(std::span<const IoVec> vectors, uint64_t* offset) {
  uint32_t file_flags = flags();
  IoFlags io{.nonblocking = bool(file_flags & o_nonblock), .append = bool(file_flags & o_append),
             .direct = bool(file_flags & o_direct)};
  if (m_ops && m_ops->takes_vectors()) return m_ops->write_vectors(*this, vectors, io);
  size_t total = 0;
  for (const IoVec& vector : vectors) {
    if (vector.length == 0) continue;
    std::span<const std::byte> data = bytes_of(vector, kMaxIoCount - total);
    if (data.empty()) break;
    Result<size_t> done = 0;
    if (m_ops) {
      done = m_ops->write(*this, data, io);
    } else {
      uint64_t at = *offset;
      // RLIMIT_FSIZE: a write is cut short at the limit, and one that starts there fails.
      if (uint64_t limit = file_size_limit(); limit != UINT64_MAX && m_vnode->is_regular()) {
        uint64_t start = io.append ? m_vnode->stat().size : at;
        if (start >= limit) {
          if (total) break;
          return error(Errno::efbig);
        }
        if (data.size() > limit - start) data = data.first(limit - start);
      }
      done = m_vnode->write_at(&at, data, io);
      if (done) *offset = at + *done;
    }
    if (!done) {
      if (total) break;
      return error(done.error());
    }
    total += *done;
    if (*done < data.size()) break;
    io.nonblocking = true;
  }
  return total;
}

Result<size_t> File::read(std::span<std::byte> buffer) {
  IoVec vector{buffer.data(), buffer.size()};
  return readv({&vector, 1});
}

Result<size_t> File::write(std::span<const std::byte> data) {
  IoVec vector{const_cast<std::byte*>(data.data()), data.size()};
  return writev({&vector, 1});
}

Result<size_t> File::pread(std::span<std::byte> buffer, int64_t offset) {
  IoVec vector{buffer.data(), buffer.size()};
  return preadv({&vector, 1}, offset);
}

Result<size_t> File::pwrite(std::span<const std::byte> data, int64_t offset) {
  IoVec vector{const_cast<std::byte*>(data.data()), data.size()};
  return pwritev({&vector, 1}, offset);
}

Result<size_t> File::readv(std::span<const IoVec> vectors) {
  TRY(check_readable());
  if (!is_positioned()) return read_vectors(vectors, 0);
  MutexGuard guard(m_position_lock);
  size_t done = TRY(read_vectors(vectors, m_position));
  m_position += done;
  return done;
}

Result<size_t> File::writev(std::span<const IoVec> vectors) {
  TRY(check_writable());
  uint64_t unused = 0;
  if (!is_positioned()) return write_vectors(vectors, &unused);
  MutexGuard guard(m_position_lock);
  return write_vectors(vectors, &m_position);
}

// Linux's pread family (FMODE_PREAD): a stream (pipe, socket, terminal) is ESPIPE before
// the access mode is looked at; a device that seeks (/dev/null, /dev/zero, /dev/full,
// /dev/random) takes the call and ignores the offset.
bool File::takes_offsets() const { return !m_ops || m_ops->seek_mode() != FileOps::SeekMode::unseekable; }

Result<size_t> File::preadv(std::span<const IoVec> vectors, int64_t offset) {
  // As Linux's do_preadv: a negative offset, then the descriptor, then the file's kind.
  if (offset < 0) return error(Errno::einval);
  if (is_path_only()) return error(Errno::ebadf);
  if (!takes_offsets()) return error(Errno::espipe);
  TRY(check_readable());
  return read_vectors(vectors, static_cast<uint64_t>(offset));
}

Result<size_t> File::pwritev(std::span<const IoVec> vectors, int64_t offset) {
  if (offset < 0) return error(Errno::einval);
  if (is_path_only()) return error(Errno::ebadf);
  if (!takes_offsets()) return error(Errno::espipe);
  TRY(check_writable());
  uint64_t at = static_cast<uint64_t>(offset);
  return write_vectors(vectors, &at);
}

Result<int64_t> File::seek(int64_t offset, int whence) {
  if (is_path_only()) return error(Errno::ebadf);
  if (whence < seek_set || whence > seek_hole) return error(Errno::einval);
  if (m_ops) {
    if (m_ops->seek_mode() == FileOps::SeekMode::unseekable) return error(Errno::espipe);
    return 0;
  }
  bool directory = m_vnode->is_directory();
  if (!directory && !m_vnode->is_regular() && !m_vnode->is_symlink()) return error(Errno::espipe);
  if (m_vnode->fs().seek_style() == FileSystem::SeekStyle::generated) {
    // seq_file text has no end to seek from; directories are files of size 0 (SEEK_DATA
    // and SEEK_HOLE find nothing in them).
    if (!directory && whence != seek_set && whence != seek_cur) return error(Errno::einval);
    if (directory && (whence == seek_data || whence == seek_hole)) return error(Errno::enxio);
    directory = false;
  }
  MutexGuard guard(m_position_lock);
  int64_t base = 0;
  switch (whence) {
    case seek_set: base = 0; break;
    case seek_cur: base = static_cast<int64_t>(m_position); break;
    case seek_end:
      // Directory positions are cookies, with no end to count from.
      if (directory) return error(Errno::einval);
      base = static_cast<int64_t>(m_vnode->stat().size);
      break;
    case seek_data:
    case seek_hole: {
      if (!m_vnode->is_regular()) return error(Errno::einval);
      if (offset < 0) return error(Errno::enxio);
      uint64_t found = TRY(whence == seek_data ? m_vnode->next_data(static_cast<uint64_t>(offset))
                                               : m_vnode->next_hole(static_cast<uint64_t>(offset)));
      m_position = found;
      return static_cast<int64_t>(found);
    }
  }
  int64_t target;
  if (__builtin_add_overflow(base, offset, &target) || target < 0) return error(Errno::einval);
  m_position = static_cast<uint64_t>(target);
  return target;
}

Result<size_t> File::getdents64(std::span<std::byte> buffer, DirentLayout layout) {
  if (is_path_only()) return error(Errno::ebadf);
  if (!m_vnode->is_directory()) return error(Errno::enotdir);
  MutexGuard guard(m_position_lock);
  Dirent64Writer writer(buffer, layout);
  uint64_t position = m_position;
  TRY(m_vnode->readdir(&position, writer));
  if (writer.written() == 0 && writer.full()) return error(Errno::einval);
  m_position = position;
  return writer.written();
}

Result<> File::truncate(int64_t length) {
  if (is_path_only()) return error(Errno::ebadf);
  if (length < 0) return error(Errno::einval);
  if (!is_writable() || !m_vnode->is_regular()) return error(Errno::einval);
  if (static_cast<uint64_t>(length) > file_size_limit()) return error(Errno::efbig);
  return m_vnode->truncate(static_cast<uint64_t>(length));
}

Result<Stat> File::stat() const { return m_vnode->stat(); }

Result<int64_t> File::ioctl(uint32_t request, uintptr_t argument) {
  if (is_path_only()) return error(Errno::ebadf);
  if (request == fionbio) {
    int enable;
    memcpy(&enable, reinterpret_cast<const void*>(argument), sizeof(enable));
    uint32_t current = flags();
    TRY(set_status_flags(enable ? current | o_nonblock : current & ~o_nonblock));
    return 0;
  }
  if (request == fioasync) {
    // Through a descriptor, fs::ioctl handles it (the descriptor goes into si_fd).
    int enable;
    memcpy(&enable, reinterpret_cast<const void*>(argument), sizeof(enable));
    uint32_t current = flags();
    TRY(set_status_flags(enable ? current | o_async : current & ~o_async));
    return 0;
  }
  if (m_ops) return m_ops->ioctl(*this, request, argument);
  if (request == fionread && m_vnode->is_regular()) {
    uint64_t size = m_vnode->stat().size;
    uint64_t at = position();
    int available = static_cast<int>(std::min<uint64_t>(size > at ? size - at : 0, INT32_MAX));
    memcpy(reinterpret_cast<void*>(argument), &available, sizeof(available));
    return 0;
  }
  return error(Errno::enotty);
}

uint32_t File::poll() {
  if (m_ops) return m_ops->poll(*this);
  return pollin | pollout | pollrdnorm | pollwrnorm;
}

}  // namespace nimbus::fs
