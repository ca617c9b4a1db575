// P9Vnode: each operation is one or two 9P2000.L requests on the vnode's fid.
#include "kernel/fs/9p/p9_vnode.h"

#include <cstring>
#include <new>

#include "kernel/fs/linux_abi.h"
#include "kernel/lib/ref_ptr.h"

namespace nimbus::p9 {
namespace {

namespace abi = fs::linux_abi;

fs::VnodeType type_of(uint32_t mode) {
  fs::VnodeType type = fs::VnodeType::regular;
  if (!fs::type_from_mode(mode, &type)) return fs::VnodeType::regular;
  return type;
}

}  // namespace

P9Vnode::~P9Vnode() {
  if (m_open_fid != kNoFid) client().clunk(m_open_fid);
  client().clunk(m_fid);
  delete[] m_target;
}

Result<RefPtr<fs::Vnode>> P9Vnode::from_fid(P9Fs& fs, uint32_t fid) {
  auto attributes = fs.client().getattr(fid);
  if (!attributes) {
    fs.client().clunk(fid);
    return error(attributes.error());
  }
  auto* vnode = new (kNoThrow) P9Vnode(fs, type_of(attributes->mode), attributes->qid.path, fid);
  if (!vnode) {
    fs.client().clunk(fid);
    return error(Errno::enomem);
  }
  return adopt_ref<fs::Vnode>(vnode);
}

Result<> P9Vnode::refuse_if_read_only() const {
  if (p9().read_only()) return error(Errno::erofs);
  return {};
}

Result<uint32_t> P9Vnode::open_fid() {
  MutexGuard guard(m_lock);
  if (m_open_fid != kNoFid) return m_open_fid;
  uint32_t fid = client().allocate_fid();
  TRY(client().walk(m_fid, fid, {}));
  Result<Qid> opened = error(Errno::eacces);
  if (is_directory()) {
    opened = client().lopen(fid, abi::o_rdonly | abi::o_directory);
  } else {
    // Read-write when the share and the host file allow it, so one fid serves both.
    if (!p9().read_only()) opened = client().lopen(fid, abi::o_rdwr);
    if (!opened) opened = client().lopen(fid, abi::o_rdonly);
  }
  if (!opened) {
    client().clunk(fid);
    return error(opened.error());
  }
  m_open_fid = fid;
  return fid;
}

fs::Stat P9Vnode::stat() {
  fs::Stat result;
  result.dev_minor = fs().device_minor();
  result.ino = ino();
  auto attributes = client().getattr(m_fid);
  if (!attributes) return result;  // the host object is gone: zeros but the identity
  result.mode = attributes->mode;
  result.nlink = static_cast<uint32_t>(attributes->nlink);
  result.uid = attributes->uid;
  result.gid = attributes->gid;
  result.rdev_major = static_cast<uint32_t>((attributes->rdev >> 8) & 0xfff);
  result.rdev_minor = static_cast<uint32_t>((attributes->rdev & 0xff) | ((attributes->rdev >> 12) & 0xfff00));
  result.size = attributes->size;
  result.block_size = attributes->block_size ? static_cast<uint32_t>(attributes->block_size) : 4096;
  result.blocks = attributes->blocks;
  result.atime_ns = attributes->atime_ns;
  result.mtime_ns = attributes->mtime_ns;
  result.ctime_ns = attributes->ctime_ns;
  return result;
}

Result<> P9Vnode::set_attributes(const fs::SetAttributes& attributes) {
  TRY(refuse_if_read_only());
  SetAttr set;
  set.valid = attr::kCtime;
  if (attributes.mask & fs::SetAttributes::mode) {
    set.valid |= attr::kMode;
    set.mode = attributes.mode_bits & 07777;
  }
  if (attributes.mask & fs::SetAttributes::uid) {
    set.valid |= attr::kUid;
    set.uid = attributes.uid_value;
  }
  if (attributes.mask & fs::SetAttributes::gid) {
    set.valid |= attr::kGid;
    set.gid = attributes.gid_value;
  }
  if (attributes.mask & fs::SetAttributes::atime) {
    set.valid |= attr::kAtime | attr::kAtimeSet;
    set.atime_ns = attributes.atime_ns;
  }
  if (attributes.mask & fs::SetAttributes::mtime) {
    set.valid |= attr::kMtime | attr::kMtimeSet;
    set.mtime_ns = attributes.mtime_ns;
  }
  return client().setattr(m_fid, set);
}

Result<size_t> P9Vnode::read_at(uint64_t offset, std::span<std::byte> buffer, fs::IoFlags) {
  if (is_directory()) return error(Errno::eisdir);
  if (!is_regular()) return error(Errno::einval);
  uint32_t fid = TRY(open_fid());
  size_t done = 0;
  while (done < buffer.size()) {
    size_t got = TRY(client().read(fid, offset + done, buffer.subspan(done)));
    if (got == 0) break;
    done += got;
  }
  return done;
}

Result<size_t> P9Vnode::write_at(uint64_t* offset, std::span<const std::byte> data, fs::IoFlags flags) {
  if (is_directory()) return error(Errno::eisdir);
  if (!is_regular()) return error(Errno::einval);
  TRY(refuse_if_read_only());
  uint32_t fid = TRY(open_fid());
  if (flags.append) *offset = TRY(client().getattr(m_fid)).size;
  size_t done = 0;
  while (done < data.size()) {
    size_t put = TRY(client().write(fid, *offset + done, data.subspan(done)));
    if (put == 0) return done ? Result<size_t>(done) : error(Errno::eio);
    done += put;
  }
  return done;  // *offset stays where the data went: the caller advances the file position

}

Result<> P9Vnode::truncate(uint64_t size) {
  if (is_directory()) return error(Errno::eisdir);
  TRY(refuse_if_read_only());
  SetAttr set;
  set.valid = attr::kSize | attr::kCtime | attr::kMtime;
  set.size = size;
  return client().setattr(m_fid, set);
}

Result<RefPtr<fs::Vnode>> P9Vnode::lookup(std::string_view name) {
  if (!is_directory()) return error(Errno::enotdir);
  uint32_t fid = client().allocate_fid();
  std::string_view names[1] = {name};
  TRY(client().walk(m_fid, fid, names));
  return from_fid(p9(), fid);
}

Result<RefPtr<fs::Vnode>> P9Vnode::create(std::string_view name, const fs::NewNode& node) {
  if (!is_directory()) return error(Errno::enotdir);
  TRY(refuse_if_read_only());
  if (node.type == fs::VnodeType::directory) {
    TRY(client().mkdir(m_fid, name, node.permissions, node.gid));
    return lookup(name);
  }
  // Device nodes, fifos and sockets would need Tmknod on the host: not offered.
  if (node.type != fs::VnodeType::regular) return error(Errno::eperm);
  // Tlcreate turns a clone of the directory's fid into the new file, opened read-write.
  uint32_t opened = client().allocate_fid();
  TRY(client().walk(m_fid, opened, {}));
  if (auto made = client().lcreate(opened, name, abi::o_rdwr | abi::o_creat | abi::o_excl, node.permissions, node.gid);
      !made) {
    client().clunk(opened);
    return error(made.error());
  }
  auto vnode = lookup(name);
  if (!vnode) {
    client().clunk(opened);
    return vnode;
  }
  auto& file = static_cast<P9Vnode&>(**vnode);
  MutexGuard guard(file.m_lock);
  file.m_open_fid = opened;
  return vnode;
}

Result<RefPtr<fs::Vnode>> P9Vnode::symlink(std::string_view name, std::string_view target, uint32_t, uint32_t gid) {
  if (!is_directory()) return error(Errno::enotdir);
  TRY(refuse_if_read_only());
  TRY(client().symlink(m_fid, name, target, gid));
  return lookup(name);
}

Result<> P9Vnode::link(std::string_view name, fs::Vnode& target) {
  if (!is_directory()) return error(Errno::enotdir);
  if (&target.fs() != &fs()) return error(Errno::exdev);
  TRY(refuse_if_read_only());
  return client().link(m_fid, static_cast<P9Vnode&>(target).m_fid, name);
}

Result<> P9Vnode::unlink(std::string_view name) {
  if (!is_directory()) return error(Errno::enotdir);
  TRY(refuse_if_read_only());
  return client().unlinkat(m_fid, name, 0);
}

Result<> P9Vnode::rmdir(std::string_view name) {
  if (!is_directory()) return error(Errno::enotdir);
  TRY(refuse_if_read_only());
  return client().unlinkat(m_fid, name, 1);
}

Result<> P9Vnode::rename(std::string_view old_name, fs::Vnode& new_directory, std::string_view new_name,
                         uint32_t flags) {
  if (!is_directory() || !new_directory.is_directory()) return error(Errno::enotdir);
  if (&new_directory.fs() != &fs()) return error(Errno::exdev);
  // Trenameat has no flags: RENAME_NOREPLACE and RENAME_EXCHANGE cannot be promised.
  if (flags) return error(Errno::einval);
  TRY(refuse_if_read_only());
  return client().renameat(m_fid, old_name, static_cast<P9Vnode&>(new_directory).m_fid, new_name);
}

namespace {

struct EmitContext {
  fs::DirentSink* sink;
  uint64_t* position;
  bool full = false;
};

fs::VnodeType type_of_dirent(uint8_t type) {
  switch (type) {
    case 4: return fs::VnodeType::directory;
    case 10: return fs::VnodeType::symlink;
    case 2: return fs::VnodeType::character_device;
    case 6: return fs::VnodeType::block_device;
    case 1: return fs::VnodeType::fifo;
    case 12: return fs::VnodeType::socket;
    default: return fs::VnodeType::regular;
  }
}

}  // namespace

Result<> P9Vnode::readdir(uint64_t* position, fs::DirentSink& sink) {
  if (!is_directory()) return error(Errno::enotdir);
  uint32_t fid = TRY(open_fid());
  EmitContext context{&sink, position};
  for (;;) {
    size_t visited = TRY(client().readdir(
        fid, *position,
        [](void* raw, const DirEntry& entry) {
          auto& c = *static_cast<EmitContext*>(raw);
          if (!c.sink->emit({entry.name, entry.qid.path, type_of_dirent(entry.type), entry.next_offset})) {
            c.full = true;
            return false;
          }
          *c.position = entry.next_offset;
          return true;
        },
        &context));
    if (visited == 0 || context.full) return {};
  }
}

namespace {

struct NameSearch {
  uint64_t ino;
  std::span<char> buffer;
  size_t length = 0;
  bool found = false;
  bool too_long = false;
  uint64_t next = 0;
};

struct EmptyCheck {
  bool empty = true;
  uint64_t next = 0;
};

}  // namespace

Result<size_t> P9Vnode::child_name(const fs::Vnode& child, std::span<char> buffer) {
  if (!is_directory()) return error(Errno::enotdir);
  uint32_t fid = TRY(open_fid());
  NameSearch search{child.ino(), buffer};
  for (;;) {
    size_t visited = TRY(client().readdir(
        fid, search.next,
        [](void* raw, const DirEntry& entry) {
          auto& s = *static_cast<NameSearch*>(raw);
          s.next = entry.next_offset;
          if (entry.qid.path != s.ino || entry.name == "." || entry.name == "..") return true;
          s.found = true;
          if (entry.name.size() > s.buffer.size()) {
            s.too_long = true;
          } else {
            memcpy(s.buffer.data(), entry.name.data(), entry.name.size());
            s.length = entry.name.size();
          }
          return false;
        },
        &search));
    if (search.too_long) return error(Errno::erange);
    if (search.found) return search.length;
    if (visited == 0) return error(Errno::enoent);
  }
}

bool P9Vnode::is_empty_directory() {
  if (!is_directory()) return false;
  auto fid = open_fid();
  if (!fid) return false;
  EmptyCheck check;
  for (;;) {
    auto visited = client().readdir(
        *fid, check.next,
        [](void* raw, const DirEntry& entry) {
          auto& c = *static_cast<EmptyCheck*>(raw);
          c.next = entry.next_offset;
          if (entry.name != "." && entry.name != "..") {
            c.empty = false;
            return false;
          }
          return true;
        },
        &check);
    if (!visited) return false;
    if (!check.empty) return false;
    if (*visited == 0) return true;
  }
}

Result<std::string_view> P9Vnode::link_target() {
  if (!is_symlink()) return error(Errno::einval);
  MutexGuard guard(m_lock);
  if (!m_target) {
    // A page for the longest target, off the kernel stack, kept as the target itself.
    auto* target = new (kNoThrow) char[abi::path_max];
    if (!target) return error(Errno::enomem);
    auto length = client().readlink(m_fid, {target, abi::path_max - 1});
    if (!length) {
      delete[] target;
      return error(length.error());
    }
    target[*length] = 0;
    m_target = target;
    m_target_length = *length;
  }
  return std::string_view(m_target, m_target_length);
}

}  // namespace nimbus::p9
