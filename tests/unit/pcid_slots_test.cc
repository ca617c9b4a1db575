// Unit tests for one CPU's PCID slots: which PCID a space gets, and when its entries must go.
#include "kernel/arch/x86_64/pcid_slots.h"

#include <gtest/gtest.h>

#include <set>

namespace nimbus::tlb {
namespace {

using Flush = PcidSlots::Flush;

TEST(PcidSlots, ASpaceLoadedAgainUpToDateKeepsItsPcidAndEntries) {
  PcidSlots slots(true);
  auto first = slots.choose(7, 0);
  EXPECT_NE(first.pcid, 0);  // PCID 0 is the kernel's tables
  EXPECT_TRUE(first.flush);  // a PCID newly lent may hold another space's entries
  slots.choose(8, 0);
  auto again = slots.choose(7, 0);
  EXPECT_EQ(again.pcid, first.pcid);
  EXPECT_FALSE(again.flush);
}

TEST(PcidSlots, ASpaceThatWasFlushedWhileAwayIsFlushedOnReturn) {
  PcidSlots slots(true);
  auto first = slots.choose(7, 3);
  slots.choose(8, 0);
  auto back = slots.choose(7, 4);  // a flush happened while space 8 was loaded
  EXPECT_EQ(back.pcid, first.pcid);
  EXPECT_TRUE(back.flush);
  EXPECT_FALSE(slots.choose(7, 4).flush);
}

TEST(PcidSlots, EverySpaceGetsItsOwnPcidUntilTheyRunOut) {
  PcidSlots slots(true);
  std::set<uint16_t> pcids;
  for (uint64_t id = 1; id <= PcidSlots::kCount; id++) pcids.insert(slots.choose(id, 0).pcid);
  EXPECT_EQ(pcids.size(), PcidSlots::kCount);
  EXPECT_EQ(*pcids.begin(), 1);
  EXPECT_EQ(*pcids.rbegin(), PcidSlots::kCount);
  for (uint64_t id = 1; id <= PcidSlots::kCount; id++) EXPECT_FALSE(slots.choose(id, 0).flush);
}

TEST(PcidSlots, TheLeastRecentlyUsedPcidIsLentAndFlushed) {
  PcidSlots slots(true);
  uint16_t pcid_of_1 = slots.choose(1, 0).pcid;
  uint16_t pcid_of_2 = slots.choose(2, 0).pcid;
  for (uint64_t id = 3; id <= PcidSlots::kCount; id++) slots.choose(id, 0);
  slots.choose(1, 0);  // 1 is used again: 2 is now the oldest
  auto newcomer = slots.choose(100, 0);
  EXPECT_EQ(newcomer.pcid, pcid_of_2);
  EXPECT_TRUE(newcomer.flush);
  auto one = slots.choose(1, 0);
  EXPECT_EQ(one.pcid, pcid_of_1);
  EXPECT_FALSE(one.flush);
  auto two = slots.choose(2, 0);  // its PCID went to space 100: it gets one afresh
  EXPECT_TRUE(two.flush);
}

TEST(PcidSlots, WithoutPcidsEveryLoadFlushesWithPcidZero) {
  PcidSlots slots(false);
  for (int i = 0; i < 3; i++) {
    auto choice = slots.choose(7, 0);
    EXPECT_EQ(choice.pcid, 0);
    EXPECT_TRUE(choice.flush);
  }
}

TEST(PcidSlots, TheNextRequestFlushesItsRangeOnly) {
  PcidSlots slots(true);
  slots.choose(7, 5);
  EXPECT_EQ(slots.on_request(6, 6), Flush::range);
  EXPECT_EQ(slots.on_request(7, 8), Flush::range);  // a later one is on its way
  EXPECT_EQ(slots.on_request(8, 8), Flush::range);
  EXPECT_FALSE(slots.choose(7, 8).flush);
}

TEST(PcidSlots, AMissedRequestFlushesEverythingUpToNow) {
  PcidSlots slots(true);
  slots.choose(7, 5);
  // Requests 6 and 7 come in the wrong order: 7 cannot know what 6 changed.
  EXPECT_EQ(slots.on_request(7, 7), Flush::all);
  EXPECT_EQ(slots.on_request(6, 7), Flush::none);
  EXPECT_FALSE(slots.choose(7, 7).flush);
}

TEST(PcidSlots, ARequestAlreadyCoveredByTheLoadFlushesNothing) {
  PcidSlots slots(true);
  // The load read generation 6 (and flushed for it) before the request made at 6 arrived.
  slots.choose(7, 5);
  slots.choose(8, 0);
  EXPECT_TRUE(slots.choose(7, 6).flush);
  EXPECT_EQ(slots.on_request(6, 6), Flush::none);
}

TEST(PcidSlots, WithoutPcidsRequestsFollowTheLoadedSpace) {
  PcidSlots slots(false);
  slots.choose(7, 2);
  EXPECT_EQ(slots.on_request(3, 3), Flush::range);
  EXPECT_EQ(slots.on_request(5, 5), Flush::all);
}

}  // namespace
}  // namespace nimbus::tlb
