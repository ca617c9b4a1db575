// A doubly linked intrusive list: nodes live inside the objects, so linking never allocates.
#pragma once

#include <cstddef>

namespace nimbus {

struct ListNode {
  ListNode* prev = nullptr;
  ListNode* next = nullptr;
  bool is_linked() const { return next != nullptr; }
};

// T must have a `ListNode Member` field; the list does not own its elements.
template <typename T, ListNode T::*Member>
class IntrusiveList {
 public:
  IntrusiveList() { m_head.prev = m_head.next = &m_head; }
  IntrusiveList(const IntrusiveList&) = delete;
  IntrusiveList& operator=(const IntrusiveList&) = delete;

  bool empty() const { return m_head.next == &m_head; }
  size_t size() const { return m_size; }

  void push_back(T* item) { insert_before(&m_head, &(item->*Member)); }
  void push_front(T* item) { insert_before(m_head.next, &(item->*Member)); }
  // Inserts item before `position` (which must be in this list), or at the end for nullptr.
  void insert_before(T* position, T* item) {
    insert_before(position ? &(position->*Member) : &m_head, &(item->*Member));
  }

  T* front() const { return empty() ? nullptr : owner(m_head.next); }
  T* back() const { return empty() ? nullptr : owner(m_head.prev); }
  T* next(T* item) const {
    ListNode* n = (item->*Member).next;
    return n == &m_head ? nullptr : owner(n);
  }

  T* prev(T* item) const {
    ListNode* p = (item->*Member).prev;
    return p == &m_head ? nullptr : owner(p);
  }

  T* pop_front() {
    T* item = front();
    if (item) remove(item);
    return item;
  }
  void remove(T* item) {
    ListNode* node = &(item->*Member);
    node->prev->next = node->next;
    node->next->prev = node->prev;
    node->prev = node->next = nullptr;
    m_size--;
  }

 private:
  static T* owner(ListNode* node) {
    // The offset of the member inside T, computed without a real object.
    size_t offset = reinterpret_cast<size_t>(&(reinterpret_cast<T*>(0x1000)->*Member)) - 0x1000;
    return reinterpret_cast<T*>(reinterpret_cast<char*>(node) - offset);
  }
  void insert_before(ListNode* position, ListNode* node) {
    node->next = position;
    node->prev = position->prev;
    position->prev->next = node;
    position->prev = node;
    m_size++;
  }

  ListNode m_head;
  size_t m_size = 0;
};

}  // namespace nimbus
