// RamFile: sparse page-backed file data, with copy-on-write over borrowed backing bytes.
#include <algorithm>
#include <cstring>

#include "kernel/fs/linux_abi.h"
#include "kernel/fs/ramfs_nodes.h"

namespace nimbus::fs {

RamFile::RamFile(RamFs& fs, const NewNode& node) : RamNode(fs, node), m_pages(fs.pages()) {}

RamFile::~RamFile() {
  ramfs().data_pages().fetch_sub(m_pages.page_count(), std::memory_order_relaxed);
}

void RamFile::note_page_count_change(uint64_t before) {
  uint64_t after = m_pages.page_count();
  if (after >= before) {
    ramfs().data_pages().fetch_add(after - before, std::memory_order_relaxed);
  } else {
    ramfs().data_pages().fetch_sub(before - after, std::memory_order_relaxed);
  }
}

void RamFile::set_backing(std::span<const std::byte> bytes) {
  MutexGuard guard(m_lock);
  uint64_t before = m_pages.page_count();
  m_pages.remove_from(0);
  note_page_count_change(before);
  m_backing = bytes;
  m_size = bytes.size();
}

bool RamFile::has_data_locked(uint64_t page_index) const {
  return page_index < (m_backing.size() + kPageSize - 1) / kPageSize || m_pages.find(page_index);
}

Result<size_t> RamFile::read_at(uint64_t offset, std::span<std::byte> buffer, IoFlags) {
  MutexGuard guard(m_lock);
  if (offset >= m_size) return 0;
  size_t total = static_cast<size_t>(std::min<uint64_t>(buffer.size(), m_size - offset));
  size_t done = 0;
  while (done < total) {
    uint64_t position = offset + done;
    uint64_t index = position / kPageSize;
    size_t in_page = position % kPageSize;
    size_t chunk = std::min(total - done, kPageSize - in_page);
    std::byte* out = buffer.data() + done;
    if (const std::byte* page = m_pages.find(index)) {
      memcpy(out, page + in_page, chunk);
    } else {
      // Unwritten: the borrowed bytes where they reach, zeros beyond.
      size_t borrowed = position < m_backing.size()
                            ? static_cast<size_t>(std::min<uint64_t>(chunk, m_backing.size() - position))
                            : 0;
      if (borrowed) memcpy(out, m_backing.data() + position, borrowed);
      memset(out + borrowed, 0, chunk - borrowed);
    }
    done += chunk;
  }
  return total;
}

Result<std::byte*> RamFile::writable_page_locked(uint64_t index) {
  bool created = false;
  std::byte* page = TRY(m_pages.find_or_insert(index, &created));
  if (created) {
    ramfs().data_pages().fetch_add(1, std::memory_order_relaxed);
    uint64_t start = index * kPageSize;
    size_t borrowed = start < m_backing.size()
                          ? static_cast<size_t>(std::min<uint64_t>(kPageSize, m_backing.size() - start))
                          : 0;
    if (borrowed) memcpy(page, m_backing.data() + start, borrowed);
    memset(page + borrowed, 0, kPageSize - borrowed);
  }
  return page;
}

Result<size_t> RamFile::write_at(uint64_t* offset, std::span<const std::byte> data, IoFlags flags) {
  MutexGuard guard(m_lock);
  if (flags.append) *offset = m_size;
  uint64_t start = *offset;
  if (data.empty()) return 0;
  if (start >= RamFs::kMaxFileSize) return error(Errno::efbig);
  size_t total = static_cast<size_t>(std::min<uint64_t>(data.size(), RamFs::kMaxFileSize - start));
  size_t done = 0;
  while (done < total) {
    uint64_t position = start + done;
    size_t in_page = position % kPageSize;
    size_t chunk = std::min(total - done, kPageSize - in_page);
    auto page = writable_page_locked(position / kPageSize);
    if (!page) {
      if (done) break;
      // tmpfs reports a full memory as a full disk.
      return error(page.error() == Errno::enomem ? Errno::enospc : page.error());
    }
    memcpy(*page + in_page, data.data() + done, chunk);
    done += chunk;
  }
  m_size = std::max(m_size, start + done);
  m_mtime = m_ctime = fs().now();
  return done;
}

Result<> RamFile::with_shared_page(uint64_t index, SharedPageUser& user) {
  MutexGuard guard(m_lock);
  if (index >= (m_size + kPageSize - 1) / kPageSize) return error(Errno::enxio);
  std::byte* page = TRY(writable_page_locked(index));
  m_pages_shared = true;
  return user.use(page);
}

Result<uint64_t> RamFile::take_cached_frame(uint64_t index, bool pin) {
  if (pin) return error(Errno::enodev);
  MutexGuard guard(m_lock);
  if (index >= (m_size + kPageSize - 1) / kPageSize) return error(Errno::enxio);
  std::byte* page = TRY(writable_page_locked(index));
  return m_pages.allocator().share_with_mapping(page);
}

Result<> RamFile::truncate(uint64_t size) {
  if (size > RamFs::kMaxFileSize) return error(Errno::efbig);
  MutexGuard guard(m_lock);
  if (size == m_size) return {};
  if (size < m_size) {
    uint64_t first_dropped = (size + kPageSize - 1) / kPageSize;
    if (m_pages_shared) unmap_shared_pages(*this, first_dropped);
    uint64_t before = m_pages.page_count();
    m_pages.remove_from(first_dropped);
    note_page_count_change(before);
    // The cut page's tail must read as zeros if the file grows again.
    if (size % kPageSize) {
      if (std::byte* page = m_pages.find(size / kPageSize)) {
        memset(page + size % kPageSize, 0, kPageSize - size % kPageSize);
      }
    }
    if (m_backing.size() > size) m_backing = m_backing.first(static_cast<size_t>(size));
  }
  m_size = size;
  m_mtime = m_ctime = fs().now();
  return {};
}

Result<> RamFile::allocate(uint32_t mode, uint64_t offset, uint64_t length) {
  using namespace linux_abi;
  if (mode & ~(falloc_keep_size | falloc_punch_hole)) return error(Errno::eopnotsupp);
  uint64_t end = offset + length;
  if (end > RamFs::kMaxFileSize || end < offset) return error(Errno::efbig);
  MutexGuard guard(m_lock);
  if (mode & falloc_punch_hole) {
    if (offset >= m_size) return {};
    if (end > m_size) end = m_size;
    // Partial pages are zeroed, whole ones dropped (after their shared mappings went).
    uint64_t first_whole = (offset + kPageSize - 1) / kPageSize, end_whole = end / kPageSize;
    for (uint64_t edge : {offset / kPageSize, end / kPageSize}) {
      uint64_t from = std::max(offset, edge * kPageSize), to = std::min(end, (edge + 1) * kPageSize);
      if (from >= to || (from % kPageSize == 0 && to - from == kPageSize)) continue;
      if (has_data_locked(edge)) {
        std::byte* page = TRY(writable_page_locked(edge));
        memset(page + from % kPageSize, 0, to - from);
      }
    }
    if (first_whole < end_whole) {
      if (m_pages_shared) unmap_shared_pages(*this, first_whole);
      uint64_t before = m_pages.page_count();
      m_pages.remove_range(first_whole, end_whole);
      note_page_count_change(before);
      // Borrowed bytes in the hole must not show through again.
      if (m_backing.size() > first_whole * kPageSize) {
        for (uint64_t index = first_whole; index < end_whole && index * kPageSize < m_backing.size(); index++) {
          std::byte* page = TRY(writable_page_locked(index));
          memset(page, 0, kPageSize);
        }
      }
    }
    m_mtime = m_ctime = fs().now();
    return {};
  }
  // Every page of the range now, so later writes cannot fail for lack of memory.
  // A range that cannot fit is refused before anything is taken, as tmpfs does.
  uint64_t wanted = (end + kPageSize - 1) / kPageSize - offset / kPageSize;
  if (wanted > m_pages.allocator().available_pages() + m_pages.page_count()) return error(Errno::enospc);
  // On failure the pages already made stay (zeros, past the end or not).
  for (uint64_t index = offset / kPageSize; index < (end + kPageSize - 1) / kPageSize; index++) {
    if (auto page = writable_page_locked(index); !page)
      return error(page.error() == Errno::enomem ? Errno::enospc : page.error());
  }
  if (!(mode & falloc_keep_size) && end > m_size) m_size = end;
  m_ctime = fs().now();
  return {};
}

Result<uint64_t> RamFile::next_data(uint64_t offset) {
  MutexGuard guard(m_lock);
  if (offset >= m_size) return error(Errno::enxio);
  if (offset < m_backing.size()) return offset;
  uint64_t index = offset / kPageSize;
  if (m_pages.find(index)) return offset;
  auto next = m_pages.next_present(index);
  if (!next || *next * kPageSize >= m_size) return error(Errno::enxio);
  return *next * kPageSize;
}

Result<uint64_t> RamFile::next_hole(uint64_t offset) {
  MutexGuard guard(m_lock);
  if (offset >= m_size) return error(Errno::enxio);
  uint64_t index = offset / kPageSize;
  while (index * kPageSize < m_size && has_data_locked(index)) index++;
  // The end of the file counts as a hole.
  return std::max(offset, std::min(index * kPageSize, m_size));
}

void RamFile::fill_stat_locked(Stat& stat) {
  stat.size = m_size;
  uint64_t backing_pages = (m_backing.size() + kPageSize - 1) / kPageSize;
  // Borrowed pages not yet copied count as allocated too, as they would on a disk.
  uint64_t pages = m_pages.page_count() + backing_pages - m_pages.count_below(backing_pages);
  stat.blocks = pages * (kPageSize / 512);
}

}  // namespace nimbus::fs
