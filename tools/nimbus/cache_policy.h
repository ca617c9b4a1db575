// choose_evictions(): what to remove from the cache, least recently used first, so the cache fits
// its limit. Pure logic over a snapshot of the cache, so it is unit-tested on its own.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
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
  // The packed root file system (the initrd, and the ext4 disk when the image has one) when the
  // image also keeps the files it was packed from: it can be removed alone and packed again
  // from them. Part of `blobs`; empty when the image keeps no files.
  std::vector<BlobId> products;
};

// Removing `name`'s packed product only (its files stay), or the whole image.
struct Eviction {
  std::string name;
  bool product_only = false;
  bool operator==(const Eviction&) const = default;
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

// What to remove, in removal order, so that the cache is at most `limit` bytes, skipping images in
// use and the one named `keep` (the image being booted). Products go first, least recently used
// first: they are rebuilt from files the cache still holds, so losing one costs a repack, not a
// build. Then whole images, least recently used first. When what is left alone exceeds the
// limit, everything else is chosen and the cache stays over it.
std::vector<Eviction> choose_evictions(const CacheSnapshot& snapshot, std::uint64_t limit,
                                       std::string_view keep);
