// A read-only file system whose contents are made on demand by functions: /proc and /sys.
// Directories list fixed or generated entries; files generate their text at each read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "kernel/fs/vnode.h"

namespace nimbus::linux {

// Text being generated for a file; grows on the heap.
class TextBuffer {
 public:
  TextBuffer() = default;
  TextBuffer(const TextBuffer&) = delete;
  TextBuffer& operator=(const TextBuffer&) = delete;
  ~TextBuffer();
  void append(std::string_view text);
  void format(const char* format, ...) __attribute__((format(printf, 2, 3)));
  std::span<const char> text() const { return {m_data, m_size}; }

 private:
  char* m_data = nullptr;
  size_t m_size = 0;
  size_t m_capacity = 0;
};

// Directories whose entries are not fixed (e.g. /proc/self/fd): symlinks listed and
// resolved by functions.
// Each function gets the subject of the directory (its /proc/PID number; 0 elsewhere).
struct DynamicDirectory {
  // Calls add(name, context) for each entry.
  void (*list)(uint32_t subject, void (*add)(std::string_view name, void* context), void* context);
  // The symlink target for an entry, or false if it does not exist.
  bool (*target)(uint32_t subject, std::string_view name, TextBuffer& out);
  // The object an entry stands for, which opening the link reaches whatever its text says
  // (Linux's magic links); nullptr: follow the text.
  RefPtr<fs::Vnode> (*object)(uint32_t subject, std::string_view name) = nullptr;
};

struct SyntheticEntry;

// Directories named by numbers that come and go (/proc/PID): each is a directory of fixed
// entries about its number, the "subject" its files are generated for.
struct NumberedDirectories {
  bool (*exists)(uint32_t number);
  // Calls add(number, context) for each existing number.
  void (*list)(void (*add)(uint32_t number, void* context), void* context);
  std::span<const SyntheticEntry> (*children)();
};

// One directory entry: a name and how to make its vnode. Entries below a numbered
// directory are made for its number (their subject); elsewhere the subject is 0.
struct SyntheticEntry {
  enum class Kind { file, directory, symlink, dynamic_directory, numbered_directories };
  std::string_view name;
  Kind kind;
  void (*generate)(TextBuffer& out) = nullptr;                // file: its text; symlink: its target
  std::span<const SyntheticEntry> (*children)() = nullptr;    // directory: its entries
  const DynamicDirectory* dynamic = nullptr;                  // dynamic_directory
  // file or symlink made for a subject (used instead of `generate` when set).
  void (*generate_for)(TextBuffer& out, uint32_t subject) = nullptr;
  const NumberedDirectories* numbered = nullptr;              // numbered_directories (name unused)
};

class SyntheticFs final : public fs::FileSystem {
 public:
  SyntheticFs(fs::ClockFunction clock, uint64_t magic, std::span<const SyntheticEntry> (*root_entries)());
  RefPtr<fs::Vnode> root() override { return m_root; }
  fs::StatFs statfs() override;
  bool read_only() const override { return true; }
  SeekStyle seek_style() const override;
  RefPtr<fs::Vnode> make(const SyntheticEntry& entry, RefPtr<fs::Vnode> parent, uint32_t subject = 0);

 private:
  uint64_t m_magic;
  RefPtr<fs::Vnode> m_root;
};

}  // namespace nimbus::linux
