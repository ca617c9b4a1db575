// Tests for the kernel heap's size-class table and slab layout arithmetic.
#include "kernel/mm/size_classes.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace nimbus {
namespace {

int class_of_size(size_t size) {
  auto it = std::find(kSizeClasses.begin(), kSizeClasses.end(), size);
  return it == kSizeClasses.end() ? -1 : static_cast<int>(it - kSizeClasses.begin());
}

// Usable in constant expressions, so the kernel can pick classes for its types at compile time.
static_assert(size_class_for(0, 1) == 0);
static_assert(size_class_for(100, 16) == 5);
static_assert(size_class_for(4097, 16) == -1);
static_assert(default_slab_order(0) == 0);

TEST(SizeClasses, TableIsIncreasingMultiplesOfSixteenUpToAPage) {
  EXPECT_EQ(kSizeClasses.front(), 16u);
  EXPECT_EQ(kSizeClasses.back(), kLargestSizeClass);
  EXPECT_TRUE(std::is_sorted(kSizeClasses.begin(), kSizeClasses.end()));
  EXPECT_EQ(std::adjacent_find(kSizeClasses.begin(), kSizeClasses.end()), kSizeClasses.end());
  for (uint32_t size : kSizeClasses) EXPECT_EQ(size % 16, 0u) << size;
}

TEST(SizeClasses, AlignmentIsTheLargestPowerOfTwoDividingTheSize) {
  EXPECT_EQ(class_alignment(class_of_size(16)), 16u);
  EXPECT_EQ(class_alignment(class_of_size(48)), 16u);
  EXPECT_EQ(class_alignment(class_of_size(96)), 32u);
  EXPECT_EQ(class_alignment(class_of_size(384)), 128u);
  EXPECT_EQ(class_alignment(class_of_size(512)), 512u);
  EXPECT_EQ(class_alignment(class_of_size(3072)), 1024u);
  EXPECT_EQ(class_alignment(class_of_size(4096)), 4096u);
}

TEST(SizeClasses, SizeClassForPicksTheSmallestClassThatFitsSizeAndAlignment) {
  for (size_t size = 0; size <= kLargestSizeClass + 1; size++) {
    for (size_t align : {0ul, 1ul, 2ul, 8ul, 16ul, 32ul, 64ul, 128ul, 256ul, 512ul, 1024ul, 2048ul,
                         4096ul, 8192ul}) {
      int expected = -1;
      for (int c = 0; c < kSizeClassCount; c++) {
        if (class_size(c) >= size && class_alignment(c) >= align) {
          expected = c;
          break;
        }
      }
      ASSERT_EQ(size_class_for(size, align), expected) << "size " << size << " align " << align;
    }
  }
  EXPECT_EQ(size_class_for(SIZE_MAX, 16), -1);
  EXPECT_EQ(size_class_for(16, SIZE_MAX), -1);
  // A 100-byte object that must be 256-aligned lands in the 256 class.
  EXPECT_EQ(class_size(size_class_for(100, 256)), 256u);
}

TEST(SizeClasses, ObjectsFitInsideTheirSlabAfterTheHeader) {
  EXPECT_EQ(objects_per_slab(class_of_size(16), 0), (4096u - 64) / 16);
  EXPECT_EQ(objects_per_slab(class_of_size(128), 0), (4096u - 128) / 128);
  EXPECT_EQ(objects_per_slab(class_of_size(4096), 0), 0u);
  EXPECT_EQ(objects_per_slab(class_of_size(4096), 3), 7u);
  for (int c = 0; c < kSizeClassCount; c++) {
    EXPECT_GE(first_object_offset(c), kSlabHeaderBytes);
    EXPECT_EQ(first_object_offset(c) % class_alignment(c), 0u);
    for (unsigned order = 0; order <= kMaxSlabOrder; order++) {
      size_t count = objects_per_slab(c, order);
      EXPECT_LE(first_object_offset(c) + count * class_size(c), kSlabFrameBytes << order);
      EXPECT_GT(first_object_offset(c) + (count + 1) * class_size(c), kSlabFrameBytes << order);
    }
  }
}

TEST(SizeClasses, DefaultSlabOrderIsTheSmallestWastingAtMostAnEighth) {
  auto waste_ok = [](int c, unsigned order) {
    size_t bytes = kSlabFrameBytes << order;
    return (bytes - objects_per_slab(c, order) * class_size(c)) * 8 <= bytes;
  };
  for (int c = 0; c < kSizeClassCount; c++) {
    unsigned order = default_slab_order(c);
    EXPECT_TRUE(waste_ok(c, order)) << class_size(c);
    for (unsigned smaller = 0; smaller < order; smaller++) EXPECT_FALSE(waste_ok(c, smaller));
    EXPECT_GE(objects_per_slab(c, order), 5u) << class_size(c);
  }
  EXPECT_EQ(default_slab_order(class_of_size(768)), 0u);
  EXPECT_EQ(default_slab_order(class_of_size(1024)), 1u);
  EXPECT_EQ(default_slab_order(class_of_size(3072)), 2u);
  EXPECT_EQ(default_slab_order(class_of_size(4096)), 3u);
}

}  // namespace
}  // namespace nimbus
