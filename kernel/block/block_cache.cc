// BlockCache: lookup by number in hash buckets, LRU eviction of unpinned blocks, and reads
// done outside the lock (a block being read is found "loading" and waited for).
#include "kernel/block/block_cache.h"

#include <cstring>
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
std::span<std::byte> CachedBlock::mutable_data() const { return {m_entry->data, m_cache->block_size()}; }
void CachedBlock::mark_dirty() { m_cache->mark_dirty(m_entry, false); }
void CachedBlock::mark_dirty_data() { m_cache->mark_dirty(m_entry, true); }

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
  // Every handle is gone by now: every entry is on the LRU or the dirty list (whose changes
  // are lost unless the owner wrote them back).
  while (Entry* entry = m_dirty.pop_front()) {
    if (entry->hashed) bucket(entry->number).remove(entry);
    destroy(entry);
  }
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

Result<BlockCache::Entry*> BlockCache::pin_locked(uint64_t number, bool* fresh) {
  for (;;) {
    Entry* entry = find_locked(number);
    if (!entry) break;
    if (entry->loading) {
      m_loaded.wait(m_lock);
      continue;  // it may have failed and gone: look again
    }
    if (entry->pins++ == 0) (entry->dirty ? m_dirty : m_lru).remove(entry);
    m_statistics.hits++;
    *fresh = false;
    return entry;
  }
  Entry* entry = TRY(take_entry_locked());
  entry->number = number;
  entry->pins = 1;
  entry->dirty = false;
  entry->file_data = false;
  entry->hashed = true;
  bucket(number).push_back(entry);
  *fresh = true;
  return entry;
}

Result<CachedBlock> BlockCache::get(uint64_t number) {
  if (number >= m_block_count) return error(Errno::einval);
  MutexGuard guard(m_lock);
  bool fresh = false;
  Entry* entry = TRY(pin_locked(number, &fresh));
  if (!fresh) return CachedBlock(this, entry);
  entry->loading = true;
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

Result<CachedBlock> BlockCache::get_zeroed(uint64_t number, bool data) {
  if (number >= m_block_count) return error(Errno::einval);
  MutexGuard guard(m_lock);
  bool fresh = false;
  Entry* entry = TRY(pin_locked(number, &fresh));
  memset(entry->data, 0, m_block_size);
  entry->file_data = data;
  if (!entry->dirty) {
    entry->dirty = true;
    m_dirty_count++;
  }
  return CachedBlock(this, entry);
}

void BlockCache::mark_dirty(Entry* entry, bool data) {
  MutexGuard guard(m_lock);
  entry->file_data = data;  // the last use decides (a freed block may come back as the other kind)
  if (entry->dirty) return;
  entry->dirty = true;  // pinned by the caller: it joins the dirty list when unpinned
  m_dirty_count++;
}

size_t BlockCache::dirty_count() {
  MutexGuard guard(m_lock);
  return m_dirty_count;
}

void BlockCache::forget(uint64_t number) {
  MutexGuard guard(m_lock);
  Entry* entry = find_locked(number);
  if (!entry || entry->loading || entry->pins) return;  // a pinned one is its holder's to finish
  (entry->dirty ? m_dirty : m_lru).remove(entry);
  if (entry->dirty) m_dirty_count--;
  entry->dirty = false;
  bucket(number).remove(entry);
  entry->hashed = false;
  m_lru.push_front(entry);
}

namespace {

struct WriteBatch {
  Semaphore done{0};
};

void insertion_sort(BlockCacheEntry** entries, size_t count) {
  for (size_t i = 1; i < count; i++) {
    BlockCacheEntry* moving = entries[i];
    size_t j = i;
    for (; j > 0 && entries[j - 1]->number > moving->number; j--) entries[j] = entries[j - 1];
    entries[j] = moving;
  }
}

}  // namespace

size_t BlockCache::dirty_metadata(uint64_t* numbers, size_t max) {
  MutexGuard guard(m_lock);
  size_t count = 0;
  for (Entry* e = m_dirty.front(); e; e = m_dirty.next(e)) {
    if (e->file_data) continue;
    if (count < max) numbers[count] = e->number;
    count++;
  }
  return count;
}

Result<> BlockCache::write_back(Durability durability, Which which) {
  // Take the dirty entries (pinned, so they stay while written), write them in block order
  // with the lock dropped, then put them back clean (or dirty again when a write failed).
  size_t count = 0;
  BlockCacheEntry** entries = nullptr;
  {
    MutexGuard guard(m_lock);
    size_t unpinned = 0;
    for (Entry* e = m_dirty.front(); e; e = m_dirty.next(e)) unpinned++;
    if (unpinned) {
      entries = new (kNoThrow) BlockCacheEntry*[unpinned];
      if (!entries) return error(Errno::enomem);
      for (Entry* entry = m_dirty.front(); entry;) {
        Entry* next = m_dirty.next(entry);
        if (which == Which::data && !entry->file_data) {
          entry = next;
          continue;
        }
        m_dirty.remove(entry);
        entry->pins++;
        entry->dirty = false;
        m_dirty_count--;
        entries[count++] = entry;
        entry = next;
      }
    }
  }
  Result<> result;
  if (count) {
    insertion_sort(entries, count);
    auto* requests = new (kNoThrow) Request[count];
    if (!requests) {
      result = error(Errno::enomem);
    } else {
      WriteBatch batch;
      RequestList list;
      uint32_t sectors = m_block_size / kSectorSize;
      for (size_t i = 0; i < count; i++) {
        Request& request = requests[i];
        request.operation = Operation::write;
        request.sector = entries[i]->number * sectors;
        request.sector_count = sectors;
        request.buffer = entries[i]->data;
        request.context = &batch;
        request.on_complete = [](Request& finished) { static_cast<WriteBatch*>(finished.context)->done.release(); };
        list.push_back(&request);
      }
      m_device.submit_all(list);
      for (size_t i = 0; i < count; i++) batch.done.acquire();
      MutexGuard guard(m_lock);
      for (size_t i = 0; i < count; i++) {
        if (requests[i].result) {
          m_statistics.writes++;
          continue;
        }
        if (result) result = requests[i].result;
        if (!entries[i]->dirty) {
          entries[i]->dirty = true;
          m_dirty_count++;
        }
      }
      delete[] requests;
    }
    if (!requests) {
      MutexGuard guard(m_lock);
      for (size_t i = 0; i < count; i++)
        if (!entries[i]->dirty) entries[i]->dirty = true, m_dirty_count++;
    }
    for (size_t i = 0; i < count; i++) unpin(entries[i]);
    delete[] entries;
  }
  TRY(result);
  if (durability == Durability::flushed && m_device.info().flush) TRY(transfer(m_device, Operation::flush, 0, 0));
  return {};
}

void BlockCache::unpin(Entry* entry) {
  MutexGuard guard(m_lock);
  if (--entry->pins) return;
  if (entry->dirty) {
    m_dirty.push_back(entry);  // kept until written back, however full the cache is
    return;
  }
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
