// BlockCache: a bounded cache of one device's blocks (the file system's block size), read on
// demand and evicted least recently used first; blocks changed in it stay (dirty) until
// write_back() writes them. File systems read and write metadata and, until the page cache
// exists, file data through it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/block/block_device.h"
#include "kernel/lib/intrusive_list.h"
#include "kernel/lib/result.h"
#include "kernel/sync/mutex.h"

namespace nimbus::block {

class BlockCache;

struct BlockCacheEntry {
  uint64_t number = 0;
  std::byte* data = nullptr;
  uint32_t pins = 0;
  bool loading = false;  // a thread reads it from the device (others wait)
  bool hashed = false;   // findable by number
  bool dirty = false;    // changed since it was read or last written back
  // File data (ordered mode: written in place before the journal commit that maps it,
  // never logged) rather than metadata (logged by the journal, then written in place).
  bool file_data = false;
  ListNode bucket_node;
  ListNode lru_node;  // while unpinned: on the LRU list when clean, on the dirty list when dirty
};

// A cached block, pinned (never evicted) while a handle holds it.
class CachedBlock {
 public:
  CachedBlock() = default;
  CachedBlock(CachedBlock&& other) : m_cache(other.m_cache), m_entry(other.m_entry) { other.m_entry = nullptr; }
  CachedBlock& operator=(CachedBlock&& other);
  CachedBlock(const CachedBlock&) = delete;
  CachedBlock& operator=(const CachedBlock&) = delete;
  ~CachedBlock() { reset(); }

  std::span<const std::byte> data() const;
  // The bytes to change; whoever changes them calls mark_dirty() (under the file system's
  // own lock: the cache does not order concurrent writers of one block).
  std::span<std::byte> mutable_data() const;
  void mark_dirty();
  // The same for a block of file data (see BlockCacheEntry::file_data).
  void mark_dirty_data();
  uint64_t number() const { return m_entry->number; }
  explicit operator bool() const { return m_entry != nullptr; }
  void reset();

 private:
  friend class BlockCache;
  CachedBlock(BlockCache* cache, BlockCacheEntry* entry) : m_cache(cache), m_entry(entry) {}
  BlockCache* m_cache = nullptr;
  BlockCacheEntry* m_entry = nullptr;
};

struct BlockCacheStatistics {
  uint64_t hits = 0;
  uint64_t misses = 0;  // each one a device read
  uint64_t writes = 0;  // blocks written back
};

class BlockCache {
 public:
  // `block_size`: a power of two, a multiple of the device's logical block size. `capacity`:
  // how many blocks it keeps (more are made while all are pinned, and freed when unpinned).
  BlockCache(BlockDevice& device, uint32_t block_size, size_t capacity);
  ~BlockCache();
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  uint32_t block_size() const { return m_block_size; }
  uint64_t block_count() const { return m_block_count; }
  // Block `number`, read from the device unless cached. EINVAL past the end of the device,
  // the device's error (EIO) when the read fails, ENOMEM.
  Result<CachedBlock> get(uint64_t number);
  // Block `number` with its bytes zeroed and marked dirty, without reading the device: for a
  // block about to be wholly rewritten (a newly allocated one).
  Result<CachedBlock> get_zeroed(uint64_t number, bool data = false);
  // Writes every dirty block (adjacent ones travel as one request), then, with
  // `flush_device`, empties the device's volatile cache: the data is durable on return.
  // The first error is returned; blocks that failed stay dirty.
  // `which` limits it to the blocks of file data (the first step of a journal commit).
  enum class Durability : uint8_t { written, flushed };
  enum class Which : uint8_t { all, data };
  Result<> write_back(Durability durability, Which which = Which::all);
  // The numbers of up to `max` unpinned dirty metadata blocks (what a journal commit logs),
  // in no particular order; how many there are in all.
  size_t dirty_metadata(uint64_t* numbers, size_t max);
  // How many blocks are dirty (the file system writes back before the cache grows too big).
  size_t dirty_count();
  // Forgets a cached block (a freed one whose stale contents must not be written back).
  void forget(uint64_t number);
  BlockCacheStatistics statistics();

 private:
  friend class CachedBlock;
  using Entry = BlockCacheEntry;
  using Bucket = IntrusiveList<Entry, &Entry::bucket_node>;
  static constexpr size_t kBuckets = 256;

  Bucket& bucket(uint64_t number) { return m_buckets[number % kBuckets]; }
  Entry* find_locked(uint64_t number);
  // An entry to fill: a new one while below capacity (or all are pinned), else the least
  // recently used unpinned one, unhashed.
  Result<Entry*> take_entry_locked();
  void destroy(Entry* entry);
  void unpin(Entry* entry);
  void mark_dirty(Entry* entry, bool data);
  // Finds or makes the entry for `number`, pinned; `*fresh` when it was made (and still
  // needs its bytes).
  Result<Entry*> pin_locked(uint64_t number, bool* fresh);

  BlockDevice& m_device;
  uint32_t m_block_size;
  uint64_t m_block_count;
  size_t m_capacity;
  Mutex m_lock;  // guards everything below; never held across a device read
  ConditionVariable m_loaded;  // an entry finished loading
  size_t m_entry_count = 0;
  Bucket m_buckets[kBuckets];
  IntrusiveList<Entry, &Entry::lru_node> m_lru;    // unpinned clean entries, oldest first
  IntrusiveList<Entry, &Entry::lru_node> m_dirty;  // unpinned dirty entries (never evicted)
  size_t m_dirty_count = 0;                        // dirty entries, pinned or not
  BlockCacheStatistics m_statistics;
};

}  // namespace nimbus::block
