// DirectoryTable: FNV-1a hashed buckets for lookup, a cookie-sorted array for readdir.
#include "kernel/fs/directory_table.h"

#include <cstring>
#include <new>

namespace nimbus::fs {
namespace {
constexpr size_t kInitialBuckets = 8;
// Removed entries leave holes in the cookie array; squeeze them out past this many.
constexpr size_t kCompactionThreshold = 32;
}  // namespace

DirectoryTable::~DirectoryTable() {
  for (Slot& slot : m_order) {
    if (slot.entry) {
      slot.entry->~Entry();
      ::operator delete(slot.entry);
    }
  }
  ::operator delete(m_buckets);
}

uint64_t DirectoryTable::hash_name(std::string_view name) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (char c : name) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 0x100000001b3ull;
  }
  return hash;
}

DirectoryTable::Entry* DirectoryTable::find(std::string_view name) const {
  if (!m_bucket_count) return nullptr;
  uint64_t hash = hash_name(name);
  for (Entry* entry = m_buckets[hash & (m_bucket_count - 1)]; entry; entry = entry->hash_next) {
    if (entry->hash == hash && entry->name() == name) return entry;
  }
  return nullptr;
}

DirectoryTable::Entry* DirectoryTable::find_node(const Vnode* node) const {
  for (const Slot& slot : m_order) {
    if (slot.entry && slot.entry->node.get() == node) return slot.entry;
  }
  return nullptr;
}

void DirectoryTable::grow_buckets() {
  size_t count = m_bucket_count * 2;
  auto* buckets = static_cast<Entry**>(::operator new(count * sizeof(Entry*), kNoThrow));
  // Without memory the chains just get longer.
  if (!buckets) return;
  memset(buckets, 0, count * sizeof(Entry*));
  for (size_t i = 0; i < m_bucket_count; i++) {
    for (Entry* entry = m_buckets[i]; entry;) {
      Entry* next = entry->hash_next;
      Entry*& head = buckets[entry->hash & (count - 1)];
      entry->hash_next = head;
      head = entry;
      entry = next;
    }
  }
  ::operator delete(m_buckets);
  m_buckets = buckets;
  m_bucket_count = count;
}

Result<DirectoryTable::Entry*> DirectoryTable::insert(std::string_view name, RefPtr<Vnode> node) {
  if (!m_buckets) {
    m_buckets = static_cast<Entry**>(::operator new(kInitialBuckets * sizeof(Entry*), kNoThrow));
    if (!m_buckets) return error(Errno::enomem);
    memset(m_buckets, 0, kInitialBuckets * sizeof(Entry*));
    m_bucket_count = kInitialBuckets;
  }
  TRY(m_order.reserve_one_more());
  void* memory = ::operator new(sizeof(Entry) + name.size(), kNoThrow);
  if (!memory) return error(Errno::enomem);
  auto* entry = new (memory) Entry;
  memcpy(reinterpret_cast<char*>(entry + 1), name.data(), name.size());
  entry->name_length = static_cast<uint16_t>(name.size());
  entry->hash = hash_name(name);
  entry->cookie = m_next_cookie++;
  entry->node = std::move(node);

  if (m_count >= m_bucket_count) grow_buckets();
  Entry*& head = m_buckets[entry->hash & (m_bucket_count - 1)];
  entry->hash_next = head;
  head = entry;
  m_count++;
  m_order.push_back_reserved(Slot{entry->cookie, entry});
  return entry;
}

RefPtr<Vnode> DirectoryTable::remove(Entry* entry) {
  for (Entry** link = &m_buckets[entry->hash & (m_bucket_count - 1)]; *link; link = &(*link)->hash_next) {
    if (*link == entry) {
      *link = entry->hash_next;
      break;
    }
  }
  m_count--;
  size_t index = lower_bound(entry->cookie);
  m_order[index].entry = nullptr;
  m_holes++;
  if (m_holes > kCompactionThreshold && m_holes > m_order.size() / 2) compact();

  RefPtr<Vnode> node = std::move(entry->node);
  entry->~Entry();
  ::operator delete(entry);
  return node;
}

size_t DirectoryTable::lower_bound(uint64_t cookie) const {
  size_t low = 0;
  size_t high = m_order.size();
  while (low < high) {
    size_t middle = low + (high - low) / 2;
    if (m_order[middle].cookie < cookie) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  return low;
}

void DirectoryTable::compact() {
  size_t kept = 0;
  for (size_t i = 0; i < m_order.size(); i++) {
    if (m_order[i].entry) m_order[kept++] = m_order[i];
  }
  m_order.truncate(kept);
  m_holes = 0;
}

}  // namespace nimbus::fs
