// ImageCache: images unpacked for QEMU (images/<sha256>/) and the builds behind `nimbus run
// PROGRAM` (builds/<key>), under ${XDG_CACHE_HOME:-$HOME/.cache}/nimbus, kept within a size limit
// by evicting the least recently used images; their kernel and initrd live once in a content
// store (store/<sha256>) that images hard-link.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cache_policy.h"
#include "cli_error.h"
#include "content_store.h"
#include "file_lock.h"
#include "image_format.h"
#include "image_plan.h"
#include "reporter.h"

// What QEMU boots: files it can take with -kernel and -initrd, and the image's kernel words.
struct BootFiles {
  std::string kernel;
  std::string initrd;
  std::vector<std::string> kernel_words;
  // The root file system as an ext4 disk (a version 2 image), or empty: then the initrd holds it.
  std::string disk;
  // A shared lock on the image's directory for as long as the guest may read it: eviction
  // (by another nimbus) skips an image that is locked.
  std::shared_ptr<const FileLock> in_use;
};

// One cached image as `nimbus cache ls` shows it.
struct CachedImageInfo {
  std::string name;   // the image's SHA-256
  std::string label;  // what it runs: the program and its arguments, or the image file it came from
  std::int64_t last_use_ns = 0;
  std::uint64_t bytes = 0;         // all its files
  std::uint64_t shared_bytes = 0;  // of which other images link the same copy
  bool in_use = false;
};

struct CacheListing {
  std::vector<CachedImageInfo> images;  // most recently used first
  std::uint64_t total_bytes = 0;        // shared files counted once
};

struct PruneReport {
  std::vector<std::string> removed;  // labels of the images removed
  // Images whose packed root file system was removed but whose files stay (packed again on use).
  std::size_t products_removed = 0;
  std::size_t kept_in_use = 0;       // images a running nimbus holds, left alone
  std::uint64_t bytes_before = 0;
  std::uint64_t bytes_after = 0;
};

class ImageCache {
 public:
  // Fails (kCliFailure) when neither XDG_CACHE_HOME nor HOME names a directory, and (kUsage) when
  // NIMBUS_CACHE_SIZE is set to something that is not a size.
  static CliResult<ImageCache> open();

  // Checks the image (header and SHA-256) on every call and unpacks it the first time.
  CliResult<BootFiles> install(const std::string& image_path, const Reporter& reporter);

  // For `nimbus run PROGRAM`: the build for the plan's inputs if one exists, else a new one.
  CliResult<BootFiles> build(const ImagePlan& plan, const Reporter& reporter);

  // The limit in bytes: NIMBUS_CACHE_SIZE, else the one `nimbus cache --limit` stored, else the
  // default. `set_limit` stores one and evicts down to it.
  std::uint64_t limit() const { return m_limit; }
  bool limit_from_environment() const { return m_limit_from_environment; }
  CliResult<PruneReport> set_limit(std::uint64_t bytes);

  CliResult<CacheListing> list() const;
  // Evicts least recently used images down to the limit, or (all) every image not in use.
  CliResult<PruneReport> prune(bool all);
  // prune(true), and forgets the host facts (host.conf) and every build record.
  CliResult<PruneReport> clear();

  const std::filesystem::path& root() const { return m_root; }

 private:
  // `staged`, when not empty, is a directory in tmp/ already holding the image's files and
  // manifest; the image's parts are added to it.
  CliResult<BootFiles> unpack(const std::string& image_path, const ImageHeader& header,
                              const std::string& label, std::filesystem::path staged,
                              const Reporter& reporter);
  // `held` as it is when its initrd is there; else the initrd packed again from the image's
  // cached files (which must give the same image), and the cache evicted back to its limit.
  CliResult<BootFiles> packed(const std::string& name, BootFiles held, const Reporter& reporter);
  void report_evictions(const PruneReport& evicted, const Reporter& reporter) const;
  // The image's boot files with a shared lock taken and its use time set to now; nothing when it
  // is not cached. The caller holds the cache lock.
  std::optional<BootFiles> hold(const std::string& name) const;
  std::optional<BootFiles> lookup(const std::string& name) const;
  // Moves a staged image directory into place, evicts to the limit; the image is held.
  CliResult<BootFiles> publish(const std::filesystem::path& staged, const std::string& name,
                               const Reporter& reporter);
  CacheSnapshot snapshot(std::vector<CachedImageInfo>* details) const;
  // Removes the chosen images (least recently used first) and the content no image links.
  // The caller holds the cache lock exclusively.
  PruneReport evict(std::uint64_t limit, const std::string& keep, bool all);
  void remove_image(const std::string& name) const;
  void remove_stale_temporaries() const;

  std::filesystem::path m_root;
  ContentStore m_store{{}};
  std::uint64_t m_limit = 0;
  bool m_limit_from_environment = false;
};

// The build-cache key: a SHA-256 over everything that decides the image's bytes, without reading
// the packed files: every packed path with its host file's size, mode, inode and modification and
// change times, link targets, the launch description, the kernel words, and the kernel file's
// path, size, inode and modification time.
CliResult<std::string> build_key(const ImagePlan& plan);
