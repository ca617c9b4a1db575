// MemoryPageCache: a PageCache for the host tests, with the kernel cache's contract (misses
// filled through the PageSource with a readahead count, dirty pages handed out for
// write-back, forget) over heap pages, so ext4's page-cache paths run over image files. A
// "frame" is the page's address. Pages are filled with junk before a read, so that holes and
// tails past the end of the file must be zeroed by the file system; drop_clean() forgets every
// clean page, so that later reads come from the disk.
#pragma once

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include "kernel/fs/page_cache.h"

namespace nimbus::testing {

class MemoryPageCache final : public fs::PageCache {
 public:
  static constexpr uint64_t kPage = 4096;

  Result<size_t> read(fs::CachedFileKey key, uint64_t file_size, uint64_t offset, std::span<std::byte> buffer,
                      fs::PageSource& source) override {
    if (offset >= file_size) return 0;
    size_t total = static_cast<size_t>(std::min<uint64_t>(buffer.size(), file_size - offset));
    for (size_t done = 0; done < total;) {
      uint64_t position = offset + done;
      uint64_t phys = TRY(take(key, file_size, position / kPage, source, 3));
      size_t chunk = static_cast<size_t>(std::min<uint64_t>(kPage - position % kPage, total - done));
      memcpy(buffer.data() + done, page_data(phys) + position % kPage, chunk);
      done += chunk;
    }
    return total;
  }
  Result<uint64_t> take_page(fs::CachedFileKey key, uint64_t file_size, uint64_t index, fs::PageSource& source,
                             bool pin) override {
    uint64_t phys = TRY(take(key, file_size, index, source, 3));
    if (pin) m_pages[id(key, index)].pinned = true;
    return phys;
  }
  Result<uint64_t> take_page_ahead(fs::CachedFileKey key, uint64_t file_size, uint64_t index, fs::PageSource& source,
                                   size_t readahead) override {
    return take(key, file_size, index, source, readahead);
  }
  Result<uint64_t> take_page_for_write(fs::CachedFileKey key, uint64_t index) override {
    Page& page = m_pages[id(key, index)];
    if (!page.data) {
      page.data = std::make_unique<std::byte[]>(kPage);
      memset(page.data.get(), 0, kPage);
    }
    return address(page);
  }
  void mark_dirty(fs::CachedFileKey key, uint64_t index) override {
    auto found = m_pages.find(id(key, index));
    if (found != m_pages.end()) found->second.dirty = true;
  }
  void mark_shared_writable(fs::CachedFileKey key, uint64_t index) override {
    auto found = m_pages.find(id(key, index));
    if (found != m_pages.end() && found->second.pinned) found->second.shared_writable = true;
  }
  std::byte* page_data(uint64_t phys) override { return reinterpret_cast<std::byte*>(phys); }
  void release_page(uint64_t) override {}
  size_t take_dirty(const void* owner, fs::DirtyPage* pages, size_t max, uint64_t pass) override {
    size_t taken = 0;
    for (auto& [where, page] : m_pages) {
      if (taken == max) break;
      if (std::get<0>(where) != owner) continue;
      bool shared_due = page.shared_writable && page.pass != pass;
      if (!page.dirty && !shared_due) continue;
      page.dirty = false;
      page.pass = pass;
      pages[taken++] = fs::DirtyPage{std::get<1>(where), std::get<2>(where), address(page), page.data.get()};
      handed_for_write_back++;
    }
    return taken;
  }
  void finish_write_back(const void* owner, const fs::DirtyPage* pages, size_t count, bool written) override {
    if (written) return;
    for (size_t i = 0; i < count; i++) mark_dirty(fs::CachedFileKey{owner, pages[i].file}, pages[i].index);
  }
  bool has_dirty(const void* owner) override {
    for (auto& [where, page] : m_pages)
      if ((page.dirty || page.shared_writable) && (!owner || std::get<0>(where) == owner)) return true;
    return false;
  }
  size_t dirty_count() override {
    return static_cast<size_t>(std::count_if(m_pages.begin(), m_pages.end(), [](auto& p) { return p.second.dirty; }));
  }
  bool over_dirty_limit() override { return dirty_count() >= dirty_limit; }
  RangeState range_state(fs::CachedFileKey key, uint64_t first, uint64_t end) override {
    RangeState state;
    for (uint64_t index = first; index < end; index++) {
      auto found = m_pages.find(id(key, index));
      if (found == m_pages.end()) continue;
      state.cached = true;
      state.dirty |= found->second.dirty || found->second.shared_writable;
    }
    return state;
  }
  void forget(fs::CachedFileKey key, uint64_t first) override {
    std::erase_if(m_pages, [&](auto& p) {
      return std::get<0>(p.first) == key.owner && std::get<1>(p.first) == key.file && std::get<2>(p.first) >= first;
    });
  }

  // Forgets every clean page: what is read next comes from the disk.
  void drop_clean() {
    std::erase_if(m_pages, [](auto& p) { return !p.second.dirty && !p.second.pinned; });
  }

  size_t pages_read = 0;
  size_t largest_fill = 0;
  size_t handed_for_write_back = 0;
  bool tails_zeroed = true;
  size_t dirty_limit = 1 << 20;

 private:
  struct Page {
    std::unique_ptr<std::byte[]> data;
    bool dirty = false;
    bool pinned = false;
    bool shared_writable = false;
    uint64_t pass = 0;
  };
  using Id = std::tuple<const void*, uint64_t, uint64_t>;
  static Id id(fs::CachedFileKey key, uint64_t index) { return {key.owner, key.file, index}; }
  static uint64_t address(const Page& page) { return reinterpret_cast<uint64_t>(page.data.get()); }

  Result<uint64_t> take(fs::CachedFileKey key, uint64_t file_size, uint64_t index, fs::PageSource& source,
                        size_t readahead) {
    uint64_t page_count = (file_size + kPage - 1) / kPage;
    if (index >= page_count) return error(Errno::enxio);
    auto found = m_pages.find(id(key, index));
    if (found != m_pages.end()) return address(found->second);
    size_t count = std::max<size_t>(readahead, 1);
    count = static_cast<size_t>(std::min<uint64_t>(count, page_count - index));
    std::vector<std::unique_ptr<std::byte[]>> storage;
    std::vector<std::byte*> pointers;
    for (size_t i = 0; i < count && !m_pages.count(id(key, index + i)); i++) {
      storage.push_back(std::make_unique<std::byte[]>(kPage));
      memset(storage.back().get(), 0x5a, kPage);
      pointers.push_back(storage.back().get());
    }
    TRY(source.read_pages(index, {pointers.data(), pointers.size()}));
    pages_read += pointers.size();
    largest_fill = std::max(largest_fill, pointers.size());
    for (size_t i = 0; i < storage.size(); i++) {
      uint64_t page_start = (index + i) * kPage;
      if (page_start + kPage > file_size) {
        size_t tail = static_cast<size_t>(file_size - page_start);
        tails_zeroed &= std::all_of(pointers[i] + tail, pointers[i] + kPage, [](std::byte b) { return b == std::byte{0}; });
      }
      m_pages[id(key, index + i)].data = std::move(storage[i]);
    }
    return address(m_pages[id(key, index)]);
  }

  std::map<Id, Page> m_pages;
};

}  // namespace nimbus::testing
