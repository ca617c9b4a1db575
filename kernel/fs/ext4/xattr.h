// Extended attributes of ext4 inodes: in the inode's spare bytes after i_extra_isize and in
// one external block (i_file_acl) that identical sets may share (h_refcount). Callers hold
// the file system's lock; the setters change `inode` (xattr_block, sectors) and the caller
// stores it afterwards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "kernel/fs/ext4/inode.h"
#include "kernel/fs/ext4/volume.h"
#include "kernel/lib/result.h"

namespace nimbus::fs::ext4 {

// A name as ext4 stores it: the namespace's index and what follows its prefix.
struct XattrName {
  uint8_t index = 0;
  std::string_view suffix;
};

// "user.x" -> {1, "x"}; user., trusted. and security. only (system.posix_acl_* and the other
// system. names are EOPNOTSUPP); EINVAL for a prefix with nothing after it.
Result<XattrName> parse_xattr_name(std::string_view name);

// The value's size, copied into `value` unless it is empty; ERANGE, ENODATA.
Result<size_t> get_xattr(Volume& volume, const Inode& inode, const XattrName& name, std::span<std::byte> value);
// The names ("user.x\0trusted.y\0"), into `list` unless it is empty; ERANGE.
Result<size_t> list_xattrs(Volume& volume, const Inode& inode, std::span<char> list);
// Sets (value not null) or removes (null) one attribute. `flags`: xattr_create, xattr_replace.
// The attribute goes in the inode when it fits there, else in the block; ENOSPC when neither
// has room (values in separate inodes, ea_inode, are not written).
Result<> set_xattr(Volume& volume, Inode& inode, const XattrName& name, const std::byte* value, size_t size,
                   uint32_t flags);
// The inode is being freed: its share of the attribute block is given back.
Result<> release_xattr_block(Volume& volume, Inode& inode);

}  // namespace nimbus::fs::ext4
