// Vnode: a file system object (file, directory, symlink, device node, fifo), and FileSystem.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "kernel/fs/linux_abi.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/lib/result.h"

namespace nimbus::fs {

enum class VnodeType : uint8_t {
  regular,
  directory,
  symlink,
  character_device,
  block_device,
  fifo,
  socket,
};

// The S_IF* bits of a type, and back (nullopt-like: regular for an unknown format is never
// returned; callers check type_from_mode's result).
uint32_t mode_type_bits(VnodeType type);
bool type_from_mode(uint32_t mode, VnodeType* type);
uint8_t dirent_type(VnodeType type);

// Everything stat(2) and statx(2) report. Times are nanoseconds since the Unix epoch.
struct Stat {
  uint32_t dev_major = 0;
  uint32_t dev_minor = 0;
  uint64_t ino = 0;
  uint32_t mode = 0;  // type and permission bits, as st_mode
  uint32_t nlink = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t rdev_major = 0;
  uint32_t rdev_minor = 0;
  uint64_t size = 0;
  uint32_t block_size = 4096;  // st_blksize: the preferred I/O size
  uint64_t blocks = 0;         // st_blocks: 512-byte units allocated
  int64_t atime_ns = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  int64_t btime_ns = 0;  // statx stx_btime (creation)
};

// What statfs(2) reports.
struct StatFs {
  uint64_t type = 0;  // f_type magic
  uint64_t block_size = 4096;
  uint64_t blocks = 0;
  uint64_t blocks_free = 0;
  uint64_t blocks_available = 0;
  uint64_t files = 0;
  uint64_t files_free = 0;
  uint32_t dev_major = 0;
  uint32_t dev_minor = 0;  // f_fsid
  uint64_t name_max = linux_abi::name_max;
  uint64_t flags = 0;  // ST_* mount flags
};

// chmod/chown/utimensat: which attributes to change (Linux's struct iattr). ctime always
// becomes "now" when anything changes.
struct SetAttributes {
  enum Mask : uint32_t {
    mode = 1u << 0,
    uid = 1u << 1,
    gid = 1u << 2,
    atime = 1u << 3,
    mtime = 1u << 4,
  };
  uint32_t mask = 0;
  uint32_t mode_bits = 0;  // permission bits (07777) only; the type never changes
  uint32_t uid_value = 0;
  uint32_t gid_value = 0;
  int64_t atime_ns = 0;
  int64_t mtime_ns = 0;
};

// How an I/O request behaves.
// An open file's sequential-read state (Linux's file_ra_state), which file systems with a
// page cache use to size their readahead: the page a sequential reader reads next, and the
// current window in pages (0: random access, no readahead past the request).
struct ReadaheadState {
  uint64_t next_index = 0;
  uint32_t window = 0;
};

struct IoFlags {
  bool nonblocking = false;  // O_NONBLOCK: EAGAIN instead of sleeping
  bool append = false;       // O_APPEND: write at the end, whatever the offset says
  ReadaheadState* readahead = nullptr;  // the open file's, for read_at
  // O_DIRECT: between the program's buffer and the disk, past the page cache, where the file
  // system does direct I/O (ext4; others ignore it, as tmpfs does).
  bool direct = false;
};

// What a new directory entry is.
struct NewNode {
  VnodeType type = VnodeType::regular;
  uint32_t permissions = 0644;  // 07777 bits, the umask already applied
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t rdev_major = 0;  // device nodes
  uint32_t rdev_minor = 0;
};

// One directory entry handed out by Vnode::readdir.
struct DirentInfo {
  std::string_view name;
  uint64_t ino;
  VnodeType type;
  // The position that resumes after this entry (getdents64's d_off).
  uint64_t next_position;
};

class DirentSink {
 public:
  // False when the entry does not fit: readdir stops and leaves its position before it.
  virtual bool emit(const DirentInfo& entry) = 0;

 protected:
  ~DirentSink() = default;
};

// Nanoseconds since the Unix epoch (the wall clock), injectable for tests.
using ClockFunction = int64_t (*)();

class Vnode;
class FileOps;

// Receives a file's own page for a shared memory mapping (Vnode::with_shared_page).
class SharedPageUser {
 public:
  virtual Result<> use(std::byte* page) = 0;

 protected:
  ~SharedPageUser() = default;
};

// Shared memory mappings (MAP_SHARED) show a file's own pages. Before a file drops pages that
// it has handed out (truncate), it has them unmapped through this hook, from page index
// `first` on; the Linux layer sets it before it maps any.
using SharedPageUnmapper = void (*)(const Vnode& file, uint64_t first);
void set_shared_page_unmapper(SharedPageUnmapper unmapper);
void unmap_shared_pages(const Vnode& file, uint64_t first);

// One mounted file system instance. File systems live as long as the kernel (there is no
// umount yet), so vnodes point at theirs without counting.
class FileSystem {
 public:
  explicit FileSystem(ClockFunction clock);
  virtual ~FileSystem() = default;
  FileSystem(const FileSystem&) = delete;
  FileSystem& operator=(const FileSystem&) = delete;

  virtual RefPtr<Vnode> root() = 0;
  virtual StatFs statfs() = 0;
  virtual bool read_only() const { return false; }
  // Makes everything written so far durable (fsync, fdatasync, syncfs, sync, power-off);
  // memory file systems have nothing to do.
  virtual Result<> sync() { return {}; }
  // How lseek treats its files and directories.
  enum class SeekStyle : uint8_t {
    memory,      // tmpfs: files from their size, directories by cookie (no SEEK_END)
    generated,   // procfs: files are generated text (seq_file: no SEEK_END), directories
                 // seek as plain files of size 0 (generic_file_llseek)
  };
  virtual SeekStyle seek_style() const { return SeekStyle::memory; }

  // The mount table knows a mount point by its vnode object: a file system whose lookups may
  // make a new object for the same directory (ext4) keeps this one and hands it out from then on.
  virtual Result<> keep_mount_point(const RefPtr<Vnode>&) { return {}; }

  // st_dev is (0, device_minor()), as Linux numbers its anonymous (memory) file systems.
  uint32_t device_minor() const { return m_device_minor; }
  uint64_t allocate_ino() { return m_next_ino.fetch_add(1, std::memory_order_relaxed); }
  int64_t now() const { return m_clock ? m_clock() : 0; }

 private:
  ClockFunction m_clock;
  uint32_t m_device_minor;
  std::atomic<uint64_t> m_next_ino{1};
};

// A file system object. Operations a type does not support return the error Linux gives
// for them (reading a directory: EISDIR; looking up in a file: ENOTDIR; ...). Names passed
// to directory operations are single components: not empty, not "." or "..", no '/', at
// most NAME_MAX bytes (the path walk guarantees it).
class Vnode : public RefCounted<Vnode> {
 public:
  Vnode(FileSystem& fs, VnodeType type, uint64_t ino) : m_fs(fs), m_ino(ino), m_type(type) {}
  virtual ~Vnode() = default;

  FileSystem& fs() const { return m_fs; }
  VnodeType type() const { return m_type; }
  uint64_t ino() const { return m_ino; }
  bool is_directory() const { return m_type == VnodeType::directory; }
  bool is_regular() const { return m_type == VnodeType::regular; }
  bool is_symlink() const { return m_type == VnodeType::symlink; }

  // --- attributes ---
  virtual Stat stat() = 0;
  virtual Result<> set_attributes(const SetAttributes& attributes) = 0;

  // --- data (regular files; devices and pipes are served by their File) ---
  // Reads at `offset`; 0 at or past the end.
  virtual Result<size_t> read_at(uint64_t offset, std::span<std::byte> buffer, IoFlags flags);
  // Writes at `*offset`, or at the end with flags.append, and leaves in `*offset` where the
  // data went. EFBIG past the largest file size.
  virtual Result<size_t> write_at(uint64_t* offset, std::span<const std::byte> data, IoFlags flags);
  virtual Result<> truncate(uint64_t size);
  // lseek's SEEK_DATA/SEEK_HOLE: ENXIO at or past the end.
  virtual Result<uint64_t> next_data(uint64_t offset);
  virtual Result<uint64_t> next_hole(uint64_t offset);
  // fallocate(2) with FALLOC_FL_* `mode` over [offset, offset + length): the syscall layer has
  // checked the arguments (length > 0, no overflow, a writable regular file, no unknown or
  // contradictory bits). EOPNOTSUPP for what a file system does not do.
  virtual Result<> allocate(uint32_t mode, uint64_t offset, uint64_t length);

  // --- extended attributes ---
  // `name` is the whole name with its namespace ("user.comment"), 1 to 255 bytes, checked by
  // the syscall layer. get_xattr gives the value's size and copies it into `value` unless
  // `value` is empty (a size query): ERANGE when it does not fit, ENODATA when absent.
  virtual Result<size_t> get_xattr(std::string_view name, std::span<std::byte> value);
  // Every name, each followed by a NUL, into `list` (empty: a size query); ERANGE.
  virtual Result<size_t> list_xattrs(std::span<char> list);
  // `flags`: xattr_create (EEXIST when present) or xattr_replace (ENODATA when absent).
  // ENOSPC or E2BIG when it does not fit.
  virtual Result<> set_xattr(std::string_view name, std::span<const std::byte> value, uint32_t flags);
  virtual Result<> remove_xattr(std::string_view name);

  // --- shared memory mappings (regular files) ---
  // Whether mappings can show this file's own pages.
  virtual bool can_share_pages() const { return false; }
  // Calls `user` with the file's page `index`, made first if the file has none there, while
  // holding the file's lock, so that the page cannot be dropped meanwhile. ENXIO at or past
  // the end of the file, ENODEV for files that cannot share their pages.
  virtual Result<> with_shared_page(uint64_t index, SharedPageUser& user);
  // Files in the page cache (ext4): the frame (physical address) holding page `index`, read on
  // a miss, with one ownership of it for the caller (frame_refs::release gives it back). `pin`
  // keeps it in the cache for good (a shared mapping shows it). ENODEV for files the page cache
  // does not hold (the caller copies through read_at instead), ENXIO past the end.
  virtual Result<uint64_t> take_cached_frame(uint64_t, bool) { return error(Errno::enodev); }
  // Before page `index` joins a shared mapping that may write it (take_cached_frame with pin
  // follows): a file system whose page cache writes pages back gets ready for the page to
  // change (ext4 allocates its blocks and watches the page for write-back).
  virtual Result<> prepare_shared_write(uint64_t) { return {}; }

  // --- directories ---
  // ".." gives the parent (the root gives itself); "." is handled by the walk.
  virtual Result<RefPtr<Vnode>> lookup(std::string_view name);
  // EEXIST when the name is taken. Symlinks are made with symlink().
  virtual Result<RefPtr<Vnode>> create(std::string_view name, const NewNode& node);
  // O_TMPFILE: a regular file of this directory's file system with no name (no links);
  // linkat may give it one if `linkable`. EOPNOTSUPP where the file system cannot.
  virtual Result<RefPtr<Vnode>> create_unnamed(const NewNode& node, bool linkable);
  virtual Result<RefPtr<Vnode>> symlink(std::string_view name, std::string_view target,
                                        uint32_t uid, uint32_t gid);
  // A new name for `target` (not a directory) in this directory; EXDEV across file systems.
  virtual Result<> link(std::string_view name, Vnode& target);
  // Removes a non-directory (EISDIR for a directory).
  virtual Result<> unlink(std::string_view name);
  // Removes an empty directory (ENOTDIR, ENOTEMPTY).
  virtual Result<> rmdir(std::string_view name);
  // renameat2 within one file system (EXDEV otherwise); `flags` are RENAME_NOREPLACE or
  // RENAME_EXCHANGE.
  virtual Result<> rename(std::string_view old_name, Vnode& new_directory,
                          std::string_view new_name, uint32_t flags);
  // Emits entries from `*position` on ("." and ".." first) until the sink is full or the
  // directory ends, advancing `*position` past each emitted entry. Positions are cookies
  // that stay valid when other entries come and go.
  virtual Result<> readdir(uint64_t* position, DirentSink& sink);
  // The name under which `child` is linked in this directory (for getcwd); ENOENT if none.
  virtual Result<size_t> child_name(const Vnode& child, std::span<char> buffer);
  // Whether a directory has no entries besides "." and "..".
  virtual bool is_empty_directory();

  // --- symlinks ---
  // The target, valid as long as this vnode lives (symlink targets never change).
  virtual Result<std::string_view> link_target();
  // A "magic link" (/proc/self/fd/N): the object the link stands for, which the walk steps to
  // instead of resolving the target text; nullptr for an ordinary symlink.
  virtual RefPtr<Vnode> magic_link_target() { return nullptr; }

  // --- streams ---
  // The operations every File opened on this node uses, for nodes that stand for a stream
  // rather than data or a numbered device (the program's standard streams); nullptr otherwise.
  virtual FileOps* stream_ops() { return nullptr; }

 private:
  FileSystem& m_fs;
  uint64_t m_ino;
  VnodeType m_type;
};

}  // namespace nimbus::fs
