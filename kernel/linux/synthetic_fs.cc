// A read-only file system whose contents are made on demand by functions.
#include "kernel/linux/synthetic_fs.h"

#include <cstdarg>
#include <cstring>
#include <new>

#include "kernel/lib/format.h"
#include "kernel/mm/heap.h"

namespace nimbus::linux {

TextBuffer::~TextBuffer() { heap::free(m_data); }

void TextBuffer::append(std::string_view text) {
  if (m_size + text.size() > m_capacity) {
    size_t capacity = m_capacity ? m_capacity : 256;
    while (capacity < m_size + text.size()) capacity *= 2;
    auto* data = static_cast<char*>(heap::allocate(capacity, 16));
    if (!data) return;  // out of memory: the text is cut short
    if (m_data) memcpy(data, m_data, m_size);
    heap::free(m_data);
    m_data = data;
    m_capacity = capacity;
  }
  memcpy(m_data + m_size, text.data(), text.size());
  m_size += text.size();
}

void TextBuffer::format(const char* format, ...) {
  va_list args;
  va_start(args, format);
  vformat([](void* self, const char* text, size_t length) { static_cast<TextBuffer*>(self)->append({text, length}); },
          this, format, args);
  va_end(args);
}

namespace {

int64_t now(fs::FileSystem& fs) { return fs.now(); }

class SyntheticNode : public fs::Vnode {
 public:
  SyntheticNode(SyntheticFs& fs, fs::VnodeType type, uint32_t permissions)
      : Vnode(fs, type, fs.allocate_ino()), m_permissions(permissions), m_time(now(fs)) {}
  fs::Stat stat() override {
    fs::Stat s;
    s.ino = ino();
    s.mode = fs::mode_type_bits(type()) | m_permissions;
    s.nlink = type() == fs::VnodeType::directory ? 2 : 1;
    s.dev_minor = fs().device_minor();
    s.size = size();
    s.atime_ns = s.mtime_ns = s.ctime_ns = s.btime_ns = m_time;
    return s;
  }
  Result<> set_attributes(const fs::SetAttributes&) override { return error(Errno::eperm); }
  virtual uint64_t size() { return 0; }

 private:
  uint32_t m_permissions;
  int64_t m_time;
};

class GeneratedFile final : public SyntheticNode {
 public:
  GeneratedFile(SyntheticFs& fs, const SyntheticEntry& entry, uint32_t subject)
      : SyntheticNode(fs, fs::VnodeType::regular, 0444), m_entry(entry), m_subject(subject) {}
  Result<size_t> read_at(uint64_t offset, std::span<std::byte> buffer, fs::IoFlags) override {
    TextBuffer text;
    if (m_entry.generate_for) m_entry.generate_for(text, m_subject);
    else m_entry.generate(text);
    auto all = text.text();
    if (offset >= all.size()) return 0;
    size_t n = buffer.size() < all.size() - offset ? buffer.size() : all.size() - offset;
    memcpy(buffer.data(), all.data() + offset, n);
    return n;
  }
  // Like Linux's /proc files: size 0, read until EOF.
  uint64_t size() override { return 0; }

 private:
  const SyntheticEntry& m_entry;  // entries are constants
  uint32_t m_subject;
};

class GeneratedSymlink final : public SyntheticNode {
 public:
  GeneratedSymlink(SyntheticFs& fs, const TextBuffer& target, RefPtr<fs::Vnode> object = nullptr)
      : SyntheticNode(fs, fs::VnodeType::symlink, 0777), m_object(std::move(object)) {
    auto text = target.text();
    m_length = text.size() < sizeof(m_target) ? text.size() : sizeof(m_target);
    memcpy(m_target, text.data(), m_length);
  }
  Result<std::string_view> link_target() override { return std::string_view(m_target, m_length); }
  RefPtr<fs::Vnode> magic_link_target() override { return m_object; }
  uint64_t size() override { return m_length; }

 private:
  char m_target[256];
  size_t m_length;
  RefPtr<fs::Vnode> m_object;
};

struct DirentEmitter {
  fs::DirentSink& sink;
  uint64_t* position;
  uint64_t index = 0;
  bool full = false;
  // Positions: 0 ".", 1 "..", then 2 + entry index.
  void emit(std::string_view name, uint64_t ino, fs::VnodeType type) {
    if (full) return;
    if (index++ < *position) return;
    if (!sink.emit(fs::DirentInfo{name, ino, type, index})) {
      full = true;
      return;
    }
    *position = index;
  }
};

fs::VnodeType type_of(SyntheticEntry::Kind kind) {
  switch (kind) {
    case SyntheticEntry::Kind::file: return fs::VnodeType::regular;
    case SyntheticEntry::Kind::directory: return fs::VnodeType::directory;
    case SyntheticEntry::Kind::symlink: return fs::VnodeType::symlink;
    case SyntheticEntry::Kind::dynamic_directory: return fs::VnodeType::directory;
    case SyntheticEntry::Kind::numbered_directories: return fs::VnodeType::directory;
  }
  return fs::VnodeType::regular;
}

// A decimal number without sign or leading zero ("/proc/01" is not "/proc/1"), or 0.
uint32_t parse_number(std::string_view name) {
  if (name.empty() || name.size() > 9 || name[0] == '0') return 0;
  uint32_t n = 0;
  for (char c : name) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + static_cast<uint32_t>(c - '0');
  }
  return n;
}

class SyntheticDirectory final : public SyntheticNode {
 public:
  SyntheticDirectory(SyntheticFs& fs, RefPtr<fs::Vnode> parent, std::span<const SyntheticEntry> (*children)(),
                     uint32_t subject)
      : SyntheticNode(fs, fs::VnodeType::directory, 0555), m_parent(parent), m_children(children), m_subject(subject) {}
  Result<RefPtr<fs::Vnode>> lookup(std::string_view name) override {
    if (name == "..") return m_parent ? m_parent : RefPtr<fs::Vnode>(this);
    auto& synthetic = static_cast<SyntheticFs&>(fs());
    for (const SyntheticEntry& entry : m_children()) {
      if (entry.kind == SyntheticEntry::Kind::numbered_directories) {
        uint32_t number = parse_number(name);
        if (number == 0 || !entry.numbered->exists(number)) continue;
        SyntheticEntry directory{name, SyntheticEntry::Kind::directory, nullptr, entry.numbered->children};
        auto node = synthetic.make(directory, RefPtr<fs::Vnode>(this), number);
        if (!node) return error(Errno::enomem);
        return node;
      }
      if (entry.name == name) {
        auto node = synthetic.make(entry, RefPtr<fs::Vnode>(this), m_subject);
        if (!node) return error(Errno::enomem);
        return node;
      }
    }
    return error(Errno::enoent);
  }
  Result<> readdir(uint64_t* position, fs::DirentSink& sink) override {
    DirentEmitter out{sink, position};
    out.emit(".", ino(), fs::VnodeType::directory);
    out.emit("..", m_parent ? m_parent->ino() : ino(), fs::VnodeType::directory);
    // Inode numbers of entries are made when looked up; readdir reports a stable stand-in.
    uint64_t i = 0;
    for (const SyntheticEntry& entry : m_children()) {
      if (entry.kind != SyntheticEntry::Kind::numbered_directories) {
        out.emit(entry.name, ino() * 64 + ++i, type_of(entry.kind));
        continue;
      }
      // The numbers as they are now; a directory's position is its index in this listing.
      struct Context {
        DirentEmitter* out;
        uint64_t base;
      } context{&out, ino() * 64 + 4096};
      entry.numbered->list(
          [](uint32_t number, void* c) {
            auto* ctx = static_cast<Context*>(c);
            char text[12];
            size_t n = 0;
            char digits[12];
            do digits[n++] = static_cast<char>('0' + number % 10);
            while ((number /= 10) != 0);
            for (size_t k = 0; k < n; k++) text[k] = digits[n - 1 - k];
            ctx->out->emit({text, n}, ctx->base + ctx->out->index, fs::VnodeType::directory);
          },
          &context);
    }
    return {};
  }
  bool is_empty_directory() override { return m_children().empty(); }

 private:
  RefPtr<fs::Vnode> m_parent;
  std::span<const SyntheticEntry> (*m_children)();
  uint32_t m_subject;
};

class DynamicDirectoryNode final : public SyntheticNode {
 public:
  DynamicDirectoryNode(SyntheticFs& fs, RefPtr<fs::Vnode> parent, const DynamicDirectory& dir, uint32_t subject)
      : SyntheticNode(fs, fs::VnodeType::directory, 0500), m_parent(parent), m_dir(dir), m_subject(subject) {}
  Result<RefPtr<fs::Vnode>> lookup(std::string_view name) override {
    if (name == "..") return m_parent;
    TextBuffer target;
    if (!m_dir.target(m_subject, name, target)) return error(Errno::enoent);
    RefPtr<fs::Vnode> object = m_dir.object ? m_dir.object(m_subject, name) : nullptr;
    auto* node = new (std::nothrow) GeneratedSymlink(static_cast<SyntheticFs&>(fs()), target, std::move(object));
    if (!node) return error(Errno::enomem);
    return adopt_ref<fs::Vnode>(node);
  }
  Result<> readdir(uint64_t* position, fs::DirentSink& sink) override {
    DirentEmitter out{sink, position};
    out.emit(".", ino(), fs::VnodeType::directory);
    out.emit("..", m_parent->ino(), fs::VnodeType::directory);
    struct Context {
      DirentEmitter* out;
      uint64_t base;
      uint64_t i;
    } context{&out, ino() * 4096, 0};
    m_dir.list(
        m_subject,
        [](std::string_view name, void* c) {
          auto* ctx = static_cast<Context*>(c);
          ctx->out->emit(name, ctx->base + ++ctx->i, fs::VnodeType::symlink);
        },
        &context);
    return {};
  }

 private:
  RefPtr<fs::Vnode> m_parent;
  DynamicDirectory m_dir;
  uint32_t m_subject;
};

}  // namespace

SyntheticFs::SyntheticFs(fs::ClockFunction clock, uint64_t magic, std::span<const SyntheticEntry> (*root_entries)())
    : FileSystem(clock), m_magic(magic) {
  m_root = adopt_ref<fs::Vnode>(new SyntheticDirectory(*this, nullptr, root_entries, 0));
}

// /proc's files are seq_files and its directories seek as Linux's generic_file_llseek; sysfs
// files have a size to seek from.
fs::FileSystem::SeekStyle SyntheticFs::seek_style() const {
  constexpr uint64_t kProcSuperMagic = 0x9fa0;
  return m_magic == kProcSuperMagic ? SeekStyle::generated : SeekStyle::memory;
}

fs::StatFs SyntheticFs::statfs() {
  fs::StatFs s;
  s.type = m_magic;
  s.dev_minor = device_minor();
  return s;
}

RefPtr<fs::Vnode> SyntheticFs::make(const SyntheticEntry& entry, RefPtr<fs::Vnode> parent, uint32_t subject) {
  fs::Vnode* node = nullptr;
  switch (entry.kind) {
    case SyntheticEntry::Kind::file:
      node = new (std::nothrow) GeneratedFile(*this, entry, subject);
      break;
    case SyntheticEntry::Kind::directory:
      node = new (std::nothrow) SyntheticDirectory(*this, parent, entry.children, subject);
      break;
    case SyntheticEntry::Kind::symlink: {
      TextBuffer target;
      if (entry.generate_for) entry.generate_for(target, subject);
      else entry.generate(target);
      node = new (std::nothrow) GeneratedSymlink(*this, target);
      break;
    }
    case SyntheticEntry::Kind::dynamic_directory:
      node = new (std::nothrow) DynamicDirectoryNode(*this, parent, *entry.dynamic, subject);
      break;
    case SyntheticEntry::Kind::numbered_directories:
      break;  // only its numbers are looked up
  }
  return node ? adopt_ref<fs::Vnode>(node) : RefPtr<fs::Vnode>();
}

}  // namespace nimbus::linux
