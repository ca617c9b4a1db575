// PageTree: lookup, insertion with on-demand growth, truncation and searches.
#include "kernel/fs/page_tree.h"

#include <cstring>

namespace nimbus::fs {

PageTree::~PageTree() {
  if (m_root) free_subtree(m_root, m_height);
}

PageTree::Node* PageTree::allocate_node() {
  auto* node = static_cast<Node*>(m_allocator.allocate_page());
  if (!node) return nullptr;
  memset(node, 0, sizeof(Node));
  m_nodes++;
  return node;
}

std::byte* PageTree::find(uint64_t index) const {
  if (index >= capacity()) return nullptr;
  const Node* node = m_root;
  for (unsigned level = m_height - 1;; level--) {
    void* entry = node->slots[(index >> (kFanoutBits * level)) & (kFanout - 1)];
    if (level == 0 || !entry) return static_cast<std::byte*>(entry);
    node = static_cast<const Node*>(entry);
  }
}

Result<std::byte*> PageTree::find_or_insert(uint64_t index, bool* created) {
  *created = false;
  if (index > kMaxIndex) return error(Errno::efbig);
  if (!m_root) {
    unsigned height = 1;
    while (index >= span_of_level(height)) height++;
    m_root = allocate_node();
    if (!m_root) return error(Errno::enomem);
    m_height = height;
  }
  while (index >= capacity()) {
    // A taller tree: the old root becomes the first child of a new one.
    Node* root = allocate_node();
    if (!root) return error(Errno::enomem);
    root->slots[0] = m_root;
    m_root = root;
    m_height++;
  }
  Node* node = m_root;
  for (unsigned level = m_height - 1;; level--) {
    void*& slot = node->slots[(index >> (kFanoutBits * level)) & (kFanout - 1)];
    if (level == 0) {
      if (!slot) {
        slot = m_allocator.allocate_page();
        if (!slot) return error(Errno::enomem);
        m_pages++;
        *created = true;
      }
      return static_cast<std::byte*>(slot);
    }
    if (!slot) {
      // An empty interior node left behind by a later failure is harmless: prune() and the
      // destructor free it.
      slot = allocate_node();
      if (!slot) return error(Errno::enomem);
    }
    node = static_cast<Node*>(slot);
  }
}

void PageTree::free_subtree(void* entry, unsigned level) {
  if (level == 0) {
    m_allocator.free_page(entry);
    m_pages--;
    return;
  }
  auto* node = static_cast<Node*>(entry);
  for (void* child : node->slots) {
    if (child) free_subtree(child, level - 1);
  }
  m_allocator.free_page(node);
  m_nodes--;
}

bool PageTree::prune(Node* node, unsigned level, uint64_t base, uint64_t first, uint64_t end) {
  uint64_t span = span_of_level(level - 1);
  bool empty = true;
  for (size_t i = 0; i < kFanout; i++) {
    void*& child = node->slots[i];
    if (!child) continue;
    uint64_t child_base = base + i * span;
    bool overlaps = child_base < end && child_base + span > first;
    if (overlaps && child_base >= first && end - child_base >= span) {
      free_subtree(child, level - 1);
      child = nullptr;
    } else if (overlaps && level > 1) {
      if (prune(static_cast<Node*>(child), level - 1, child_base, first, end)) {
        m_allocator.free_page(child);
        m_nodes--;
        child = nullptr;
      } else {
        empty = false;
      }
    } else {
      empty = false;
    }
  }
  return empty;
}

void PageTree::remove_from(uint64_t first) { remove_range(first, UINT64_MAX); }

void PageTree::remove_range(uint64_t first, uint64_t end) {
  if (!m_root || first >= capacity() || first >= end) return;
  if (prune(m_root, m_height, 0, first, end)) {
    m_allocator.free_page(m_root);
    m_nodes--;
    m_root = nullptr;
    m_height = 0;
  }
}

std::optional<uint64_t> PageTree::search(const Node* node, unsigned level, uint64_t base,
                                         uint64_t from) const {
  uint64_t span = span_of_level(level - 1);
  size_t start = from > base ? (from - base) / span : 0;
  for (size_t i = start; i < kFanout; i++) {
    const void* child = node->slots[i];
    if (!child) continue;
    uint64_t child_base = base + i * span;
    if (level == 1) return child_base;
    if (auto found = search(static_cast<const Node*>(child), level - 1, child_base, from)) return found;
  }
  return std::nullopt;
}

std::optional<uint64_t> PageTree::next_present(uint64_t from) const {
  if (!m_root || from >= capacity()) return std::nullopt;
  return search(m_root, m_height, 0, from);
}

uint64_t PageTree::count(const Node* node, unsigned level, uint64_t base, uint64_t limit) const {
  uint64_t span = span_of_level(level - 1);
  uint64_t total = 0;
  for (size_t i = 0; i < kFanout; i++) {
    const void* child = node->slots[i];
    uint64_t child_base = base + i * span;
    if (child_base >= limit) break;
    if (!child) continue;
    total += level == 1 ? 1 : count(static_cast<const Node*>(child), level - 1, child_base, limit);
  }
  return total;
}

uint64_t PageTree::count_below(uint64_t limit) const {
  if (!m_root) return 0;
  if (limit >= capacity()) return m_pages;
  return count(m_root, m_height, 0, limit);
}

}  // namespace nimbus::fs
