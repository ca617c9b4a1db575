// The 9P2000.L requests: message layouts as in Linux's net/9p/client.c and the diod
// protocol description (protocol.md).
#include "kernel/fs/9p/p9_client.h"

namespace nimbus::p9 {
namespace {

constexpr uint16_t kTag = 1;         // one request at a time
constexpr uint16_t kNoTag = 0xffff;  // Tversion's
constexpr uint32_t kAtRemoveDir = 0x200;
constexpr uint32_t kGetattrBasic = 0x7ff;  // P9_GETATTR_BASIC

Errno errno_from(uint32_t code) {
  if (code == 0 || code > 133) return Errno::eio;
  return static_cast<Errno>(code);
}

int64_t nanoseconds(uint64_t seconds, uint64_t nanos) {
  return static_cast<int64_t>(seconds) * 1'000'000'000 + static_cast<int64_t>(nanos);
}

}  // namespace

Result<Reader> Client::call(Writer& writer, Type type) {
  size_t length = writer.finish();
  if (length == 0) return error(Errno::enametoolong);  // a name or write larger than a message
  size_t received = TRY(m_channel.exchange(length));
  std::span<const std::byte> reply = m_channel.reply_buffer().first(received);
  ReplyHeader header;
  if (!parse_reply_header(reply, &header)) return error(Errno::eio);
  Reader reader(reply.subspan(kHeaderSize, header.size - kHeaderSize));
  if (header.type == static_cast<uint8_t>(Type::rlerror)) {
    uint32_t code = reader.get32();
    return error(reader.ok() ? errno_from(code) : Errno::eio);
  }
  if (header.type != reply_type(type)) return error(Errno::eio);
  return reader;
}

Result<Qid> Client::start(uint32_t* root_fid) {
  MutexGuard guard(m_mutex);
  {
    Writer w(m_channel.request_buffer(), Type::tversion, kNoTag);
    w.put32(static_cast<uint32_t>(virtio_9p::kMessageSize));
    w.put_string("9P2000.L");
    Reader r = TRY(call(w, Type::tversion));
    uint32_t msize = r.get32();
    std::string_view version = r.get_string();
    if (!r.ok() || version != "9P2000.L") return error(Errno::eproto);
    m_msize = msize < virtio_9p::kMessageSize ? msize : static_cast<uint32_t>(virtio_9p::kMessageSize);
    if (m_msize < 4096) return error(Errno::eproto);
  }
  uint32_t fid = allocate_fid();
  Writer w(m_channel.request_buffer(), Type::tattach, kTag);
  w.put32(fid);
  w.put32(kNoFid);
  w.put_string("root");
  w.put_string("");
  w.put32(0);  // n_uname: uid 0
  Reader r = TRY(call(w, Type::tattach));
  Qid qid = r.get_qid();
  if (!r.ok()) return error(Errno::eio);
  *root_fid = fid;
  return qid;
}

Result<Qid> Client::walk(uint32_t fid, uint32_t new_fid, std::span<const std::string_view> names) {
  MutexGuard guard(m_mutex);
  Writer w(m_channel.request_buffer(), Type::twalk, kTag);
  w.put32(fid);
  w.put32(new_fid);
  w.put16(static_cast<uint16_t>(names.size()));
  for (std::string_view name : names) w.put_string(name);
  Reader r = TRY(call(w, Type::twalk));
  uint16_t count = r.get16();
  Qid last;
  for (uint16_t i = 0; i < count; i++) last = r.get_qid();
  if (!r.ok()) return error(Errno::eio);
  // A partial walk leaves new_fid unused and says how far it went.
  if (count != names.size()) return error(Errno::enoent);
  return last;
}

Result<Attributes> Client::getattr(uint32_t fid) {
  MutexGuard guard(m_mutex);
  Writer w(m_channel.request_buffer(), Type::tgetattr, kTag);
  w.put32(fid);
  w.put64(kGetattrBasic);
  Reader r = TRY(call(w, Type::tgetattr));
  Attributes a;
  r.get64();  // valid
  a.qid = r.get_qid();
  a.mode = r.get32();
  a.uid = r.get32();
  a.gid = r.get32();
  a.nlink = r.get64();
  a.rdev = r.get64();
  a.size = r.get64();
  a.block_size = r.get64();
  a.blocks = r.get64();
  uint64_t s = r.get64(), n = r.get64();
  a.atime_ns = nanoseconds(s, n);
  s = r.get64(), n = r.get64();
  a.mtime_ns = nanoseconds(s, n);
  s = r.get64(), n = r.get64();
  a.ctime_ns = nanoseconds(s, n);
  if (!r.ok()) return error(Errno::eio);
  return a;
}

Result<> Client::setattr(uint32_t fid, const SetAttr& set) {
  MutexGuard guard(m_mutex);
  Writer w(m_channel.request_buffer(), Type::tsetattr, kTag);
  w.put32(fid);
  w.put32(set.valid);
  w.put32(set.mode);
  w.put32(set.uid);
  w.put32(set.gid);
  w.put64(set.size);
  w.put64(static_cast<uint64_t>(set.atime_ns / 1'000'000'000));
  w.put64(static_cast<uint64_t>(set.atime_ns % 1'000'000'000));
  w.put64(static_cast<uint64_t>(set.mtime_ns / 1'000'000'000));
  w.put64(static_cast<uint64_t>(set.mtime_ns % 1'000'000'000));
  TRY(call(w, Type::tsetattr));
  return {};
}

Result<Qid> Client::lopen(uint32_t fid, uint32_t flags) {
  MutexGuard guard(m_mutex);
  Writer w(m_channel.request_buffer(), Type::tlopen, kTag);
  w.put32(fid);
  w.put32(flags);
  Reader r = TRY(call(w, Type::tlopen));
  Qid qid = r.get_qid();
  if (!r.ok()) return error(Errno::eio);
  return qid;
}

Result<Qid> Client::lcreate(uint32_t fid, std::string_view name, uint32_t flags, uint32_t mode, uint32_t gid) {
  MutexGuard guard(m_mutex);
  Writer w(m_channel.request_buffer(), Type::tlcreate, kTag);
  w.put32(fid);
  w.put_string(name);
  w.put32(flags);
  w.put32(mode);
  w.put32(gid);
  Reader r = TRY(call(w, Type::tlcreate));
  Qid qid = r.get_qid();
  if (!r.ok()) return error(Errno::eio);
  return qid;
}

Result<size_t> Client::read(uint32_t fid, uint64_t offset, std::span<std::byte> buffer) {
  if (buffer.size() > max_io()) buffer = buffer.first(max_io());
  MutexGuard guard(m_mutex);
  Writer w(m_channel.request_buffer(), Type::tread, kTag);
  w.put32(fid);
  w.put64(offset);
  w.put32(static_cast<uint32_t>(buffer.size()));
  Reader r = TRY(call(w, Type::tread));
  uint32_t count = r.get32();
  if (count > buffer.size()) return error(Errno::eio);
  auto data = r.get_bytes(count);
  if (!r.ok()) return error(Errno::eio);
  memcpy(buffer.data(), data.data(), count);
  return count;
}

Result<size_t> Client::write(uint32_t fid, uint64_t offset, std::span<const std::byte> data) {
  if (data.size() > max_io()) data = data.first(max_io());
  MutexGuard guard(m_mutex);
  Writer w(m_channel.request_buffer(), Type::twrite, kTag);
  w.put32(fid);
  w.put64(offset);
  w.put32(static_cast<uint32_t>(data.size()));
  w.put_bytes(data);
  Reader r = TRY(call(w, Type::twrite));
  uint32_t count = r.get32();
  if (!r.ok() || count > data.size()) return error(Errno::eio);
  return count;
}

Result<size_t> Client::readdir(uint32_t fid, uint64_t offset, DirEntryVisitor visit, void* context) {
  MutexGuard guard(m_mutex);
  Writer w(m_channel.request_buffer(), Type::treaddir, kTag);
  w.put32(fid);
  w.put64(offset);
  w.put32(static_cast<uint32_t>(max_io()));
  Reader r = TRY(call(w, Type::treaddir));
  uint32_t count = r.get32();
  auto data = r.get_bytes(count);
  if (!r.ok()) return error(Errno::eio);
  Reader entries(data);
  size_t visited = 0;
  while (entries.remaining() > 0) {
    DirEntry entry;
    entry.qid = entries.get_qid();
    entry.next_offset = entries.get64();
    entry.type = entries.get8();
    entry.name = entries.get_string();
    if (!entries.ok()) return error(Errno::eio);
    visited++;
    if (!visit(context, entry)) break;
  }
  return visited;
}

Result<Qid> Client::mkdir(uint32_t directory_fid, std::string_view name, uint32_t mode, uint32_t gid) {
  MutexGuard guard(m_mutex);
  Writer w(m_channel.request_buffer(), Type::tmkdir, kTag);
  w.put32(directory_fid);
  w.put_string(name);
  w.put32(mode);
  w.put32(gid);
  Reader r = TRY(call(w, Type::tmkdir));
  Qid qid = r.get_qid();
  if (!r.ok()) return error(Errno::eio);
  return qid;
}

Result<Qid> Client::symlink(uint32_t directory_fid, std::string_view name, std::string_view target, uint32_t gid) {
  MutexGuard guard(m_mutex);
  Writer w(m_channel.request_buffer(), Type::tsymlink, kTag);
  w.put32(directory_fid);
  w.put_string(name);
  w.put_string(target);
  w.put32(gid);
  Reader r = TRY(call(w, Type::tsymlink));
  Qid qid = r.get_qid();
  if (!r.ok()) return error(Errno::eio);
  return qid;
}

Result<> Client::link(uint32_t directory_fid, uint32_t fid, std::string_view name) {
  MutexGuard guard(m_mutex);
  Writer w(m_channel.request_buffer(), Type::tlink, kTag);
  w.put32(directory_fid);
  w.put32(fid);
  w.put_string(name);
  TRY(call(w, Type::tlink));
  return {};
}

Result<> Client::unlinkat(uint32_t directory_fid, std::string_view name, uint32_t flags) {
  MutexGuard guard(m_mutex);
  Writer w(m_channel.request_buffer(), Type::tunlinkat, kTag);
  w.put32(directory_fid);
  w.put_string(name);
  w.put32(flags ? kAtRemoveDir : 0);
  TRY(call(w, Type::tunlinkat));
  return {};
}

Result<> Client::renameat(uint32_t old_directory_fid, std::string_view old_name, uint32_t new_directory_fid,
                          std::string_view new_name) {
  MutexGuard guard(m_mutex);
  Writer w(m_channel.request_buffer(), Type::trenameat, kTag);
  w.put32(old_directory_fid);
  w.put_string(old_name);
  w.put32(new_directory_fid);
  w.put_string(new_name);
  TRY(call(w, Type::trenameat));
  return {};
}

Result<size_t> Client::readlink(uint32_t fid, std::span<char> buffer) {
  MutexGuard guard(m_mutex);
  Writer w(m_channel.request_buffer(), Type::treadlink, kTag);
  w.put32(fid);
  Reader r = TRY(call(w, Type::treadlink));
  std::string_view target = r.get_string();
  if (!r.ok()) return error(Errno::eio);
  if (target.size() > buffer.size()) return error(Errno::enametoolong);
  memcpy(buffer.data(), target.data(), target.size());
  return target.size();
}

Result<FsStat> Client::statfs(uint32_t fid) {
  MutexGuard guard(m_mutex);
  Writer w(m_channel.request_buffer(), Type::tstatfs, kTag);
  w.put32(fid);
  Reader r = TRY(call(w, Type::tstatfs));
  FsStat s;
  s.type = r.get32();
  s.block_size = r.get32();
  s.blocks = r.get64();
  s.blocks_free = r.get64();
  s.blocks_available = r.get64();
  s.files = r.get64();
  s.files_free = r.get64();
  s.fsid = r.get64();
  s.name_length = r.get32();
  if (!r.ok()) return error(Errno::eio);
  return s;
}

Result<> Client::fsync(uint32_t fid) {
  MutexGuard guard(m_mutex);
  Writer w(m_channel.request_buffer(), Type::tfsync, kTag);
  w.put32(fid);
  w.put32(0);  // datasync: no, the whole file
  TRY(call(w, Type::tfsync));
  return {};
}

void Client::clunk(uint32_t fid) {
  MutexGuard guard(m_mutex);
  Writer w(m_channel.request_buffer(), Type::tclunk, kTag);
  w.put32(fid);
  (void)call(w, Type::tclunk);
}

}  // namespace nimbus::p9
