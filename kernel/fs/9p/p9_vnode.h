// P9Vnode: one file, directory or symlink of a 9p share, reached through its fid.
#pragma once

#include "kernel/fs/9p/p9_fs.h"
#include "kernel/sync/mutex.h"

namespace nimbus::p9 {

class P9Vnode final : public fs::Vnode {
 public:
  // Takes `fid` (walked to the object) and clunks it when the vnode goes.
  P9Vnode(P9Fs& fs, fs::VnodeType type, uint64_t ino, uint32_t fid) : Vnode(fs, type, ino), m_fid(fid) {}
  ~P9Vnode() override;
  // A vnode for the object `fid` was walked to (its type from Tgetattr); clunks `fid` on error.
  static Result<RefPtr<fs::Vnode>> from_fid(P9Fs& fs, uint32_t fid);

  fs::Stat stat() override;
  Result<> set_attributes(const fs::SetAttributes& attributes) override;
  Result<size_t> read_at(uint64_t offset, std::span<std::byte> buffer, fs::IoFlags flags) override;
  Result<size_t> write_at(uint64_t* offset, std::span<const std::byte> data, fs::IoFlags flags) override;
  Result<> truncate(uint64_t size) override;

  Result<RefPtr<fs::Vnode>> lookup(std::string_view name) override;
  Result<RefPtr<fs::Vnode>> create(std::string_view name, const fs::NewNode& node) override;
  Result<RefPtr<fs::Vnode>> symlink(std::string_view name, std::string_view target, uint32_t uid,
                                    uint32_t gid) override;
  Result<> link(std::string_view name, fs::Vnode& target) override;
  Result<> unlink(std::string_view name) override;
  Result<> rmdir(std::string_view name) override;
  Result<> rename(std::string_view old_name, fs::Vnode& new_directory, std::string_view new_name,
                  uint32_t flags) override;
  Result<> readdir(uint64_t* position, fs::DirentSink& sink) override;
  Result<size_t> child_name(const fs::Vnode& child, std::span<char> buffer) override;
  bool is_empty_directory() override;
  Result<std::string_view> link_target() override;


 private:
  P9Fs& p9() const { return static_cast<P9Fs&>(fs()); }
  Client& client() const { return p9().client(); }
  Result<> refuse_if_read_only() const;
  // The fid opened for I/O (read-write where the host allows, else read-only), made once.
  Result<uint32_t> open_fid();

  uint32_t m_fid;
  Mutex m_lock;  // guards m_open_fid and m_target
  uint32_t m_open_fid = kNoFid;
  char* m_target = nullptr;  // a symlink's target, read once
  size_t m_target_length = 0;
};

}  // namespace nimbus::p9
