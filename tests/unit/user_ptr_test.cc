// UserPtr<T>: program addresses that the kernel cannot dereference, only pass to the checked
// copies (kernel/linux/user_memory.h).
#include "kernel/linux/user_ptr.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace {

using nimbus::linux::UserPtr;

struct Pair {
  uint32_t a;
  uint64_t b;
};

template <typename P>
concept Dereferenceable = requires(P p) { *p; };
template <typename P>
concept HasArrow = requires(P p) { p.operator->(); };
template <typename P>
concept Indexable = requires(P p) { p[0]; };

// The point of the type: an unchecked access does not compile.
static_assert(!Dereferenceable<UserPtr<int>>);
static_assert(!HasArrow<UserPtr<Pair>>);
static_assert(!Indexable<UserPtr<char>>);
static_assert(!std::is_convertible_v<UserPtr<int>, int*>);
static_assert(!std::is_convertible_v<UserPtr<const int>, const int*>);
// Constness only ever grows: a read-only pointer cannot become a writable one.
static_assert(std::is_convertible_v<UserPtr<int>, UserPtr<const int>>);
static_assert(!std::is_convertible_v<UserPtr<const int>, UserPtr<int>>);
static_assert(std::is_convertible_v<UserPtr<Pair>, UserPtr<void>>);
static_assert(!std::is_convertible_v<UserPtr<const Pair>, UserPtr<void>>);
static_assert(!std::is_convertible_v<UserPtr<int>, UserPtr<long>>);

TEST(UserPtr, StepsByElementsAndKeepsTheAddress) {
  auto p = UserPtr<Pair>::from_address(0x1000);
  EXPECT_EQ(p.at(2).address(), 0x1000u + 2 * sizeof(Pair));
  EXPECT_EQ(UserPtr<void>(p).at(3).address(), 0x1003u);
  EXPECT_EQ(p.cast<uint64_t>().at(1).address(), 0x1008u);
  UserPtr<const void> erased = p;
  EXPECT_EQ(erased.address(), 0x1000u);
}

TEST(UserPtr, NullIsFalse) {
  UserPtr<int> null;
  EXPECT_FALSE(null);
  EXPECT_TRUE(null.is_null());
  EXPECT_TRUE(UserPtr<int>::from_address(4));
  UserPtr<const char> from_nullptr = nullptr;
  EXPECT_EQ(from_nullptr.address(), 0u);
}

}  // namespace
