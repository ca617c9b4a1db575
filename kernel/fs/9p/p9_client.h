// A 9P2000.L client over a virtio-9p channel: one call per protocol request, each a
// synchronous exchange under the client's lock, with Rlerror turned into the Errno it names.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <string_view>

#include "kernel/drivers/virtio/p9.h"
#include "kernel/fs/9p/p9_message.h"
#include "kernel/lib/result.h"
#include "kernel/sync/mutex.h"

namespace nimbus::p9 {

// Rgetattr's fields (the basic set: mode, nlink, uid, gid, rdev, times, size, blocks).
struct Attributes {
  Qid qid;
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t nlink = 0;
  uint64_t rdev = 0;
  uint64_t size = 0;
  uint64_t block_size = 0;
  uint64_t blocks = 0;
  int64_t atime_ns = 0, mtime_ns = 0, ctime_ns = 0;
};

// Tsetattr's valid bits (Linux's P9_ATTR_*).
namespace attr {
constexpr uint32_t kMode = 0x1, kUid = 0x2, kGid = 0x4, kSize = 0x8, kAtime = 0x10, kMtime = 0x20, kCtime = 0x40,
                   kAtimeSet = 0x80, kMtimeSet = 0x100;
}  // namespace attr

struct SetAttr {
  uint32_t valid = 0;
  uint32_t mode = 0, uid = 0, gid = 0;
  uint64_t size = 0;
  int64_t atime_ns = 0, mtime_ns = 0;
};

struct FsStat {
  uint32_t type = 0, block_size = 0, name_length = 0;
  uint64_t blocks = 0, blocks_free = 0, blocks_available = 0, files = 0, files_free = 0, fsid = 0;
};

// One Treaddir entry.
struct DirEntry {
  Qid qid;
  uint64_t next_offset = 0;
  uint8_t type = 0;  // DT_*
  std::string_view name;
};
using DirEntryVisitor = bool (*)(void* context, const DirEntry& entry);  // false: stop

class Client {
 public:
  explicit Client(virtio_9p::Channel& channel) : m_channel(channel) {}
  // Tversion ("9P2000.L", msize) then Tattach of the share's root to a new fid.
  Result<Qid> start(uint32_t* root_fid);
  uint32_t allocate_fid() { return m_next_fid.fetch_add(1, std::memory_order_relaxed); }
  // The most data one Tread or Twrite carries.
  size_t max_io() const { return m_msize - 24; }

  // Walks `names` (none: a clone of `fid`) from `fid` to `new_fid`; ENOENT when any is missing.
  Result<Qid> walk(uint32_t fid, uint32_t new_fid, std::span<const std::string_view> names);
  Result<Attributes> getattr(uint32_t fid);
  Result<> setattr(uint32_t fid, const SetAttr& set);
  Result<Qid> lopen(uint32_t fid, uint32_t flags);
  // Creates `name` in the directory `fid` and leaves `fid` open on the new file.
  Result<Qid> lcreate(uint32_t fid, std::string_view name, uint32_t flags, uint32_t mode, uint32_t gid);
  Result<size_t> read(uint32_t fid, uint64_t offset, std::span<std::byte> buffer);
  Result<size_t> write(uint32_t fid, uint64_t offset, std::span<const std::byte> data);
  // Visits the entries one Treaddir returns from `offset`; returns how many it visited
  // (0: the end of the directory).
  Result<size_t> readdir(uint32_t fid, uint64_t offset, DirEntryVisitor visit, void* context);
  Result<Qid> mkdir(uint32_t directory_fid, std::string_view name, uint32_t mode, uint32_t gid);
  Result<Qid> symlink(uint32_t directory_fid, std::string_view name, std::string_view target, uint32_t gid);
  Result<> link(uint32_t directory_fid, uint32_t fid, std::string_view name);
  Result<> unlinkat(uint32_t directory_fid, std::string_view name, uint32_t flags);
  Result<> renameat(uint32_t old_directory_fid, std::string_view old_name, uint32_t new_directory_fid,
                    std::string_view new_name);
  // Copies the target into `buffer`; its length.
  Result<size_t> readlink(uint32_t fid, std::span<char> buffer);
  Result<FsStat> statfs(uint32_t fid);
  Result<> fsync(uint32_t fid);
  void clunk(uint32_t fid);

 private:
  // Sends the message in the channel's request buffer (built by `writer`) and checks the
  // reply: the expected type (Rlerror gives its errno), the tag. A reader past the header.
  Result<Reader> call(Writer& writer, Type type);

  virtio_9p::Channel& m_channel;
  Mutex m_mutex;  // one exchange at a time: the channel has one request buffer
  uint32_t m_msize = 8192;
  std::atomic<uint32_t> m_next_fid{1};
};

}  // namespace nimbus::p9
