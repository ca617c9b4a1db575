// splice(2) and tee(2): moving bytes between a pipe and another file (or a second pipe)
// without the application's buffer. Nimbus has no page references to hand over, so the
// bytes are copied through a kernel bounce buffer; what Linux promises is kept: bytes leave
// the source pipe only once the destination took them, and tee never takes any.
#include <algorithm>
#include <new>

#include "kernel/fs/fs.h"
#include "kernel/fs/fs_internal.h"
#include "kernel/fs/pipe.h"

namespace nimbus::fs {

using namespace linux_abi;

namespace {

// SPLICE_F_MOVE, SPLICE_F_NONBLOCK, SPLICE_F_MORE, SPLICE_F_GIFT (include/linux/splice.h).
constexpr uint32_t kSpliceNonblock = 2;
constexpr uint32_t kSpliceFlags = 1 | 2 | 4 | 8;
// Most bytes one call moves per round through the bounce buffer.
constexpr size_t kChunk = 64 * 1024;

class Bounce {
 public:
  explicit Bounce(size_t size) : m_size(size), m_bytes(static_cast<std::byte*>(::operator new(size, kNoThrow))) {}
  ~Bounce() { ::operator delete(m_bytes); }
  bool ok() const { return m_bytes != nullptr; }
  std::span<std::byte> span(size_t length) { return {m_bytes, std::min(length, m_size)}; }

 private:
  size_t m_size;
  std::byte* m_bytes;
};

bool pipe_nonblocking(File& file, uint32_t flags) { return (flags & kSpliceNonblock) || (file.flags() & o_nonblock); }

// Writes `data` to `out` (at *offset when given, which advances).
Result<size_t> put(File& out, std::span<const std::byte> data, int64_t* offset) {
  if (!offset) return out.write(data);
  size_t written = TRY(out.pwrite(data, *offset));
  *offset += static_cast<int64_t>(written);
  return written;
}

// From a pipe: the waiting bytes go to `out`; only what `out` took leaves the pipe.
Result<size_t> splice_from_pipe(Pipe& pipe, File& in, File& out, int64_t* out_offset, size_t count,
                                uint32_t flags) {
  size_t waiting = TRY(pipe.wait_for_data(pipe_nonblocking(in, flags)));
  if (waiting == 0) return 0;  // no writer left: end of file
  Bounce bounce(std::min({count, waiting, kChunk}));
  if (!bounce.ok()) return error(Errno::enomem);
  std::span<std::byte> chunk = bounce.span(count);
  size_t got = pipe.peek(chunk);
  size_t written = TRY(put(out, chunk.first(got), out_offset));
  pipe.consume(written);
  return written;
}

// Into a pipe: read from `in` no more than the pipe has room for, so nothing read is lost.
Result<size_t> splice_to_pipe(File& in, int64_t* in_offset, Pipe& pipe, File& out, size_t count, uint32_t flags) {
  size_t room = TRY(pipe.wait_for_room(pipe_nonblocking(out, flags)));
  Bounce bounce(std::min({count, room, kChunk}));
  if (!bounce.ok()) return error(Errno::enomem);
  std::span<std::byte> chunk = bounce.span(count);
  size_t got;
  if (in_offset) {
    got = TRY(in.pread(chunk, *in_offset));
    *in_offset += static_cast<int64_t>(got);
  } else {
    got = TRY(in.read(chunk));
  }
  if (got == 0) return 0;
  return out.write(chunk.first(got));
}

}  // namespace

Result<size_t> splice(FsContext& context, int in_fd, int64_t* in_offset, int out_fd, int64_t* out_offset,
                      size_t count, uint32_t flags) {
  if (flags & ~kSpliceFlags) return error(Errno::einval);
  RefPtr<File> in = TRY(context.fds().get(in_fd));
  RefPtr<File> out = TRY(context.fds().get(out_fd));
  if (!in->is_readable() || !out->is_writable()) return error(Errno::ebadf);
  Pipe* in_pipe = in->ops() ? in->ops()->as_pipe() : nullptr;
  Pipe* out_pipe = out->ops() ? out->ops()->as_pipe() : nullptr;
  if (!in_pipe && !out_pipe) return error(Errno::einval);
  // A pipe has no position; the same pipe at both ends would copy into itself.
  if ((in_pipe && in_offset) || (out_pipe && out_offset)) return error(Errno::espipe);
  if (in_pipe && in_pipe == out_pipe) return error(Errno::einval);
  if ((in_offset && *in_offset < 0) || (out_offset && *out_offset < 0)) return error(Errno::einval);
  if (out->flags() & o_append && out_offset) return error(Errno::einval);
  if (count == 0) return 0;
  count = std::min(count, kMaxIoCount);
  if (in_pipe) return splice_from_pipe(*in_pipe, *in, *out, out_offset, count, flags);
  return splice_to_pipe(*in, in_offset, *out_pipe, *out, count, flags);
}

Result<size_t> tee(FsContext& context, int in_fd, int out_fd, size_t count, uint32_t flags) {
  if (flags & ~kSpliceFlags) return error(Errno::einval);
  RefPtr<File> in = TRY(context.fds().get(in_fd));
  RefPtr<File> out = TRY(context.fds().get(out_fd));
  if (!in->is_readable() || !out->is_writable()) return error(Errno::ebadf);
  Pipe* in_pipe = in->ops() ? in->ops()->as_pipe() : nullptr;
  Pipe* out_pipe = out->ops() ? out->ops()->as_pipe() : nullptr;
  if (!in_pipe || !out_pipe || in_pipe == out_pipe) return error(Errno::einval);
  if (count == 0) return 0;
  size_t waiting = TRY(in_pipe->wait_for_data(pipe_nonblocking(*in, flags)));
  if (waiting == 0) return 0;
  size_t room = TRY(out_pipe->wait_for_room(pipe_nonblocking(*out, flags)));
  Bounce bounce(std::min({count, waiting, room, kChunk}));
  if (!bounce.ok()) return error(Errno::enomem);
  std::span<std::byte> chunk = bounce.span(count);
  size_t got = in_pipe->peek(chunk);
  return out->write(chunk.first(got));
}

}  // namespace nimbus::fs
