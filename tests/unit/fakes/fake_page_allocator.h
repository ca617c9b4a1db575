// A host PageAllocator over aligned_alloc that counts pages and can run dry.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <set>

#include "kernel/fs/page_allocator.h"

namespace nimbus::fs {

class FakePageAllocator final : public PageAllocator {
 public:
  explicit FakePageAllocator(uint64_t limit = UINT64_MAX) : m_limit(limit) {}
  ~FakePageAllocator() {
    for (void* page : m_outstanding) std::free(page);
  }

  void* allocate_page() override {
    if (m_outstanding.size() >= m_limit) return nullptr;
    void* page = std::aligned_alloc(kPageSize, kPageSize);
    m_outstanding.insert(page);
    return page;
  }
  void free_page(void* page) override {
    if (!m_outstanding.erase(page)) std::abort();  // not ours, or freed twice
    std::free(page);
  }
  uint64_t available_pages() const override {
    return m_limit == UINT64_MAX ? 1u << 20 : m_limit - m_outstanding.size();
  }

  uint64_t outstanding() const { return m_outstanding.size(); }
  void set_limit(uint64_t limit) { m_limit = limit; }

 private:
  uint64_t m_limit;
  std::set<void*> m_outstanding;
};

}  // namespace nimbus::fs
