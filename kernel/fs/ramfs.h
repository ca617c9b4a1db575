// RamFs: the writable in-memory file system that holds "/" (and /dev, /tmp...).
#pragma once

#include <atomic>
#include <cstdint>
#include <span>

#include "kernel/fs/page_allocator.h"
#include "kernel/fs/vnode.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/lib/result.h"
#include "kernel/sync/mutex.h"

namespace nimbus::fs {

class RamDirectory;

// Regular files keep their data in 4 KiB pages from the PageAllocator, in a sparse page
// tree (holes read as zeros and cost nothing). A file can also borrow read-only bytes (the
// initrd's, which stay mapped): reads come from them until a page is written, and then that
// page alone is copied. Directories hash their names.
//
// Locking: one namespace mutex per file system covers every directory's entries, parent
// links and link counts (so rename needs no lock ordering between directories); each node's
// own mutex covers its attributes and, for files, its data. Order: namespace, then node.
class RamFs final : public FileSystem {
 public:
  static constexpr uint64_t kMaxFileSize = INT64_MAX;

  RamFs(PageAllocator& pages, ClockFunction clock);
  ~RamFs() override;

  // Creates the root directory; once, before anything else.
  Result<> init(uint32_t root_permissions = 0755);

  RefPtr<Vnode> root() override;
  StatFs statfs() override;

  // Makes `file` (a regular file of this file system) read `bytes`, which must stay valid
  // and unchanged for as long as the file lives, instead of its current contents.
  Result<> set_backing(Vnode& file, std::span<const std::byte> bytes);

  PageAllocator& pages() { return m_pages; }
  Mutex& namespace_lock() { return m_namespace_lock; }
  // Live nodes (statfs f_files), maintained by the nodes themselves.
  std::atomic<uint64_t>& node_count() { return m_node_count; }
  // Data pages in use by files (statfs).
  std::atomic<uint64_t>& data_pages() { return m_data_pages; }

 private:
  PageAllocator& m_pages;
  Mutex m_namespace_lock;
  RefPtr<RamDirectory> m_root;
  std::atomic<uint64_t> m_node_count{0};
  std::atomic<uint64_t> m_data_pages{0};
};

}  // namespace nimbus::fs
