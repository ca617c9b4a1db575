// ImageCache: images unpacked for QEMU (images/<sha256>/) and the builds behind `nimbus run
// PROGRAM` (builds/<key>), under ${XDG_CACHE_HOME:-$HOME/.cache}/nimbus, kept within a size limit.
//
// Layout: images/<sha256>/{kernel.elf,initrd.cpio,[rootfs.ext4,]cmdline,label}, where kernel.elf is a hard
// link into store/<sha256 of the file>, so every image built with one kernel holds it once. An
// image that `nimbus run PROGRAM` built also keeps the files it was packed from: files/<sha256>,
// each a hard link into the store (so a file many images hold, such as Python's standard library,
// is on disk once), and files.manifest, which places them (packed_files.h). Its initrd.cpio (and
// rootfs.ext4, the root file system's disk when the image has one) is then a product: eviction
// may remove it alone, and the next use packs it again from files/.
// builds/<key> names the image a build produced; tmp/ holds work in progress, each name starting
// with the pid of the nimbus that owns it; `limit` holds `nimbus cache --limit`.
//
// Concurrency: every entry appears atomically (staged in tmp/, then renamed), so a reader never
// sees half an image. The lock file `lock` is taken shared to look an image up and exclusively
// to publish or evict one; a nimbus using an image holds a shared flock on its directory for its
// whole run, and eviction skips an image whose directory it cannot lock exclusively. An image's
// last use is its directory's modification time, set on every hit.
#include "image_cache.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "cache_size.h"
#include "host_cache.h"
#include "image_file.h"
#include "packed_files.h"
#include "text.h"

namespace {

// Bump when the way images are built changes, so old builds are not reused.
constexpr std::string_view kBuildKeyVersion = "nimbus-build-1";

constexpr const char* kKernelFile = "kernel.elf";
constexpr const char* kInitrdFile = "initrd.cpio";
constexpr const char* kDiskFile = "rootfs.ext4";
constexpr const char* kWordsFile = "cmdline";
constexpr const char* kLabelFile = "label";
constexpr const char* kManifestFile = "files.manifest";
constexpr const char* kFilesDir = "files";
constexpr const char* kLockFile = "lock";
constexpr const char* kLimitFile = "limit";
constexpr const char* kLimitVariable = "NIMBUS_CACHE_SIZE";

std::unexpected<CliError> cache_failure(const std::filesystem::path& path, std::error_code ec) {
  return cli_error(exit_status::kCliFailure, cat("cache ", path.string(), ": ", ec.message()));
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text;
}

CliResult<> write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out)
    return cli_error(exit_status::kCliFailure,
                     cat("cannot write ", path.string(), ": ", std::strerror(errno)));
  return {};
}

CliResult<> write_text_atomically(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::path temporary = path;
  temporary += cat(".tmp.", ::getpid());
  auto written = write_text(temporary, text);
  std::error_code ec;
  if (written) std::filesystem::rename(temporary, path, ec);
  if (!written || ec) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    if (!written) return written;
    return cache_failure(path, ec);
  }
  return {};
}

bool is_hex_digest(std::string_view text) {
  return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::int64_t to_ns(const struct timespec& time) {
  return static_cast<std::int64_t>(time.tv_sec) * 1'000'000'000 + time.tv_nsec;
}

// A temporary in tmp/ is stale when the nimbus whose pid starts its name has gone.
bool is_stale_temporary(const std::string& name) {
  int pid = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
  if (ec != std::errc{} || pid <= 0 || end == name.data() + name.size() || *end != '.') return true;
  return ::kill(pid, 0) != 0 && errno == ESRCH;
}

CliResult<std::uint64_t> limit_from(const std::string& text, const std::string& where) {
  if (auto bytes = parse_cache_size(text)) return *bytes;
  return usage_error(cat(where, ": '", text, "' is not a size (e.g. 4G, 500M, 0)"));
}

}  // namespace

CliResult<std::string> build_key(const ImagePlan& plan) {
  struct stat st {};
  if (::stat(plan.kernel_path.c_str(), &st) != 0)
    return cli_error(exit_status::kCliFailure,
                     cat("kernel ", plan.kernel_path, ": ", std::strerror(errno)));
  Sha256 hash;
  hash.update(cat(kBuildKeyVersion, '\0', kImageVersion, '\0'));
  hash.update(cat(plan.kernel_path, '\0', st.st_size, '\0', st.st_mtim.tv_sec, '.',
                  st.st_mtim.tv_nsec, '\0', st.st_ino, '\0'));
  hash.update(cat(join_words(plan.kernel_words), '\0'));
  plan.tree.hash_into(hash);
  return Sha256::hex(hash.finish());
}

CliResult<ImageCache> ImageCache::open() {
  ImageCache cache;
  cache.m_root = nimbus_cache_dir();
  if (cache.m_root.empty())
    return cli_error(exit_status::kCliFailure,
                     "no cache directory: set XDG_CACHE_HOME or HOME to an absolute path");
  std::error_code ec;
  for (const char* sub : {"images", "builds", "store", "tmp"}) {
    std::filesystem::create_directories(cache.m_root / sub, ec);
    if (ec) return cache_failure(cache.m_root / sub, ec);
  }
  cache.m_store = ContentStore(cache.m_root / "store");
  cache.m_limit = kDefaultCacheLimit;
  if (const char* variable = std::getenv(kLimitVariable); variable && *variable) {
    cache.m_limit = TRY_CLI(limit_from(variable, kLimitVariable));
    cache.m_limit_from_environment = true;
  } else if (std::string stored = read_text(cache.m_root / kLimitFile); !stored.empty()) {
    while (!stored.empty() && stored.back() == '\n') stored.pop_back();
    cache.m_limit = TRY_CLI(limit_from(stored, (cache.m_root / kLimitFile).string()));
  }
  return cache;
}

std::optional<BootFiles> ImageCache::hold(const std::string& name) const {
  std::filesystem::path dir = m_root / "images" / name;
  auto lock = FileLock::acquire_existing(dir, FileLock::Mode::Shared);
  if (!lock) return std::nullopt;
  ::futimens(lock->fd(), nullptr);  // the use time; best effort, like atime
  std::error_code ec;
  std::string disk = std::filesystem::exists(dir / kDiskFile, ec) ? (dir / kDiskFile).string() : std::string();
  return BootFiles{(dir / kKernelFile).string(), (dir / kInitrdFile).string(),
                   split_words(read_text(dir / kWordsFile)), disk,
                   std::make_shared<const FileLock>(std::move(*lock))};
}

std::optional<BootFiles> ImageCache::lookup(const std::string& name) const {
  auto lock = FileLock::acquire(m_root / kLockFile, FileLock::Mode::Shared);
  if (!lock) return std::nullopt;
  return hold(name);
}

CliResult<BootFiles> ImageCache::publish(const std::filesystem::path& staged,
                                         const std::string& name, const Reporter& reporter) {
  std::filesystem::path dir = m_root / "images" / name;
  FileLock lock = TRY_CLI(FileLock::acquire(m_root / kLockFile, FileLock::Mode::Exclusive));
  std::error_code ec;
  // Another nimbus may have published the same image meanwhile: its copy is as good as ours.
  if (!std::filesystem::is_directory(dir, ec)) std::filesystem::rename(staged, dir, ec);
  std::error_code ignored;
  std::filesystem::remove_all(staged, ignored);
  if (ec) return cache_failure(dir, ec);
  std::optional<BootFiles> files = hold(name);
  if (!files) return cache_failure(dir, std::make_error_code(std::errc::no_such_file_or_directory));
  report_evictions(evict(m_limit, name, false), reporter);
  return *files;
}

CliResult<BootFiles> ImageCache::packed(const std::string& name, BootFiles held,
                                        const Reporter& reporter) {
  std::error_code ec;
  if (std::filesystem::exists(held.initrd, ec)) return held;
  std::filesystem::path dir = m_root / "images" / name;
  auto start = std::chrono::steady_clock::now();
  RootfsTree tree = TRY_CLI(read_manifest(read_text(dir / kManifestFile), dir / kFilesDir));
  ImagePlan plan{std::move(tree), {}, held.kernel, held.kernel_words};
  std::filesystem::path image = m_root / "tmp" / cat(::getpid(), '.', name, ".repack.nimbus");
  std::filesystem::path product = m_root / "tmp" / cat(::getpid(), '.', name, ".product");
  auto result = [&]() -> CliResult<> {
    ImageHeader header = TRY_CLI(write_image(plan, image.string()));
    if (Sha256::hex(header.digest) != name)
      return cli_error(exit_status::kBadImage,
                       cat("the cached files of image ", name, " no longer pack into it"));
    // The disk first and the initrd last: the initrd's presence means the product is whole.
    if (header.disk.size) {
      std::filesystem::path disk = dir / kDiskFile;
      TRY_CLI(extract_section(image.string(), header.disk, product.string()));
      std::filesystem::rename(product, disk, ec);
      if (ec) return cache_failure(disk, ec);
      held.disk = disk.string();
    }
    TRY_CLI(extract_section(image.string(), header.initrd, product.string()));
    std::filesystem::rename(product, held.initrd, ec);
    if (ec) return cache_failure(held.initrd, ec);
    return {};
  }();
  std::error_code ignored;
  std::filesystem::remove(image, ignored);
  std::filesystem::remove(product, ignored);
  if (!result) return std::unexpected(result.error());
  reporter.note(cat("packed image ", name, " again from its cached files in ",
                    std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count(),
                    " ms"));
  // The product is back, so the cache may be over its limit; `held` keeps this image.
  FileLock lock = TRY_CLI(FileLock::acquire(m_root / kLockFile, FileLock::Mode::Exclusive));
  report_evictions(evict(m_limit, name, false), reporter);
  return held;
}

void ImageCache::report_evictions(const PruneReport& evicted, const Reporter& reporter) const {
  for (const std::string& label : evicted.removed)
    reporter.note(cat("evicted the least recently used image (", label,
                      ") to keep the cache within ", format_size(m_limit)));
  if (evicted.products_removed > 0)
    reporter.note(cat("removed the packed root file system of ", evicted.products_removed,
                      " least recently used image(s), kept their files, to keep the cache within ",
                      format_size(m_limit)));
}

CliResult<BootFiles> ImageCache::unpack(const std::string& image_path, const ImageHeader& header,
                                        const std::string& label,
                                        std::filesystem::path staged, const Reporter& reporter) {
  std::string name = Sha256::hex(header.digest);
  std::error_code ec;
  if (auto files = lookup(name)) {
    if (!staged.empty()) std::filesystem::remove_all(staged, ec);
    return packed(name, std::move(*files), reporter);
  }

  if (staged.empty()) {
    staged = m_root / "tmp" / cat(::getpid(), '.', name);
    std::filesystem::remove_all(staged, ec);
    std::filesystem::create_directory(staged, ec);
    if (ec) return cache_failure(staged, ec);
  }
  auto result = [&]() -> CliResult<> {
    Sha256::Digest kernel =
        TRY_CLI(extract_section(image_path, header.kernel, (staged / kKernelFile).string()));
    Sha256::Digest initrd =
        TRY_CLI(extract_section(image_path, header.initrd, (staged / kInitrdFile).string()));
    TRY_CLI(extract_section(image_path, header.command_line, (staged / kWordsFile).string()));
    TRY_CLI(write_text(staged / kLabelFile, label));
    // Shared before the image is published: a link in the store never points into tmp/ alone
    // for long, and a publish that loses a race leaves only links the collector removes.
    TRY_CLI(m_store.share(staged / kKernelFile, Sha256::hex(kernel)));
    // With its files kept, the packed root file system is a product, removed on its own by
    // eviction: not shared.
    bool product = std::filesystem::exists(staged / kManifestFile);
    if (!product) TRY_CLI(m_store.share(staged / kInitrdFile, Sha256::hex(initrd)));
    if (header.disk.size) {
      Sha256::Digest disk = TRY_CLI(extract_section(image_path, header.disk, (staged / kDiskFile).string()));
      if (!product) TRY_CLI(m_store.share(staged / kDiskFile, Sha256::hex(disk)));
    }
    return {};
  }();
  if (!result) {
    std::filesystem::remove_all(staged, ec);
    return std::unexpected(result.error());
  }
  BootFiles files = TRY_CLI(publish(staged, name, reporter));
  reporter.note(cat("unpacked the image into ", (m_root / "images" / name).string()));
  return files;
}

CliResult<BootFiles> ImageCache::install(const std::string& image_path, const Reporter& reporter) {
  ImageHeader header = TRY_CLI(verify_image(image_path));
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(image_path, ec);
  return unpack(image_path, header, ec ? image_path : absolute.string(), {}, reporter);
}

CliResult<BootFiles> ImageCache::build(const ImagePlan& plan, const Reporter& reporter) {
  std::string key = TRY_CLI(build_key(plan));
  std::filesystem::path record = m_root / "builds" / key;
  std::string digest = read_text(record);
  if (is_hex_digest(digest)) {
    if (auto files = lookup(digest)) {
      reporter.note(cat("using the cached build ", key, " (image ", digest, ")"));
      if (auto ready = packed(digest, std::move(*files), reporter)) return ready;
      // Cached files that no longer pack into the image: drop it and build it again from the
      // host's files.
      if (auto lock = FileLock::acquire(m_root / kLockFile, FileLock::Mode::Exclusive)) {
        remove_image(digest);
        m_store.collect_garbage();
      }
    }
  }

  auto start = std::chrono::steady_clock::now();
  // The files go into the content store first, and the image is packed from those copies.
  std::filesystem::path staged = m_root / "tmp" / cat(::getpid(), '.', key);
  std::filesystem::path image = m_root / "tmp" / cat(::getpid(), '.', key, ".nimbus");
  std::error_code ec;
  std::filesystem::remove_all(staged, ec);
  std::filesystem::create_directory(staged, ec);
  if (ec) return cache_failure(staged, ec);
  auto header = [&]() -> CliResult<ImageHeader> {
    StoredTree stored = TRY_CLI(store_tree(plan.tree, m_store, staged / kFilesDir));
    TRY_CLI(write_text(staged / kManifestFile, stored.manifest));
    ImagePlan packed_plan{std::move(stored.tree), plan.launch, plan.kernel_path,
                          plan.kernel_words};
    return write_image(packed_plan, image.string());
  }();
  std::string label = join_words(plan.launch.argv);
  CliResult<BootFiles> files = header ? unpack(image.string(), *header, label, staged, reporter)
                                      : CliResult<BootFiles>(std::unexpected(header.error()));
  std::filesystem::remove(image, ec);
  if (!files) {
    std::filesystem::remove_all(staged, ec);
    return files;
  }
  TRY_CLI(write_text_atomically(record, Sha256::hex(header->digest)));
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  reporter.note(cat("built image ", Sha256::hex(header->digest), " in ", elapsed.count(), " ms (",
                    plan.tree.entries().size(), " entries, ", plan.tree.file_bytes(),
                    " bytes of files)"));
  return files;
}

CacheSnapshot ImageCache::snapshot(std::vector<CachedImageInfo>* details) const {
  CacheSnapshot snapshot;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(m_root / "images", ec)) {
    std::string name = entry.path().filename().string();
    struct stat dir_stat {};
    if (!is_hex_digest(name) || ::stat(entry.path().c_str(), &dir_stat) != 0 ||
        !S_ISDIR(dir_stat.st_mode))
      continue;
    CachedImage image{name, to_ns(dir_stat.st_mtim), false, {}, {}};
    image.in_use = !FileLock::try_acquire(entry.path(), FileLock::Mode::Exclusive).has_value();
    bool keeps_files = std::filesystem::exists(entry.path() / kManifestFile, ec);
    for (const std::filesystem::path& dir : {entry.path(), entry.path() / kFilesDir}) {
      for (const auto& file : std::filesystem::directory_iterator(dir, ec)) {
        struct stat st {};
        if (::lstat(file.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        auto blob = static_cast<BlobId>(st.st_ino);
        image.blobs.push_back(blob);
        snapshot.blob_bytes[blob] = static_cast<std::uint64_t>(st.st_size);
        if (keeps_files && (file.path() == entry.path() / kInitrdFile ||
                            file.path() == entry.path() / kDiskFile))
          image.products.push_back(blob);
      }
    }
    if (details)
      details->push_back(CachedImageInfo{name, read_text(entry.path() / kLabelFile),
                                         image.last_use_ns, 0, 0, image.in_use});
    snapshot.images.push_back(std::move(image));
  }
  for (const auto& entry : std::filesystem::directory_iterator(m_root / "builds", ec)) {
    struct stat st {};
    if (::lstat(entry.path().c_str(), &st) == 0 && S_ISREG(st.st_mode))
      snapshot.other_bytes += static_cast<std::uint64_t>(st.st_size);
  }
  return snapshot;
}

void ImageCache::remove_image(const std::string& name) const {
  // Renamed away first, so a reader finds either the whole image or none.
  std::filesystem::path doomed = m_root / "tmp" / cat(::getpid(), ".evicted.", name);
  std::error_code ec;
  std::filesystem::rename(m_root / "images" / name, doomed, ec);
  if (!ec) std::filesystem::remove_all(doomed, ec);
  for (const auto& entry : std::filesystem::directory_iterator(m_root / "builds", ec))
    if (read_text(entry.path()) == name) std::filesystem::remove(entry.path(), ec);
}

void ImageCache::remove_stale_temporaries() const {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(m_root / "tmp", ec)) {
    std::error_code ignored;
    if (is_stale_temporary(entry.path().filename().string()))
      std::filesystem::remove_all(entry.path(), ignored);
  }
}

PruneReport ImageCache::evict(std::uint64_t limit, const std::string& keep, bool all) {
  remove_stale_temporaries();
  m_store.collect_garbage();
  CacheSnapshot before = snapshot(nullptr);
  PruneReport report;
  report.bytes_before = before.total_bytes();
  for (const Eviction& victim : choose_evictions(before, all ? 0 : limit, keep)) {
    if (victim.product_only) {
      std::error_code ec;
      // The initrd goes first: its absence is what marks the product as gone (packed()).
      if (std::filesystem::remove(m_root / "images" / victim.name / kInitrdFile, ec))
        ++report.products_removed;
      std::filesystem::remove(m_root / "images" / victim.name / kDiskFile, ec);
      continue;
    }
    std::string label = read_text(m_root / "images" / victim.name / kLabelFile);
    remove_image(victim.name);
    report.removed.push_back(label.empty() ? victim.name.substr(0, 12) : label);
  }
  m_store.collect_garbage();
  CacheSnapshot after = snapshot(nullptr);
  report.bytes_after = after.total_bytes();
  report.kept_in_use = static_cast<std::size_t>(
      std::count_if(after.images.begin(), after.images.end(),
                    [](const CachedImage& image) { return image.in_use; }));
  return report;
}

CliResult<PruneReport> ImageCache::set_limit(std::uint64_t bytes) {
  TRY_CLI(write_text_atomically(m_root / kLimitFile, cat(bytes, '\n')));
  if (!m_limit_from_environment) m_limit = bytes;
  FileLock lock = TRY_CLI(FileLock::acquire(m_root / kLockFile, FileLock::Mode::Exclusive));
  return evict(m_limit, {}, false);
}

CliResult<CacheListing> ImageCache::list() const {
  FileLock lock = TRY_CLI(FileLock::acquire(m_root / kLockFile, FileLock::Mode::Shared));
  std::vector<CachedImageInfo> details;
  CacheSnapshot snap = snapshot(&details);
  std::map<BlobId, int> links;
  for (const CachedImage& image : snap.images)
    for (BlobId blob : image.blobs) ++links[blob];
  for (std::size_t i = 0; i < snap.images.size(); ++i) {
    for (BlobId blob : snap.images[i].blobs) {
      details[i].bytes += snap.blob_bytes[blob];
      if (links[blob] > 1) details[i].shared_bytes += snap.blob_bytes[blob];
    }
  }
  std::sort(details.begin(), details.end(), [](const CachedImageInfo& a, const CachedImageInfo& b) {
    return a.last_use_ns != b.last_use_ns ? a.last_use_ns > b.last_use_ns : a.name < b.name;
  });
  return CacheListing{std::move(details), snap.total_bytes()};
}

CliResult<PruneReport> ImageCache::prune(bool all) {
  FileLock lock = TRY_CLI(FileLock::acquire(m_root / kLockFile, FileLock::Mode::Exclusive));
  return evict(m_limit, {}, all);
}

CliResult<PruneReport> ImageCache::clear() {
  FileLock lock = TRY_CLI(FileLock::acquire(m_root / kLockFile, FileLock::Mode::Exclusive));
  PruneReport report = evict(m_limit, {}, true);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(m_root / "builds", ec)) {
    std::error_code ignored;
    std::filesystem::remove(entry.path(), ignored);
  }
  std::filesystem::remove(m_root / "host.conf", ec);
  return report;
}
