// BlockCache: a bounded cache of one device's blocks (the file system's block size), read on
// demand and evicted least recently used first. File systems read metadata and, until the
// page cache exists, file data through it.
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
  ListNode bucket_node;
  ListNode lru_node;  // linked while unpinned
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
  uint64_t number() const { return m_entry->number; }
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

  BlockDevice& m_device;
  uint32_t m_block_size;
  uint64_t m_block_count;
  size_t m_capacity;
  Mutex m_lock;  // guards everything below; never held across a device read
  ConditionVariable m_loaded;  // an entry finished loading
  size_t m_entry_count = 0;
  Bucket m_buckets[kBuckets];
  IntrusiveList<Entry, &Entry::lru_node> m_lru;  // unpinned entries, oldest first
  BlockCacheStatistics m_statistics;
};

}  // namespace nimbus::block
