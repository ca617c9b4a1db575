// choose_evictions(): which cached images to remove, least recently used first, so the cache
// fits its limit. Pure logic over a snapshot of the cache, so it is unit-tested on its own.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

// Content shared between images (a hard link to one content-store file) is one blob; its bytes
// count once however many images link it, and are freed only with the last of them.
using BlobId = std::uint64_t;

struct CachedImage {
  std::string name;
  std::int64_t last_use_ns = 0;
  bool in_use = false;  // a running nimbus holds it: never evicted
  std::vector<BlobId> blobs;
};

struct CacheSnapshot {
  std::vector<CachedImage> images;
  std::map<BlobId, std::uint64_t> blob_bytes;
  std::uint64_t other_bytes = 0;  // build records and the like, freed by no eviction

  // Every distinct blob once, plus other_bytes.
  std::uint64_t total_bytes() const;
  // The bytes of `image`'s blobs that no other image links.
  std::uint64_t own_bytes(const CachedImage& image) const;
};

// The images to remove, in removal order (least recently used first), so that the cache is at
// most `limit` bytes, skipping images in use and the one named `keep` (the image being booted).
// When those alone exceed the limit, everything else is chosen and the cache stays over it.
std::vector<std::string> choose_evictions(const CacheSnapshot& snapshot, std::uint64_t limit,
                                          std::string_view keep);
