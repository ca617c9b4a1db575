// Changing ext4 directories: new directories, entries added (into a linear directory, or
// into the htree leaf the name hashes to, splitting a full leaf), removed and repointed.
// Callers hold the file system's lock, check names (unique, valid), and store the
// directory's inode afterwards (its size and blocks may grow).
#pragma once

#include <cstdint>
#include <string_view>

#include "kernel/fs/ext4/inode.h"
#include "kernel/fs/ext4/volume.h"
#include "kernel/lib/result.h"

namespace nimbus::fs::ext4 {

// EXT4_FT_* of a mode's type.
uint8_t file_type_of_mode(uint16_t mode);

// Gives the new directory `directory` its first block with "." and "..".
Result<> init_directory(Volume& volume, Inode& directory, uint32_t parent);

// Adds `name` -> `ino`. The name must not exist yet.
Result<> add_entry(Volume& volume, Inode& directory, std::string_view name, uint32_t ino, uint8_t file_type);

// Removes `name`: ENOENT if none.
Result<> remove_entry(Volume& volume, const Inode& directory, std::string_view name);

// Points the existing entry `name` (".." included) at `ino` of `file_type`: ENOENT if none.
Result<> set_entry(Volume& volume, const Inode& directory, std::string_view name, uint32_t ino, uint8_t file_type);

}  // namespace nimbus::fs::ext4
