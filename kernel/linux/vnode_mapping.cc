// A MappedFile over a vnode: page faults read the file through the file layer, or (shared
// mappings) map the file's own pages.
#include "kernel/linux/vnode_mapping.h"

#include <atomic>
#include <cstring>
#include <new>

#include "kernel/linux/process.h"
#include "kernel/mm/frame_references.h"
#include "kernel/mm/physical.h"

namespace nimbus::linux {
namespace {

void unmap_from_address_space(const fs::Vnode& file, uint64_t first) {
  if (has_process()) address_space().unmap_shared_file_pages(&file, first * kPageSize);
}

// Hands a file's page to the address space as a frame (ramfs pages live in the direct map).
class PageToFrame final : public fs::SharedPageUser {
 public:
  explicit PageToFrame(SharedPageMapper& mapper) : m_mapper(mapper) {}
  Result<> use(std::byte* page) override { return m_mapper.map(virt_to_phys(page)); }

 private:
  SharedPageMapper& m_mapper;
};

class VnodeMapping final : public MappedFile {
 public:
  VnodeMapping(RefPtr<fs::Vnode> vnode, std::string_view path, bool writable)
      : m_vnode(static_cast<RefPtr<fs::Vnode>&&>(vnode)), m_writable(writable) {
    size_t n = path.size() < sizeof(m_path) - 1 ? path.size() : sizeof(m_path) - 1;
    memcpy(m_path, path.data(), n);
    m_path[n] = '\0';
  }
  void retain() override { m_references.fetch_add(1, std::memory_order_relaxed); }
  void release() override {
    if (m_references.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  Result<size_t> read_at(uint64_t offset, std::span<uint8_t> out) override {
    size_t done = 0;
    while (done < out.size()) {
      auto n = m_vnode->read_at(offset + done, std::as_writable_bytes(out.subspan(done)), fs::IoFlags{});
      if (!n) return error(n.error());
      if (*n == 0) break;
      done += *n;
    }
    return done;
  }
  const char* path() const override { return m_path; }
  Result<> share_page(uint64_t offset, SharedPageMapper& mapper) override {
    fs::set_shared_page_unmapper(unmap_from_address_space);
    // A page-cache page stays pinned there, so the mapping needs no ownership of its own.
    if (m_writable) TRY(m_vnode->prepare_shared_write(offset / kPageSize));
    auto cached = m_vnode->take_cached_frame(offset / kPageSize, true);
    if (cached) {
      Result<> mapped = mapper.map(*cached);
      frame_refs::release(*cached);
      return mapped;
    }
    if (cached.error() != Errno::enodev) return error(cached.error());
    PageToFrame user(mapper);
    return m_vnode->with_shared_page(offset / kPageSize, user);
  }
  Result<uint64_t> take_cached_page(uint64_t offset) override {
    return m_vnode->take_cached_frame(offset / kPageSize, false);
  }
  const void* identity() const override { return m_vnode.get(); }
  bool writable() const override { return m_writable; }

 private:
  RefPtr<fs::Vnode> m_vnode;
  bool m_writable;
  std::atomic<uint32_t> m_references{1};
  char m_path[128];
};

}  // namespace

Result<MappedFile*> map_vnode(RefPtr<fs::Vnode> vnode, std::string_view path, bool writable) {
  auto* mapping = new (std::nothrow) VnodeMapping(static_cast<RefPtr<fs::Vnode>&&>(vnode), path, writable);
  if (!mapping) return error(Errno::enomem);
  return mapping;
}

}  // namespace nimbus::linux
