// BlockCache: lookup by number in hash buckets, LRU eviction of unpinned blocks, and reads
// done outside the lock (a block being read is found "loading" and waited for).
#include "kernel/block/block_cache.h"

#include <new>

#include "kernel/block/block_io.h"
#include "kernel/lib/ref_ptr.h"

namespace nimbus::block {

CachedBlock& CachedBlock::operator=(CachedBlock&& other) {
  if (this != &other) {
    reset();
    m_cache = other.m_cache;
    m_entry = other.m_entry;
    other.m_entry = nullptr;
  }
  return *this;
}

std::span<const std::byte> CachedBlock::data() const { return {m_entry->data, m_cache->block_size()}; }

void CachedBlock::reset() {
  if (m_entry) m_cache->unpin(m_entry);
  m_entry = nullptr;
}

BlockCache::BlockCache(BlockDevice& device, uint32_t block_size, size_t capacity)
    : m_device(device),
      m_block_size(block_size),
      m_block_count(device.info().sector_count / (block_size / kSectorSize)),
      m_capacity(capacity) {}

BlockCache::~BlockCache() {
  // Every handle is gone by now: every entry is on the LRU list.
  while (Entry* entry = m_lru.pop_front()) {
    if (entry->hashed) bucket(entry->number).remove(entry);
    destroy(entry);
  }
}

void BlockCache::destroy(Entry* entry) {
  delete[] entry->data;
  delete entry;
  m_entry_count--;
}

BlockCache::Entry* BlockCache::find_locked(uint64_t number) {
  Bucket& list = bucket(number);
  for (Entry* entry = list.front(); entry; entry = list.next(entry))
    if (entry->number == number) return entry;
  return nullptr;
}

Result<BlockCache::Entry*> BlockCache::take_entry_locked() {
  if (m_entry_count >= m_capacity && !m_lru.empty()) {
    Entry* victim = m_lru.pop_front();
    if (victim->hashed) bucket(victim->number).remove(victim);
    victim->hashed = false;
    return victim;
  }
  auto* entry = new (kNoThrow) Entry;
  if (!entry) return error(Errno::enomem);
  entry->data = new (kNoThrow) std::byte[m_block_size];
  if (!entry->data) {
    delete entry;
    return error(Errno::enomem);
  }
  m_entry_count++;
  return entry;
}

Result<CachedBlock> BlockCache::get(uint64_t number) {
  if (number >= m_block_count) return error(Errno::einval);
  MutexGuard guard(m_lock);
  for (;;) {
    Entry* entry = find_locked(number);
    if (!entry) break;
    if (entry->loading) {
      m_loaded.wait(m_lock);
      continue;  // it may have failed and gone: look again
    }
    if (entry->pins++ == 0) m_lru.remove(entry);
    m_statistics.hits++;
    return CachedBlock(this, entry);
  }
  Entry* entry = TRY(take_entry_locked());
  entry->number = number;
  entry->pins = 1;
  entry->loading = true;
  entry->hashed = true;
  bucket(number).push_back(entry);
  m_statistics.misses++;
  uint32_t sectors = m_block_size / kSectorSize;
  m_lock.unlock();
  Result<> read = transfer(m_device, Operation::read, number * sectors, sectors, {entry->data, m_block_size});
  m_lock.lock();
  entry->loading = false;
  m_loaded.notify_all();
  if (!read) {
    bucket(number).remove(entry);
    entry->hashed = false;
    entry->pins = 0;
    m_lru.push_front(entry);  // reused first
    return error(read.error());
  }
  return CachedBlock(this, entry);
}

void BlockCache::unpin(Entry* entry) {
  MutexGuard guard(m_lock);
  if (--entry->pins) return;
  if (m_entry_count > m_capacity) {
    // Made while everything was pinned: not kept.
    if (entry->hashed) bucket(entry->number).remove(entry);
    destroy(entry);
    return;
  }
  m_lru.push_back(entry);
}

BlockCacheStatistics BlockCache::statistics() {
  MutexGuard guard(m_lock);
  return m_statistics;
}

}  // namespace nimbus::block
