// Image files: writing one from an ImagePlan, checking one, and copying its parts out.
#include "image_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "ext4_image.h"
#include "progress_line.h"
#include "text.h"

namespace {

constexpr std::size_t kCopyBuffer = 256 * 1024;

std::unexpected<CliError> write_failed(const std::string& path) {
  return cli_error(exit_status::kCliFailure,
                   cat("cannot write ", path, ": ", std::strerror(errno)));
}

// Streams [offset, offset + size) of a file into `sink`; fails if the file ends early.
template <typename Sink>
CliResult<> stream_range(const std::string& path, std::uint64_t offset, std::uint64_t size,
                         Sink&& sink) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return cli_error(exit_status::kBadImage, cat(path, ": ", std::strerror(errno)));
  in.seekg(static_cast<std::streamoff>(offset));
  std::vector<char> buffer(kCopyBuffer);
  while (size > 0) {
    auto want = static_cast<std::streamsize>(std::min<std::uint64_t>(buffer.size(), size));
    in.read(buffer.data(), want);
    if (in.gcount() != want)
      return cli_error(exit_status::kBadImage, cat(path, ": truncated while being read"));
    TRY_CLI(sink(std::string_view(buffer.data(), static_cast<std::size_t>(want))));
    size -= static_cast<std::uint64_t>(want);
  }
  return {};
}

// Appends a host file; returns the number of bytes written.
CliResult<std::uint64_t> append_file(std::ofstream& out, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return cli_error(exit_status::kCliFailure, cat(path, ": ", std::strerror(errno)));
  std::vector<char> buffer(kCopyBuffer);
  std::uint64_t total = 0;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    out.write(buffer.data(), in.gcount());
    total += static_cast<std::uint64_t>(in.gcount());
  }
  if (in.bad()) return cli_error(exit_status::kCliFailure, cat(path, ": read error"));
  return total;
}

std::uint64_t position(std::ofstream& out) {
  return static_cast<std::uint64_t>(static_cast<std::streamoff>(out.tellp()));
}

CliResult<ImageHeader> write_image_file(const ImagePlan& plan, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return write_failed(path);
  ImageHeader header;
  std::array<std::byte, kImageHeaderSize> placeholder{};
  out.write(reinterpret_cast<const char*>(placeholder.data()), placeholder.size());

  header.kernel.offset = position(out);
  header.kernel.size = TRY_CLI(append_file(out, plan.kernel_path));
  if (header.kernel.size == 0)
    return cli_error(exit_status::kCliFailure, cat("kernel ", plan.kernel_path, " is empty"));
  header.initrd.offset = position(out);
  bool disk = plan.uses_root_disk();
  if (disk) {
    // The disk holds the whole tree; the initrd what the guest mounts over it from RAM,
    // writable: /etc, /tmp and the program's working directory (Vfs::mount_ram_copy).
    TRY_CLI(plan.tree.ram_part(plan.launch.workdir).write_cpio(out));
  } else {
    ProgressLine progress(plan.tree.file_count(), plan.tree.file_bytes());
    TRY_CLI(plan.tree.write_cpio(out, &progress));
  }
  header.initrd.size = position(out) - header.initrd.offset;
  header.command_line.offset = position(out);
  std::string words = join_words(plan.kernel_words);
  out.write(words.data(), static_cast<std::streamsize>(words.size()));
  header.command_line.size = words.size();
  if (disk) {
    std::string disk_file = cat(path, ".ext4");
    ProgressLine progress(plan.tree.file_count(), plan.tree.file_bytes());
    auto written = write_ext4_image(plan.tree, cat(path, ".staging"), disk_file, &progress);
    if (written) {
      header.disk.offset = position(out);
      auto appended = append_file(out, disk_file);
      written = appended ? CliResult<>() : CliResult<>(std::unexpected(appended.error()));
      if (appended) header.disk.size = *appended;
    }
    ::unlink(disk_file.c_str());
    TRY_CLI(written);
  }
  header.image_size = position(out);
  out.close();
  if (!out) return write_failed(path);

  Sha256 hash;
  TRY_CLI(stream_range(path, kImageHeaderSize, header.image_size - kImageHeaderSize,
                       [&](std::string_view chunk) -> CliResult<> {
                         hash.update(chunk);
                         return {};
                       }));
  header.digest = hash.finish();
  std::fstream patch(path, std::ios::binary | std::ios::in | std::ios::out);
  auto encoded = encode_image_header(header);
  patch.write(reinterpret_cast<const char*>(encoded.data()), encoded.size());
  patch.close();
  if (!patch) return write_failed(path);
  return header;
}

}  // namespace

std::string join_words(const std::vector<std::string>& words) {
  std::string text;
  for (const std::string& word : words) text += (text.empty() ? "" : " ") + word;
  return text;
}

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> words;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t space = text.find(' ', start);
    if (space == std::string::npos) space = text.size();
    if (space > start) words.push_back(text.substr(start, space - start));
    start = space + 1;
  }
  return words;
}

CliResult<ImageHeader> write_image(const ImagePlan& plan, const std::string& path) {
  std::string temporary = cat(path, ".tmp.", ::getpid());
  auto header = write_image_file(plan, temporary);
  if (header && ::rename(temporary.c_str(), path.c_str()) != 0) header = write_failed(path);
  if (!header) ::unlink(temporary.c_str());
  return header;
}

bool looks_like_image(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::array<char, kImageMagic.size()> start{};
  in.read(start.data(), start.size());
  return in.gcount() == static_cast<std::streamsize>(start.size()) &&
         has_image_magic(std::as_bytes(std::span(start)));
}

CliResult<ImageHeader> verify_image(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return cli_error(exit_status::kBadImage, cat(path, ": not a readable image file"));
  std::ifstream in(path, std::ios::binary);
  if (!in) return cli_error(exit_status::kBadImage, cat(path, ": ", std::strerror(errno)));
  std::array<char, kImageHeaderSize> bytes{};
  in.read(bytes.data(), bytes.size());
  auto size = static_cast<std::size_t>(in.gcount());
  ImageHeader header = TRY_CLI(decode_image_header(std::as_bytes(std::span(bytes.data(), size)),
                                                   static_cast<std::uint64_t>(st.st_size), path));

  Sha256 hash;
  TRY_CLI(stream_range(path, kImageHeaderSize, header.image_size - kImageHeaderSize,
                       [&](std::string_view chunk) -> CliResult<> {
                         hash.update(chunk);
                         return {};
                       }));
  if (hash.finish() != header.digest)
    return cli_error(exit_status::kBadImage,
                     cat(path,
                         ": not a usable Nimbus image (corrupt: its contents do not match "
                         "the SHA-256 in its header)"));
  return header;
}

CliResult<Sha256::Digest> extract_section(const std::string& image, const ImageSection& section,
                                          const std::string& out_path) {
  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  if (!out) return write_failed(out_path);
  Sha256 hash;
  TRY_CLI(
      stream_range(image, section.offset, section.size, [&](std::string_view chunk) -> CliResult<> {
        out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        hash.update(chunk);
        return {};
      }));
  out.close();
  if (!out) return write_failed(out_path);
  return hash.finish();
}

CliResult<std::string> read_section(const std::string& image, const ImageSection& section) {
  std::string text;
  TRY_CLI(
      stream_range(image, section.offset, section.size, [&](std::string_view chunk) -> CliResult<> {
        text += chunk;
        return {};
      }));
  return text;
}
