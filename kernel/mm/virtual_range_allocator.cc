// VirtualRangeAllocator: free ranges in an AVL tree augmented with the largest range below.
#include "kernel/mm/virtual_range_allocator.h"

#include <algorithm>
#include <new>
#include <utility>

namespace nimbus {

namespace {

using Node = VirtualRangeAllocator::Node;

// The tree has no parent links: updates recurse from the root (depth <= 1.44 log2 n).

int height(const Node* node) {
  return node ? node->height : 0;
}
uintptr_t max_size(const Node* node) {
  return node ? node->max_size : 0;
}

void update(Node* node) {
  node->height = 1 + std::max(height(node->left), height(node->right));
  node->max_size = std::max({node->end - node->begin, max_size(node->left), max_size(node->right)});
}

Node* rotate_right(Node* node) {
  Node* pivot = node->left;
  node->left = pivot->right;
  pivot->right = node;
  update(node);
  update(pivot);
  return pivot;
}

Node* rotate_left(Node* node) {
  Node* pivot = node->right;
  node->right = pivot->left;
  pivot->left = node;
  update(node);
  update(pivot);
  return pivot;
}

Node* rebalance(Node* node) {
  update(node);
  int balance = height(node->left) - height(node->right);
  if (balance > 1) {
    if (height(node->left->left) < height(node->left->right)) {
      node->left = rotate_left(node->left);
    }
    return rotate_right(node);
  }
  if (balance < -1) {
    if (height(node->right->right) < height(node->right->left)) {
      node->right = rotate_right(node->right);
    }
    return rotate_left(node);
  }
  return node;
}

Node* insert(Node* root, Node* node) {
  if (root == nullptr) {
    node->left = node->right = nullptr;
    update(node);
    return node;
  }
  if (node->begin < root->begin) {
    root->left = insert(root->left, node);
  } else {
    root->right = insert(root->right, node);
  }
  return rebalance(root);
}

Node* detach_min(Node* root, Node*& min) {
  if (root->left == nullptr) {
    min = root;
    return root->right;
  }
  root->left = detach_min(root->left, min);
  return rebalance(root);
}

Node* erase(Node* root, uintptr_t begin) {
  if (begin < root->begin) {
    root->left = erase(root->left, begin);
  } else if (begin > root->begin) {
    root->right = erase(root->right, begin);
  } else {
    if (root->right == nullptr) return root->left;
    Node* successor;
    Node* right = detach_min(root->right, successor);
    successor->left = root->left;
    successor->right = right;
    return rebalance(successor);
  }
  return rebalance(root);
}

// Recomputes max_size from the node starting at `begin` up to the root, after its range
// changed without changing its place in the order.
void refresh(Node* root, uintptr_t begin) {
  if (begin < root->begin) {
    refresh(root->left, begin);
  } else if (begin > root->begin) {
    refresh(root->right, begin);
  }
  update(root);
}

// The last range starting at or before addr.
Node* floor(Node* root, uintptr_t addr) {
  Node* best = nullptr;
  while (root != nullptr) {
    if (root->begin <= addr) {
      best = root;
      root = root->right;
    } else {
      root = root->left;
    }
  }
  return best;
}

// The first range starting after addr.
Node* after(Node* root, uintptr_t addr) {
  Node* best = nullptr;
  while (root != nullptr) {
    if (root->begin > addr) {
      best = root;
      root = root->left;
    } else {
      root = root->right;
    }
  }
  return best;
}

// The lowest-addressed range holding `size` bytes at an `align`-aligned start, and that start.
Node* first_fit(Node* root, uintptr_t size, uintptr_t align, uintptr_t& start) {
  if (root == nullptr || root->max_size < size) return nullptr;
  if (Node* found = first_fit(root->left, size, align, start)) return found;
  uintptr_t aligned = (root->begin + align - 1) & ~(align - 1);
  if (aligned >= root->begin && aligned <= root->end && root->end - aligned >= size) {
    start = aligned;
    return root;
  }
  return first_fit(root->right, size, align, start);
}

}  // namespace

Result<VirtualRangeAllocator> VirtualRangeAllocator::try_create(uintptr_t begin, uintptr_t end,
                                                                NodeSource& nodes) {
  uintptr_t last = end & ~(kPageSize - 1);
  // Also keeps the round-up below from overflowing.
  if (begin >= last) return error(Errno::einval);
  uintptr_t first = (begin + kPageSize - 1) & ~(kPageSize - 1);
  if (first >= last) return error(Errno::einval);
  VirtualRangeAllocator allocator(first, last, nodes);
  TRY(allocator.insert_node(first, last));
  allocator.m_free_bytes = last - first;
  return allocator;
}

VirtualRangeAllocator::VirtualRangeAllocator(VirtualRangeAllocator&& other)
    : m_nodes(other.m_nodes),
      m_root(std::exchange(other.m_root, nullptr)),
      m_begin(other.m_begin),
      m_end(other.m_end),
      m_free_bytes(std::exchange(other.m_free_bytes, 0)),
      m_range_count(std::exchange(other.m_range_count, 0)) {}

VirtualRangeAllocator& VirtualRangeAllocator::operator=(VirtualRangeAllocator&& other) {
  if (this != &other) {
    release_tree(m_root);
    m_nodes = other.m_nodes;
    m_root = std::exchange(other.m_root, nullptr);
    m_begin = other.m_begin;
    m_end = other.m_end;
    m_free_bytes = std::exchange(other.m_free_bytes, 0);
    m_range_count = std::exchange(other.m_range_count, 0);
  }
  return *this;
}

VirtualRangeAllocator::~VirtualRangeAllocator() {
  release_tree(m_root);
}

Result<uintptr_t> VirtualRangeAllocator::allocate(size_t size, size_t align) {
  // Not std::has_single_bit: without -mpopcnt that becomes a libgcc call.
  if (size == 0 || (align & (align - 1)) != 0) return error(Errno::einval);
  if (size > m_end - m_begin) return error(Errno::enomem);
  size = (size + kPageSize - 1) & ~(kPageSize - 1);
  align = std::max<size_t>(align, kPageSize);
  uintptr_t start = 0;
  Node* node = first_fit(m_root, size, align, start);
  if (node == nullptr) return error(Errno::enomem);
  TRY(carve(node, start, start + size));
  return start;
}

Result<> VirtualRangeAllocator::allocate_fixed(uintptr_t addr, size_t size) {
  uintptr_t range_end;
  if (!normalize(addr, size, range_end)) return error(Errno::einval);
  Node* node = floor(m_root, addr);
  if (node == nullptr || node->end < range_end) return error(Errno::eexist);
  return carve(node, addr, range_end);
}

Result<> VirtualRangeAllocator::free(uintptr_t addr, size_t size) {
  uintptr_t range_end;
  if (!normalize(addr, size, range_end)) return error(Errno::einval);
  Node* before = floor(m_root, addr);
  Node* next = after(m_root, addr);
  if (before != nullptr && before->end > addr) return error(Errno::einval);
  if (next != nullptr && next->begin < range_end) return error(Errno::einval);
  bool merge_before = before != nullptr && before->end == addr;
  bool merge_next = next != nullptr && next->begin == range_end;
  if (merge_before && merge_next) {
    uintptr_t next_end = next->end;
    m_root = erase(m_root, next->begin);
    m_nodes->free_node(next);
    m_range_count--;
    before->end = next_end;
    refresh(m_root, before->begin);
  } else if (merge_before) {
    before->end = range_end;
    refresh(m_root, before->begin);
  } else if (merge_next) {
    // Still after `before`, so the node keeps its place in the order.
    next->begin = addr;
    refresh(m_root, addr);
  } else {
    TRY(insert_node(addr, range_end));
  }
  m_free_bytes += range_end - addr;
  return {};
}

bool VirtualRangeAllocator::is_free(uintptr_t addr, size_t size) const {
  uintptr_t range_end;
  if (!normalize(addr, size, range_end)) return false;
  Node* node = floor(m_root, addr);
  return node != nullptr && node->end >= range_end;
}

bool VirtualRangeAllocator::normalize(uintptr_t addr, size_t size, uintptr_t& range_end) const {
  if (size == 0 || (addr & (kPageSize - 1)) != 0) return false;
  if (addr < m_begin || addr >= m_end || size > m_end - addr) return false;
  // The window ends on a page boundary, so rounding up cannot leave it.
  range_end = addr + ((size + kPageSize - 1) & ~(kPageSize - 1));
  return true;
}

Result<> VirtualRangeAllocator::insert_node(uintptr_t begin, uintptr_t end) {
  void* storage = TRY(m_nodes->allocate_node());
  m_root = insert(m_root, new (storage) Node{begin, end});
  m_range_count++;
  return {};
}

Result<> VirtualRangeAllocator::carve(Node* node, uintptr_t begin, uintptr_t end) {
  bool keep_before = begin > node->begin;
  bool keep_after = end < node->end;
  if (keep_before && keep_after) {
    // Insert the upper part first so a failure to get a node changes nothing; the overlap
    // until the next line does not upset the order, which is by start address.
    TRY(insert_node(end, node->end));
    node->end = begin;
    refresh(m_root, node->begin);
  } else if (keep_before) {
    node->end = begin;
    refresh(m_root, node->begin);
  } else if (keep_after) {
    node->begin = end;
    refresh(m_root, end);
  } else {
    m_root = erase(m_root, node->begin);
    m_nodes->free_node(node);
    m_range_count--;
  }
  m_free_bytes -= end - begin;
  return {};
}

void VirtualRangeAllocator::release_tree(Node* node) {
  if (node == nullptr) return;
  release_tree(node->left);
  release_tree(node->right);
  m_nodes->free_node(node);
}

}  // namespace nimbus
