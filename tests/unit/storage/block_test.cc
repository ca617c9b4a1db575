// The block layer: request checks, batching of adjacent requests, synchronous transfers and
// the block cache, over a fake device.
#include <gtest/gtest.h>

#include <vector>

#include "kernel/block/block_cache.h"
#include "kernel/block/block_io.h"
#include "kernel/block/pending_requests.h"
#include "tests/unit/fakes/fake_block_device.h"

namespace nimbus::block {
namespace {

using testing::FakeBlockDevice;

Request make(Operation operation, uint64_t sector, uint32_t count) {
  Request request;
  request.operation = operation;
  request.sector = sector;
  request.sector_count = count;
  return request;
}

TEST(BlockCheck, RefusesWhatTheDeviceCannotDo) {
  DeviceInfo info;
  info.sector_count = 100;
  info.logical_block_size = 4096;
  std::byte buffer[4096 * 2];
  Request read = make(Operation::read, 8, 8);
  read.buffer = buffer;
  EXPECT_TRUE(check(info, read));
  Request past_end = make(Operation::read, 96, 8);
  past_end.buffer = buffer;
  EXPECT_EQ(check(info, past_end).error(), Errno::einval);
  Request unaligned = make(Operation::read, 3, 8);
  unaligned.buffer = buffer;
  EXPECT_EQ(check(info, unaligned).error(), Errno::einval);
  Request overflow = make(Operation::read, UINT64_MAX - 2, 8);
  overflow.buffer = buffer;
  EXPECT_EQ(check(info, overflow).error(), Errno::einval);
  Request no_buffer = make(Operation::write, 0, 8);
  EXPECT_EQ(check(info, no_buffer).error(), Errno::einval);
  EXPECT_EQ(check(info, make(Operation::discard, 0, 8)).error(), Errno::eopnotsupp);
  info.read_only = true;
  Request write = make(Operation::write, 0, 8);
  write.buffer = buffer;
  EXPECT_EQ(check(info, write).error(), Errno::erofs);
  EXPECT_EQ(check(info, make(Operation::flush, 0, 0)).error(), Errno::erofs);
}

TEST(PendingRequests, BatchesRequestsThatContinueEachOther) {
  PendingRequests pending;
  Request a = make(Operation::read, 100, 8), b = make(Operation::read, 116, 8), c = make(Operation::read, 108, 8),
          d = make(Operation::write, 124, 8), e = make(Operation::read, 124, 8);
  for (Request* r : {&a, &b, &c, &d, &e}) pending.push(*r);
  Request* batch[8];
  // a, then c (108) found out of order, then b (116), then e (124, a read: d is a write).
  ASSERT_EQ(pending.take_batch(batch, 0), 4u);
  EXPECT_EQ(batch[0], &a);
  EXPECT_EQ(batch[1], &c);
  EXPECT_EQ(batch[2], &b);
  EXPECT_EQ(batch[3], &e);
  ASSERT_EQ(pending.take_batch(batch, 0), 1u);
  EXPECT_EQ(batch[0], &d);
  EXPECT_TRUE(pending.empty());
  EXPECT_EQ(pending.take_batch(batch, 0), 0u);
}

TEST(PendingRequests, RespectsTheSegmentAndSectorLimits) {
  PendingRequests pending;
  Request r[6];
  for (int i = 0; i < 6; i++) {
    r[i] = make(Operation::read, 8u * i, 8);
    pending.push(r[i]);
  }
  Request* batch[8];
  EXPECT_EQ(pending.take_batch({batch, 2}, 0), 2u);  // two segments
  EXPECT_EQ(pending.take_batch(batch, 16), 2u);      // 16 sectors
  EXPECT_EQ(pending.take_batch(batch, 16), 2u);
  Request flush1 = make(Operation::flush, 0, 0), flush2 = make(Operation::flush, 0, 0);
  pending.push(flush1);
  pending.push(flush2);
  EXPECT_EQ(pending.take_batch(batch, 0), 1u);  // flushes never merge
}

std::vector<std::byte> pattern(size_t size) {
  std::vector<std::byte> bytes(size);
  for (size_t i = 0; i < size; i++) bytes[i] = static_cast<std::byte>(i * 7 + i / 512);
  return bytes;
}

TEST(BlockTransfer, ReadsWritesAndReportsErrors) {
  FakeBlockDevice device(pattern(64 * 512), false);
  std::vector<std::byte> buffer(1024);
  ASSERT_TRUE(transfer(device, Operation::read, 2, 2, buffer));
  EXPECT_EQ(memcmp(buffer.data(), device.bytes().data() + 1024, 1024), 0);
  std::fill(buffer.begin(), buffer.end(), std::byte{0x5a});
  ASSERT_TRUE(transfer(device, Operation::write, 10, 2, buffer));
  EXPECT_EQ(device.bytes()[10 * 512], std::byte{0x5a});
  ASSERT_TRUE(transfer(device, Operation::flush, 0, 0));
  EXPECT_EQ(device.flushes(), 1u);
  EXPECT_EQ(transfer(device, Operation::read, 63, 2, buffer).error(), Errno::einval);
  EXPECT_EQ(transfer(device, Operation::read, 0, 4, buffer).error(), Errno::einval);  // buffer too small
  device.set_fail_reads(true);
  EXPECT_EQ(transfer(device, Operation::read, 0, 2, buffer).error(), Errno::eio);
}

TEST(BlockCache, HitsEvictsLeastRecentlyUsedAndKeepsPinnedBlocks) {
  FakeBlockDevice device(pattern(64 * 1024));
  BlockCache cache(device, 1024, 4);
  EXPECT_EQ(cache.block_count(), 64u);
  {
    auto block = cache.get(3);
    ASSERT_TRUE(block);
    EXPECT_EQ(memcmp(block->data().data(), device.bytes().data() + 3 * 1024, 1024), 0);
    EXPECT_EQ(block->number(), 3u);
  }
  ASSERT_TRUE(cache.get(3));
  EXPECT_EQ(cache.statistics().hits, 1u);
  EXPECT_EQ(device.reads(), 1u);
  for (uint64_t n : {10, 11, 12, 13}) ASSERT_TRUE(cache.get(n));  // evicts 3, the oldest
  ASSERT_TRUE(cache.get(13));
  EXPECT_EQ(device.reads(), 5u);
  ASSERT_TRUE(cache.get(3));
  EXPECT_EQ(device.reads(), 6u);
  // Six pinned blocks in a cache of four: all valid at once.
  std::vector<CachedBlock> pinned;
  for (uint64_t n = 20; n < 26; n++) pinned.push_back(std::move(*cache.get(n)));
  for (uint64_t n = 20; n < 26; n++)
    EXPECT_EQ(memcmp(pinned[n - 20].data().data(), device.bytes().data() + n * 1024, 1024), 0);
  pinned.clear();
  EXPECT_EQ(cache.get(64).error(), Errno::einval);
  device.set_fail_reads(true);
  EXPECT_EQ(cache.get(40).error(), Errno::eio);
  device.set_fail_reads(false);
  EXPECT_TRUE(cache.get(40));  // a failed read is not cached
}

}  // namespace
}  // namespace nimbus::block
