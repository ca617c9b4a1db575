// choose_evictions(): which cached images to remove, least recently used first, so the cache
// fits its limit.
#include "cache_policy.h"

#include <algorithm>

namespace {

std::map<BlobId, int> link_counts(const std::vector<CachedImage>& images) {
  std::map<BlobId, int> counts;
  for (const CachedImage& image : images)
    for (BlobId blob : image.blobs) ++counts[blob];
  return counts;
}

std::uint64_t bytes_of(const CacheSnapshot& snapshot, BlobId blob) {
  auto it = snapshot.blob_bytes.find(blob);
  return it == snapshot.blob_bytes.end() ? 0 : it->second;
}

}  // namespace

std::uint64_t CacheSnapshot::total_bytes() const {
  std::uint64_t total = other_bytes;
  for (const auto& [blob, count] : link_counts(images)) total += bytes_of(*this, blob);
  return total;
}

std::uint64_t CacheSnapshot::own_bytes(const CachedImage& image) const {
  std::map<BlobId, int> counts = link_counts(images);
  std::uint64_t own = 0;
  for (BlobId blob : image.blobs)
    if (counts[blob] == 1) own += bytes_of(*this, blob);
  return own;
}

std::vector<Eviction> choose_evictions(const CacheSnapshot& snapshot, std::uint64_t limit,
                                       std::string_view keep) {
  std::map<BlobId, int> counts = link_counts(snapshot.images);
  std::uint64_t total = snapshot.total_bytes();
  std::vector<const CachedImage*> candidates;
  for (const CachedImage& image : snapshot.images)
    if (!image.in_use && image.name != keep) candidates.push_back(&image);
  // Oldest first; equal times by name, so the choice does not depend on directory order.
  std::sort(candidates.begin(), candidates.end(), [](const CachedImage* a, const CachedImage* b) {
    return a->last_use_ns != b->last_use_ns ? a->last_use_ns < b->last_use_ns : a->name < b->name;
  });
  std::vector<Eviction> chosen;
  std::map<std::string_view, bool> product_gone;
  for (const CachedImage* image : candidates) {
    if (total <= limit) return chosen;
    if (image->products.empty()) continue;
    chosen.push_back({image->name, true});
    product_gone[image->name] = true;
    for (BlobId product : image->products)
      if (--counts[product] == 0) total -= bytes_of(snapshot, product);
  }
  for (const CachedImage* image : candidates) {
    if (total <= limit) break;
    bool without_product = product_gone[image->name];
    chosen.push_back({image->name, false});
    for (BlobId blob : image->blobs)
      if (!(without_product && std::ranges::find(image->products, blob) != image->products.end()) &&
          --counts[blob] == 0)
        total -= bytes_of(snapshot, blob);
  }
  return chosen;
}
