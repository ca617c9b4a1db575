// ImageCache: images unpacked for QEMU (images/<sha256>/) and the builds behind `nimbus run
// PROGRAM` (builds/<key>), under ${XDG_CACHE_HOME:-$HOME/.cache}/nimbus.
//
// Every entry appears atomically (written under a temporary name, then renamed), so concurrent
// runs and interrupted ones never leave a half-written entry that a later run would trust.
#include "image_cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>

#include "host_cache.h"
#include "image_file.h"
#include "text.h"

namespace {

// Bump when the way images are built changes, so old builds are not reused.
constexpr std::string_view kBuildKeyVersion = "nimbus-build-1";

constexpr const char* kKernelFile = "kernel.elf";
constexpr const char* kInitrdFile = "initrd.cpio";
constexpr const char* kWordsFile = "cmdline";

std::unexpected<CliError> cache_failure(const std::filesystem::path& path, std::error_code ec) {
  return cli_error(exit_status::kCliFailure, cat("cache ", path.string(), ": ", ec.message()));
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text;
}

CliResult<> write_text_atomically(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::path temporary = path;
  temporary += cat(".tmp.", ::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
      std::error_code ignored;
      std::filesystem::remove(temporary, ignored);
      return cli_error(exit_status::kCliFailure,
                       cat("cannot write ", temporary.string(), ": ", std::strerror(errno)));
    }
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    return cache_failure(path, ec);
  }
  return {};
}

bool is_hex_digest(const std::string& text) {
  return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
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
  for (const char* sub : {"images", "builds"}) {
    std::filesystem::create_directories(cache.m_root / sub, ec);
    if (ec) return cache_failure(cache.m_root / sub, ec);
  }
  return cache;
}

BootFiles ImageCache::boot_files(const std::filesystem::path& dir) const {
  return BootFiles{(dir / kKernelFile).string(), (dir / kInitrdFile).string(),
                   split_words(read_text(dir / kWordsFile))};
}

CliResult<BootFiles> ImageCache::unpack(const std::string& image_path, const ImageHeader& header,
                                        const Reporter& reporter) {
  std::filesystem::path dir = m_root / "images" / Sha256::hex(header.digest);
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return boot_files(dir);

  std::filesystem::path temporary = dir;
  temporary += cat(".tmp.", ::getpid());
  std::filesystem::remove_all(temporary, ec);
  std::filesystem::create_directory(temporary, ec);
  if (ec) return cache_failure(temporary, ec);
  auto result = [&]() -> CliResult<> {
    TRY_CLI(extract_section(image_path, header.kernel, (temporary / kKernelFile).string()));
    TRY_CLI(extract_section(image_path, header.initrd, (temporary / kInitrdFile).string()));
    TRY_CLI(extract_section(image_path, header.command_line, (temporary / kWordsFile).string()));
    return {};
  }();
  if (result) {
    std::filesystem::rename(temporary, dir, ec);
    // Another run unpacking the same image got there first: its copy is as good as ours.
    std::error_code ignored;
    if (ec && std::filesystem::is_directory(dir, ignored)) ec.clear();
  }
  std::error_code ignored;
  std::filesystem::remove_all(temporary, ignored);
  if (!result) return std::unexpected(result.error());
  if (ec) return cache_failure(dir, ec);
  reporter.note(cat("unpacked the image into ", dir.string()));
  return boot_files(dir);
}

CliResult<BootFiles> ImageCache::install(const std::string& image_path, const Reporter& reporter) {
  ImageHeader header = TRY_CLI(verify_image(image_path));
  return unpack(image_path, header, reporter);
}

CliResult<BootFiles> ImageCache::build(const ImagePlan& plan, const Reporter& reporter) {
  std::string key = TRY_CLI(build_key(plan));
  std::filesystem::path record = m_root / "builds" / key;
  std::error_code ec;
  std::string digest = read_text(record);
  if (is_hex_digest(digest) && std::filesystem::is_directory(m_root / "images" / digest, ec)) {
    reporter.note(cat("using the cached build ", key, " (image ", digest, ")"));
    return boot_files(m_root / "images" / digest);
  }

  auto start = std::chrono::steady_clock::now();
  std::filesystem::path image = m_root / "builds" / cat(key, ".", ::getpid(), ".nimbus");
  auto header = write_image(plan, image.string());
  CliResult<BootFiles> files = header ? unpack(image.string(), *header, reporter)
                                      : CliResult<BootFiles>(std::unexpected(header.error()));
  std::filesystem::remove(image, ec);
  if (!files) return files;
  TRY_CLI(write_text_atomically(record, Sha256::hex(header->digest)));
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  reporter.note(cat("built image ", Sha256::hex(header->digest), " in ", elapsed.count(), " ms (",
                    plan.tree.entries().size(), " entries, ", plan.tree.file_bytes(),
                    " bytes of files)"));
  return files;
}
