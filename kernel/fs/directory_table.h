// DirectoryTable: a directory's entries, found by name through a hash table and listed in
// creation order by cookie, so readdir positions survive concurrent removals.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kernel/fs/growable_array.h"
#include "kernel/fs/vnode.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/lib/result.h"

namespace nimbus::fs {

// Not locked: the owning file system's namespace lock covers it.
class DirectoryTable {
 public:
  // Cookies 0 and 1 are "." and ".."; entries count up from 2 and are never reused.
  static constexpr uint64_t kFirstCookie = 2;

  struct Entry {
    Entry* hash_next = nullptr;
    uint64_t hash = 0;
    uint64_t cookie = 0;
    RefPtr<Vnode> node;
    uint16_t name_length = 0;
    // The name follows the structure in the same allocation.
    std::string_view name() const {
      return {reinterpret_cast<const char*>(this + 1), name_length};
    }
  };

  DirectoryTable() = default;
  DirectoryTable(const DirectoryTable&) = delete;
  DirectoryTable& operator=(const DirectoryTable&) = delete;
  ~DirectoryTable();

  size_t size() const { return m_count; }
  Entry* find(std::string_view name) const;
  // The first entry linking `node` (a linear scan: for getcwd only).
  Entry* find_node(const Vnode* node) const;

  // Adds `name` -> `node`. Errno::enomem leaves the table unchanged. The caller checked
  // that the name is free.
  Result<Entry*> insert(std::string_view name, RefPtr<Vnode> node);
  // Unlinks and frees the entry, handing back its node reference.
  RefPtr<Vnode> remove(Entry* entry);

  // Calls `visit(entry)` for entries with cookie >= `from`, in cookie order, until it
  // returns false.
  template <typename Visit>
  void for_each_from(uint64_t from, Visit&& visit) const {
    for (size_t i = lower_bound(from); i < m_order.size(); i++) {
      if (m_order[i].entry && !visit(*m_order[i].entry)) return;
    }
  }

 private:
  struct Slot {
    uint64_t cookie;
    Entry* entry;  // nullptr once removed, until compaction
  };

  static uint64_t hash_name(std::string_view name);
  size_t lower_bound(uint64_t cookie) const;
  void grow_buckets();
  void compact();

  Entry** m_buckets = nullptr;
  size_t m_bucket_count = 0;  // a power of two, or 0 before the first insert
  size_t m_count = 0;
  GrowableArray<Slot> m_order;
  size_t m_holes = 0;
  uint64_t m_next_cookie = kFirstCookie;
};

}  // namespace nimbus::fs
