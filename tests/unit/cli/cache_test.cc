// Tests of the image cache's parts: limit sizes, the least-recently-used choice, the content
// store's sharing, locks, and the progress line.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <sstream>

#include "cache_policy.h"
#include "cache_size.h"
#include "content_store.h"
#include "file_lock.h"
#include "image_cache.h"
#include "packed_files.h"
#include "progress_line.h"
#include "scratch_dir.h"

namespace {

TEST(CacheSize, ParsesSuffixesInPowersOf1024AndPlainBytes) {
  EXPECT_EQ(parse_cache_size("4G"), std::uint64_t{4} << 30);
  EXPECT_EQ(parse_cache_size("4GiB"), std::uint64_t{4} << 30);
  EXPECT_EQ(parse_cache_size("4GB"), std::uint64_t{4} << 30);
  EXPECT_EQ(parse_cache_size("500m"), std::uint64_t{500} << 20);
  EXPECT_EQ(parse_cache_size("64K"), std::uint64_t{64} << 10);
  EXPECT_EQ(parse_cache_size("1T"), std::uint64_t{1} << 40);
  EXPECT_EQ(parse_cache_size("0"), 0u);
  EXPECT_EQ(parse_cache_size("1048576"), 1048576u);
}

TEST(CacheSize, RefusesWhatIsNotASize) {
  for (const char* text : {"", "G", "4X", "-1", "4GG", "4 G", "4.5G", "99999999999T"})
    EXPECT_FALSE(parse_cache_size(text).has_value()) << text;
}

TEST(CacheSize, FormatsBriefly) {
  EXPECT_EQ(format_size(0), "0");
  EXPECT_EQ(format_size(1023), "1023");
  EXPECT_EQ(format_size(1024), "1.0K");
  EXPECT_EQ(format_size(1536), "1.5K");
  EXPECT_EQ(format_size(std::uint64_t{4} << 30), "4.0G");
  EXPECT_EQ(format_size(std::uint64_t{150} << 20), "150M");
  EXPECT_EQ(format_size((std::uint64_t{41} << 20) + (std::uint64_t{1} << 19)), "41.5M");
}

// The whole images an eviction removes, in order.
std::vector<std::string> images_of(const std::vector<Eviction>& chosen) {
  std::vector<std::string> names;
  for (const Eviction& eviction : chosen) {
    EXPECT_FALSE(eviction.product_only) << eviction.name;
    names.push_back(eviction.name);
  }
  return names;
}

// Three images of 100 bytes each (one blob apiece), used at times 1, 2, 3.
CacheSnapshot three_images() {
  CacheSnapshot snapshot;
  snapshot.images = {{"old", 1, false, {1}, {}}, {"middle", 2, false, {2}, {}}, {"new", 3, false, {3}, {}}};
  snapshot.blob_bytes = {{1, 100}, {2, 100}, {3, 100}};
  return snapshot;
}

TEST(CachePolicy, NothingIsEvictedWithinTheLimit) {
  EXPECT_EQ(three_images().total_bytes(), 300u);
  EXPECT_TRUE(choose_evictions(three_images(), 300, "").empty());
}

TEST(CachePolicy, EvictsLeastRecentlyUsedFirstUntilItFits) {
  EXPECT_EQ(images_of(choose_evictions(three_images(), 250, "")), (std::vector<std::string>{"old"}));
  EXPECT_EQ(images_of(choose_evictions(three_images(), 150, "")), (std::vector<std::string>{"old", "middle"}));
}

TEST(CachePolicy, AUseMakesAnImageRecent) {
  CacheSnapshot snapshot = three_images();
  snapshot.images[0].last_use_ns = 10;  // "old" was just used again
  EXPECT_EQ(images_of(choose_evictions(snapshot, 250, "")), (std::vector<std::string>{"middle"}));
}

TEST(CachePolicy, NeverEvictsTheImageBeingBootedOrOneInUse) {
  CacheSnapshot snapshot = three_images();
  snapshot.images[1].in_use = true;
  EXPECT_EQ(images_of(choose_evictions(snapshot, 0, "new")), (std::vector<std::string>{"old"}));
}

TEST(CachePolicy, ANewImageLargerThanTheLimitStaysAlone) {
  CacheSnapshot snapshot = three_images();
  snapshot.blob_bytes[3] = 1000;
  EXPECT_EQ(images_of(choose_evictions(snapshot, 500, "new")), (std::vector<std::string>{"old", "middle"}));
}

TEST(CachePolicy, SharedContentCountsOnceAndIsFreedWithItsLastImage) {
  // Both images link the 1000-byte kernel (blob 9); each has 10 bytes of its own.
  CacheSnapshot snapshot;
  snapshot.images = {{"a", 1, false, {9, 1}, {}}, {"b", 2, false, {9, 2}, {}}};
  snapshot.blob_bytes = {{9, 1000}, {1, 10}, {2, 10}};
  snapshot.other_bytes = 5;
  EXPECT_EQ(snapshot.total_bytes(), 1025u);
  EXPECT_EQ(snapshot.own_bytes(snapshot.images[0]), 10u);
  // Evicting "a" frees only its 10 bytes: 1015 is still over 1014, so "b" goes as well.
  EXPECT_EQ(images_of(choose_evictions(snapshot, 1015, "")), (std::vector<std::string>{"a"}));
  EXPECT_EQ(images_of(choose_evictions(snapshot, 1014, "")), (std::vector<std::string>{"a", "b"}));
}

TEST(CachePolicy, ProductsGoBeforeAnyImageAndSharedFilesStay) {
  // Two Python images share 1000 bytes of files (blob 9); each has a 1000-byte packed product
  // (blobs 1, 2) and a 10-byte script (blobs 3, 4); a third image has no files kept (blob 5).
  CacheSnapshot snapshot;
  snapshot.images = {{"a", 1, false, {9, 1, 3}, {1}},
                     {"b", 2, false, {9, 2, 4}, {2}},
                     {"c", 3, false, {5}, {}}};
  snapshot.blob_bytes = {{9, 1000}, {1, 1000}, {2, 1000}, {3, 10}, {4, 10}, {5, 100}};
  EXPECT_EQ(snapshot.total_bytes(), 3120u);
  // One product is enough: the oldest image's.
  EXPECT_EQ(choose_evictions(snapshot, 2500, "c"), (std::vector<Eviction>{{"a", true}}));
  // Both products before any whole image, even the older "a".
  EXPECT_EQ(choose_evictions(snapshot, 1200, "c"),
            (std::vector<Eviction>{{"a", true}, {"b", true}}));
  // Then whole images, oldest first; the shared files go with the last image linking them.
  EXPECT_EQ(choose_evictions(snapshot, 1100, "c"),
            (std::vector<Eviction>{{"a", true}, {"b", true}, {"a", false}, {"b", false}}));
  // The image being booted keeps its product.
  EXPECT_EQ(choose_evictions(snapshot, 2500, "a"), (std::vector<Eviction>{{"b", true}}));
}

struct stat stat_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st;
}

TEST(ContentStore, IdenticalContentsAreStoredOnce) {
  ScratchDir dir;
  ContentStore store(dir.mkdir("store"));
  std::string first = dir.write("a/initrd", "same bytes");
  std::string second = dir.write("b/initrd", "same bytes");
  std::string other = dir.write("c/initrd", "other bytes");
  ASSERT_TRUE(store.share(first, "1111").has_value());
  ASSERT_TRUE(store.share(second, "1111").has_value());
  ASSERT_TRUE(store.share(other, "2222").has_value());
  ASSERT_TRUE(store.share(first, "1111").has_value());  // again: nothing changes

  EXPECT_EQ(stat_of(first).st_ino, stat_of(second).st_ino);
  EXPECT_EQ(stat_of(first).st_ino, stat_of(dir / "store/1111").st_ino);
  EXPECT_EQ(stat_of(first).st_nlink, 3u);
  EXPECT_NE(stat_of(other).st_ino, stat_of(first).st_ino);
  EXPECT_EQ(read_file(second), "same bytes");
  // Read-only: a change through one image would change every image.
  EXPECT_EQ(stat_of(first).st_mode & 0222, 0u);
}

TEST(ContentStore, GarbageIsWhatNoImageLinks) {
  ScratchDir dir;
  ContentStore store(dir.mkdir("store"));
  std::string first = dir.write("a/initrd", "shared");
  std::string second = dir.write("b/initrd", "shared");
  std::string alone = dir.write("c/initrd", "twelve bytes");
  ASSERT_TRUE(store.share(first, "1111").has_value());
  ASSERT_TRUE(store.share(second, "1111").has_value());
  ASSERT_TRUE(store.share(alone, "2222").has_value());

  EXPECT_EQ(store.collect_garbage(), 0u);
  std::filesystem::remove(first);
  std::filesystem::remove(alone);
  EXPECT_EQ(store.collect_garbage(), 12u);
  EXPECT_TRUE(std::filesystem::exists(dir / "store/1111"));
  EXPECT_FALSE(std::filesystem::exists(dir / "store/2222"));
  std::filesystem::remove(second);
  EXPECT_EQ(store.collect_garbage(), 6u);
  EXPECT_TRUE(std::filesystem::is_empty(dir / "store"));
}

TEST(PackedFiles, IdenticalFilesOfTwoImagesAreStoredOnceAndTheManifestPacksTheSameArchive) {
  ScratchDir dir;
  ContentStore store(dir.mkdir("store"));
  std::string library = dir.write("host/lib.py", "print('shared')\n");
  std::string script = dir.write("host/app.py", "import lib\n", 0755);
  RootfsTree first;
  ASSERT_TRUE(first.add_directory("/usr", 0700).has_value());
  ASSERT_TRUE(first.add_host_file("/usr/lib/python3/lib.py", library, stat_of(library)).has_value());
  ASSERT_TRUE(first.add_host_file("/srv/app.py", script, stat_of(script)).has_value());
  ASSERT_TRUE(first.add_symlink("/usr/bin/py", "python3 with a space", 5).has_value());
  ASSERT_TRUE(first.add_generated_file("/.nimbus", "launch words", 0600).has_value());
  RootfsTree second;
  ASSERT_TRUE(second.add_host_file("/opt/lib.py", library, stat_of(library)).has_value());

  auto stored_first = store_tree(first, store, dir / "images/a/files");
  auto stored_second = store_tree(second, store, dir / "images/b/files");
  ASSERT_TRUE(stored_first.has_value()) << stored_first.error().message;
  ASSERT_TRUE(stored_second.has_value()) << stored_second.error().message;

  // lib.py is one inode linked from both images and the store; the other files are each once.
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir / "store")) {
    ++files;
    std::string contents = read_file(entry.path().string());
    EXPECT_EQ(stat_of(entry.path().string()).st_nlink, contents == "print('shared')\n" ? 3u : 2u)
        << contents;
  }
  EXPECT_EQ(files, 3u);  // lib.py, app.py and the generated /.nimbus

  // Packed from the stored copies, or from the manifest alone, the archive is byte for byte the
  // archive of the host's files.
  std::ostringstream original, from_store, from_manifest;
  ASSERT_TRUE(first.write_cpio(original).has_value());
  ASSERT_TRUE(stored_first->tree.write_cpio(from_store).has_value());
  auto reread = read_manifest(stored_first->manifest, dir / "images/a/files");
  ASSERT_TRUE(reread.has_value()) << reread.error().message;
  ASSERT_TRUE(reread->write_cpio(from_manifest).has_value());
  EXPECT_EQ(from_store.str(), original.str());
  EXPECT_EQ(from_manifest.str(), original.str());
}

TEST(PackedFiles, ADamagedManifestIsABadImage) {
  ScratchDir dir;
  std::string files = dir.mkdir("files");
  using namespace std::string_literals;
  for (const std::string& manifest :
       {"f\0"s, "x\0" "644\0" "0\0\0a\0"s, "d\0" "99\0" "0\0\0a\0"s,
        "f\0" "644\0" "0\0" "notahash\0a\0"s,
        "f\0" "644\0" "0\0" + std::string(64, 'a') + "\0a\0"s}) {
    auto tree = read_manifest(manifest, files);
    ASSERT_FALSE(tree.has_value());
    EXPECT_EQ(tree.error().exit_status, exit_status::kBadImage) << tree.error().message;
  }
}

TEST(FileLock, SharedLocksCoexistAndExcludeAnExclusiveOne) {
  ScratchDir dir;
  std::string image = dir.mkdir("images/x");
  auto reader = FileLock::acquire_existing(image, FileLock::Mode::Shared);
  ASSERT_TRUE(reader.has_value());
  EXPECT_TRUE(FileLock::try_acquire(image, FileLock::Mode::Shared).has_value());
  EXPECT_FALSE(FileLock::try_acquire(image, FileLock::Mode::Exclusive).has_value());
  reader.reset();
  EXPECT_TRUE(FileLock::try_acquire(image, FileLock::Mode::Exclusive).has_value());
  EXPECT_FALSE(FileLock::acquire_existing(dir / "missing", FileLock::Mode::Shared).has_value());
  // The lock file itself is created on demand.
  EXPECT_TRUE(FileLock::acquire(dir / "lock", FileLock::Mode::Exclusive).has_value());
}

TEST(ProgressLine, DrawsInPlaceAndErasesItself) {
  std::ostringstream out;
  {
    ProgressLine progress(out, true, 2, 3 << 20);
    progress.file_done(1 << 20);
    EXPECT_EQ(out.str(), "\r\033[Knimbus: packing 1/2 files, 1.0M/3.0M");
    progress.file_done(2 << 20);  // within 100 ms of the last draw: not redrawn
  }
  EXPECT_TRUE(out.str().ends_with("\r\033[K"));
  EXPECT_EQ(out.str().find('\n'), std::string::npos);
}

TEST(ProgressLine, SilentWhenDisabled) {
  std::ostringstream out;
  {
    ProgressLine progress(out, false, 2, 3 << 20);
    progress.file_done(1 << 20);
  }
  EXPECT_EQ(out.str(), "");
}

// Sets an environment variable for one test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : m_name(name) {
    if (const char* old = ::getenv(name)) m_old = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (m_old)
      ::setenv(m_name, m_old->c_str(), 1);
    else
      ::unsetenv(m_name);
  }

 private:
  const char* m_name;
  std::optional<std::string> m_old;
};

TEST(ImageCache, TheLimitIsStoredAndTheEnvironmentOverridesIt) {
  ScratchDir dir;
  ScopedEnv cache_home("XDG_CACHE_HOME", dir.path().string());
  ::unsetenv("NIMBUS_CACHE_SIZE");
  auto cache = ImageCache::open();
  ASSERT_TRUE(cache.has_value());
  EXPECT_EQ(cache->limit(), kDefaultCacheLimit);
  ASSERT_TRUE(cache->set_limit(std::uint64_t{1} << 30).has_value());
  EXPECT_EQ(ImageCache::open()->limit(), std::uint64_t{1} << 30);
  {
    ScopedEnv size("NIMBUS_CACHE_SIZE", "200M");
    EXPECT_EQ(ImageCache::open()->limit(), std::uint64_t{200} << 20);
  }
  {
    ScopedEnv size("NIMBUS_CACHE_SIZE", "lots");
    auto refused = ImageCache::open();
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().exit_status, exit_status::kUsage);
    EXPECT_NE(refused.error().message.find("NIMBUS_CACHE_SIZE"), std::string::npos);
  }
  ::unsetenv("NIMBUS_CACHE_SIZE");
}

}  // namespace
