// The cpio newc reader (Linux's Documentation/driver-api/early-userspace/buffer-format.rst):
// a 110-byte ASCII header, the NUL-terminated name padded to 4 bytes, the data padded to 4.
#include "kernel/fs/cpio.h"

#include <cstdint>
#include <cstring>
#include <string_view>

#include "kernel/fs/growable_array.h"
#include "kernel/fs/path_walk.h"

namespace nimbus::fs {

using namespace linux_abi;

namespace {

constexpr size_t kHeaderSize = 110;
constexpr size_t kFieldCount = 13;
constexpr std::string_view kTrailer = "TRAILER!!!";

// The header's fields after the magic, in order.
enum Field { ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check };

struct Header {
  uint32_t fields[kFieldCount];
};

struct Failure {
  size_t offset;
  const char* reason;
};

size_t align4(size_t value) { return (value + 3) & ~size_t{3}; }

bool parse_hex(const char* text, uint32_t* value) {
  uint32_t result = 0;
  for (int i = 0; i < 8; i++) {
    char c = text[i];
    uint32_t digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      return false;
    }
    result = result << 4 | digit;
  }
  *value = result;
  return true;
}

// One archive being unpacked; problems are reported through m_failure.
class Unpacker {
 public:
  Unpacker(RamFs& fs, std::span<const std::byte> archive)
      : m_fs(fs), m_archive(archive), m_walk(m_mounts, fs.root()) {}

  Result<> run(CpioError* error_out);

 private:
  // Records why the archive is refused; the result converts to any Result<T>.
  std::unexpected<Errno> fail(size_t offset, const char* reason) {
    m_failure = Failure{offset, reason};
    return error(Errno::einval);
  }
  const char* text_at(size_t offset) const { return reinterpret_cast<const char*>(m_archive.data() + offset); }

  Result<> read_entry(size_t* offset, bool* trailer);
  Result<> add_entry(size_t at, const Header& header, std::string_view path, std::span<const std::byte> data);
  // The directory that will hold the last component of `path`, created as needed; `*name`
  // gets the last component (empty for the root itself).
  Result<RefPtr<Vnode>> parent_of(size_t at, std::string_view path, std::string_view* name);
  // Makes room for a new `name` in `directory`: removes what is there unless it is a
  // directory and `keep_directory`. Returns the directory kept, if any.
  Result<RefPtr<Vnode>> clear_name(size_t at, const RefPtr<Vnode>& directory, std::string_view name,
                                   bool keep_directory);
  Result<> set_attributes(Vnode& node, const Header& header);

  struct HardLink {
    uint32_t ino, devmajor, devminor;
    RefPtr<Vnode> node;
  };
  struct DirectoryTime {
    RefPtr<Vnode> directory;
    int64_t mtime_ns;
  };

  RamFs& m_fs;
  std::span<const std::byte> m_archive;
  MountTable m_mounts;  // none: the walk only follows symlinks inside this file system
  PathWalk m_walk;
  GrowableArray<HardLink> m_hard_links;
  GrowableArray<DirectoryTime> m_directory_times;
  Failure m_failure{0, nullptr};
  size_t m_entry_offset = 0;  // of the entry being added, for errors that are not einval
};

Result<> Unpacker::run(CpioError* error_out) {
  size_t offset = 0;
  bool ended = false;
  Result<> result = {};
  while (result) {
    if (ended) {
      // Archives may be concatenated, with zeros between them.
      while (offset < m_archive.size() && m_archive[offset] == std::byte{0}) offset++;
      if (offset >= m_archive.size()) break;
      ended = false;
    }
    result = read_entry(&offset, &ended);
    if (result && !ended && offset >= m_archive.size()) result = fail(offset, "no TRAILER!!! entry");
  }
  // Directory times last: creating their entries changed them.
  for (DirectoryTime& entry : m_directory_times) {
    SetAttributes times;
    times.mask = SetAttributes::atime | SetAttributes::mtime;
    times.atime_ns = times.mtime_ns = entry.mtime_ns;
    (void)entry.directory->set_attributes(times);
  }
  if (!result && error_out) {
    const char* reason = m_failure.reason;
    if (!reason) reason = result.error() == Errno::enomem ? "out of memory" : "cannot create an entry";
    *error_out = CpioError{m_failure.reason ? m_failure.offset : m_entry_offset, reason};
  }
  return result;
}

Result<> Unpacker::read_entry(size_t* offset, bool* trailer) {
  size_t at = *offset;
  size_t size = m_archive.size();
  if (size - at < kHeaderSize) return fail(at, "truncated header");
  const char* text = text_at(at);
  if (memcmp(text, "07070", 5) != 0 || (text[5] != '1' && text[5] != '2')) return fail(at, "bad magic");
  Header header;
  for (size_t i = 0; i < kFieldCount; i++) {
    if (!parse_hex(text + 6 + 8 * i, &header.fields[i])) return fail(at, "non-hex header field");
  }
  size_t name_size = header.fields[namesize];
  if (name_size == 0) return fail(at, "empty name");
  if (name_size > path_max) return fail(at, "name too long");
  size_t name_at = at + kHeaderSize;
  if (size - name_at < name_size) return fail(at, "truncated name");
  const char* name_text = text_at(name_at);
  if (name_text[name_size - 1] != '\0') return fail(at, "name without NUL");
  std::string_view path(name_text, name_size - 1);
  for (char c : path) {
    if (c == '\0') return fail(at, "NUL inside name");
  }
  if (path == kTrailer) {
    *trailer = true;
    *offset = name_at + name_size;
    return {};
  }
  size_t data_at = align4(name_at + name_size);
  size_t data_size = header.fields[filesize];
  if (data_at > size || size - data_at < data_size) return fail(at, "truncated data");
  m_entry_offset = at;
  TRY(add_entry(at, header, path, m_archive.subspan(data_at, data_size)));
  *offset = align4(data_at + data_size);
  if (*offset > size) *offset = size;
  return {};
}

Result<RefPtr<Vnode>> Unpacker::parent_of(size_t at, std::string_view path, std::string_view* name) {
  RefPtr<Vnode> directory = m_fs.root();
  *name = {};
  size_t i = 0;
  while (true) {
    while (i < path.size() && path[i] == '/') i++;
    size_t start = i;
    while (i < path.size() && path[i] != '/') i++;
    std::string_view component(path.data() + start, i - start);
    if (component.empty()) return directory;
    if (component == "..") return fail(at, "path with ..");
    if (component.size() > name_max) return fail(at, "name component too long");
    // Is there another component after this one?
    size_t next = i;
    while (next < path.size() && path[next] == '/') next++;
    bool last = next == path.size();
    if (component == ".") {
      if (last) return directory;
      continue;
    }
    if (last) {
      *name = component;
      return directory;
    }
    auto child = m_walk.resolve(directory, component, PathWalk::Follow::yes);
    if (!child && child.error() == Errno::enoent) {
      NewNode node{VnodeType::directory, 0755};
      child = directory->create(component, node);
    }
    if (!child) {
      if (child.error() == Errno::enomem) return error(Errno::enomem);
      return fail(at, "unusable parent directory");
    }
    if (!(*child)->is_directory()) return fail(at, "parent is not a directory");
    directory = std::move(*child);
  }
}

Result<RefPtr<Vnode>> Unpacker::clear_name(size_t at, const RefPtr<Vnode>& directory, std::string_view name,
                                           bool keep_directory) {
  auto existing = directory->lookup(name);
  if (!existing) return RefPtr<Vnode>();
  if ((*existing)->is_directory()) {
    if (keep_directory) return *existing;
    if (!directory->rmdir(name)) return fail(at, "entry replaces a non-empty directory");
  } else {
    TRY(directory->unlink(name));
  }
  return RefPtr<Vnode>();
}

Result<> Unpacker::set_attributes(Vnode& node, const Header& header) {
  SetAttributes attributes;
  attributes.mask = SetAttributes::uid | SetAttributes::gid;
  attributes.uid_value = header.fields[uid];
  attributes.gid_value = header.fields[gid];
  if (!node.is_symlink()) {
    attributes.mask |= SetAttributes::mode;
    attributes.mode_bits = header.fields[mode] & kPermissionMask;
  }
  int64_t mtime_ns = static_cast<int64_t>(header.fields[mtime]) * 1'000'000'000;
  if (node.is_directory()) {
    TRY(m_directory_times.push_back(DirectoryTime{RefPtr<Vnode>(&node), mtime_ns}));
  } else {
    attributes.mask |= SetAttributes::atime | SetAttributes::mtime;
    attributes.atime_ns = attributes.mtime_ns = mtime_ns;
  }
  return node.set_attributes(attributes);
}

Result<> Unpacker::add_entry(size_t at, const Header& header, std::string_view path,
                             std::span<const std::byte> data) {
  VnodeType type;
  if (!type_from_mode(header.fields[mode], &type)) return fail(at, "unknown file type");
  std::string_view name;
  RefPtr<Vnode> directory = TRY(parent_of(at, path, &name));
  if (name.empty()) {
    // "." (or "/"): the root itself.
    if (type != VnodeType::directory) return fail(at, "root entry is not a directory");
    return set_attributes(*directory, header);
  }
  RefPtr<Vnode> kept = TRY(clear_name(at, directory, name, type == VnodeType::directory));
  RefPtr<Vnode> node;
  switch (type) {
    case VnodeType::directory:
      node = kept ? kept : TRY(directory->create(name, NewNode{VnodeType::directory, 0755}));
      break;
    case VnodeType::symlink: {
      if (data.empty()) return fail(at, "empty symlink target");
      if (data.size() >= path_max) return fail(at, "symlink target too long");
      std::string_view target(reinterpret_cast<const char*>(data.data()), data.size());
      for (char c : target) {
        if (c == '\0') return fail(at, "NUL inside symlink target");
      }
      node = TRY(directory->symlink(name, target, header.fields[uid], header.fields[gid]));
      break;
    }
    case VnodeType::regular: {
      if (header.fields[nlink] > 1) {
        for (HardLink& link : m_hard_links) {
          if (link.ino == header.fields[ino] && link.devmajor == header.fields[devmajor] &&
              link.devminor == header.fields[devminor]) {
            node = link.node;
            break;
          }
        }
      }
      if (node) {
        TRY(directory->link(name, *node));
      } else {
        node = TRY(directory->create(name, NewNode{VnodeType::regular, 0644}));
        if (header.fields[nlink] > 1) {
          TRY(m_hard_links.push_back(HardLink{header.fields[ino], header.fields[devmajor],
                                              header.fields[devminor], node}));
        }
      }
      // With hard links, the data comes with one of the names (GNU cpio: the last).
      if (!data.empty()) TRY(m_fs.set_backing(*node, data));
      break;
    }
    default: {
      NewNode special{type, 0644};
      special.rdev_major = header.fields[rdevmajor];
      special.rdev_minor = header.fields[rdevminor];
      node = TRY(directory->create(name, special));
      break;
    }
  }
  return set_attributes(*node, header);
}

}  // namespace

Result<> unpack_cpio(RamFs& fs, std::span<const std::byte> archive, CpioError* error) {
  Unpacker unpacker(fs, archive);
  return unpacker.run(error);
}

}  // namespace nimbus::fs
