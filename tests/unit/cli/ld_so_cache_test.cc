// Tests of LdSoCache: the host's /etc/ld.so.cache, and hand-made caches in both layouts.
#include "ld_so_cache.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>

namespace {

std::span<const std::byte> bytes_of(const std::string& text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

template <typename T>
void put(std::string& out, std::size_t at, T value) {
  if (out.size() < at + sizeof value) out.resize(at + sizeof value, '\0');
  std::memcpy(out.data() + at, &value, sizeof value);
}

struct CacheEntry {
  std::int32_t flags;
  std::string key;
  std::string value;
  std::uint64_t hwcap = 0;
};

// The "glibc-ld.so.cache1.1" layout, optionally behind an old "ld.so-1.7.0" table.
std::string make_cache(const std::vector<CacheEntry>& entries, bool old_table_first = false) {
  std::string table = "glibc-ld.so.cache1.1";
  put<std::uint32_t>(table, 20, static_cast<std::uint32_t>(entries.size()));
  std::size_t strings_at = 48 + 24 * entries.size();
  std::string strings;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    std::size_t at = 48 + 24 * i;
    put<std::int32_t>(table, at, entries[i].flags);
    put<std::uint32_t>(table, at + 4, static_cast<std::uint32_t>(strings_at + strings.size()));
    strings += entries[i].key + '\0';
    put<std::uint32_t>(table, at + 8, static_cast<std::uint32_t>(strings_at + strings.size()));
    strings += entries[i].value + '\0';
    put<std::uint64_t>(table, at + 16, entries[i].hwcap);
  }
  table.resize(strings_at);
  table += strings;
  if (!old_table_first) return table;
  std::string old = "ld.so-1.7.0";
  put<std::uint32_t>(old, 12, 2);  // two 12-byte entries, contents unused here
  old.resize(16 + 2 * 12);
  old.resize((old.size() + 7) & ~std::size_t{7}, '\0');
  return old + table;
}

TEST(LdSoCache, HostCacheFindsLibc) {
  struct stat st {};
  if (::stat(LdSoCache::kDefaultPath, &st) != 0) GTEST_SKIP() << "no /etc/ld.so.cache";
  LdSoCache cache = LdSoCache::load();
  EXPECT_GT(cache.size(), 0u);
  auto libc = cache.find("libc.so.6");
  ASSERT_TRUE(libc.has_value());
  EXPECT_TRUE(libc->ends_with("/libc.so.6")) << *libc;
  EXPECT_EQ(::stat(libc->c_str(), &st), 0) << *libc;
  EXPECT_FALSE(cache.find("libdoesnotexist.so.42").has_value());
}

TEST(LdSoCache, TakesOnlyBaselineX86_64Entries) {
  std::string bytes = make_cache({
      {0x0303, "libz.so.1", "/lib/x86_64-linux-gnu/libz.so.1"},
      {0x0003, "libi386.so.1", "/lib32/libi386.so.1"},  // i386
      {0x0803, "libx32.so.1", "/libx32/libx32.so.1"},   // x32
      {0x0303, "libfast.so.1", "/lib/glibc-hwcaps/x86-64-v3/libfast.so.1",
       std::uint64_t{1} << 62},  // a glibc-hwcaps variant
      {0x0303, "libfast.so.1", "/lib/libfast.so.1"},
  });
  for (bool old_first : {false, true}) {
    if (old_first)
      bytes = make_cache({{0x0303, "libz.so.1", "/lib/x86_64-linux-gnu/libz.so.1"},
                          {0x0303, "libfast.so.1", "/lib/libfast.so.1"}},
                         true);
    LdSoCache cache = LdSoCache::parse(bytes_of(bytes));
    EXPECT_EQ(cache.find("libz.so.1"), "/lib/x86_64-linux-gnu/libz.so.1") << old_first;
    EXPECT_EQ(cache.find("libfast.so.1"), "/lib/libfast.so.1") << old_first;
    EXPECT_FALSE(cache.find("libi386.so.1").has_value());
    EXPECT_FALSE(cache.find("libx32.so.1").has_value());
  }
}

TEST(LdSoCache, DamagedCachesAreEmptyNotFatal) {
  std::string good = make_cache({{0x0303, "libz.so.1", "/lib/libz.so.1"}});
  EXPECT_EQ(LdSoCache::parse(bytes_of("")).size(), 0u);
  EXPECT_EQ(LdSoCache::parse(bytes_of("garbage that is not a cache at all")).size(), 0u);
  // Every truncation: the entry count no longer fits, or a string runs off the end.
  for (std::size_t size = 0; size < good.size(); ++size)
    EXPECT_EQ(LdSoCache::parse(bytes_of(good.substr(0, size))).size(), 0u) << size;
  // A count far larger than the file.
  std::string huge = good;
  put<std::uint32_t>(huge, 20, 0x10000000);
  EXPECT_EQ(LdSoCache::parse(bytes_of(huge)).size(), 0u);
  // String offsets out of bounds drop the entry.
  std::string wild = good;
  put<std::uint32_t>(wild, 48 + 8, 0xfffffff0);
  EXPECT_EQ(LdSoCache::parse(bytes_of(wild)).size(), 0u);
  EXPECT_EQ(LdSoCache::load("/nonexistent/ld.so.cache").size(), 0u);
}

}  // namespace
