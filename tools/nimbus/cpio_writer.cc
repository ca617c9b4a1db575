// CpioWriter: writes an uncompressed cpio archive in the "newc" format (the Linux initramfs one).
//
// Format (Linux Documentation/driver-api/early-userspace/buffer-format.rst): per entry a
// 110-byte ASCII header ("070701" and 13 fields of 8 hex digits), the NUL-terminated name padded
// to a multiple of 4 bytes counted from the header's start, then the data padded to 4 bytes.
#include "cpio_writer.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "text.h"

namespace {

void append_hex8(std::string& out, std::uint64_t value) {
  constexpr std::string_view kDigits = "0123456789ABCDEF";
  for (int shift = 28; shift >= 0; shift -= 4) out += kDigits[(value >> shift) & 0xf];
}

// newc keeps 32-bit unsigned times; anything outside is clamped rather than wrapped.
std::uint32_t clamp_mtime(std::int64_t mtime) {
  return static_cast<std::uint32_t>(std::clamp<std::int64_t>(mtime, 0, 0xffffffff));
}

}  // namespace

void CpioWriter::write_header(std::string_view path, std::uint32_t mode, std::int64_t mtime,
                              std::uint64_t size, std::uint32_t nlink) {
  std::string header = "070701";
  bool trailer = path == "TRAILER!!!";
  append_hex8(header, trailer ? 0 : m_next_inode++);
  append_hex8(header, mode);
  append_hex8(header, 0);  // uid: the guest application runs as root
  append_hex8(header, 0);  // gid
  append_hex8(header, nlink);
  append_hex8(header, clamp_mtime(mtime));
  append_hex8(header, size);
  for (int i = 0; i < 4; ++i) append_hex8(header, 0);  // dev and rdev, major and minor
  append_hex8(header, path.size() + 1);
  append_hex8(header, 0);  // check: only used by the "070702" variant
  header += path;
  header += '\0';
  m_out.write(header.data(), static_cast<std::streamsize>(header.size()));
  m_offset += header.size();
  pad();
}

void CpioWriter::pad() {
  static constexpr std::array<char, 3> kZeros{};
  std::size_t padding = (4 - m_offset % 4) % 4;
  m_out.write(kZeros.data(), static_cast<std::streamsize>(padding));
  m_offset += padding;
}

void CpioWriter::add_directory(std::string_view path, std::uint32_t permissions,
                               std::int64_t mtime) {
  write_header(path, S_IFDIR | (permissions & 07777), mtime, 0, 2);
}

void CpioWriter::add_symlink(std::string_view path, std::string_view target, std::int64_t mtime) {
  write_header(path, S_IFLNK | 0777, mtime, target.size(), 1);
  m_out.write(target.data(), static_cast<std::streamsize>(target.size()));
  m_offset += target.size();
  pad();
}

void CpioWriter::add_file(std::string_view path, std::uint32_t permissions, std::int64_t mtime,
                          std::string_view contents) {
  write_header(path, S_IFREG | (permissions & 07777), mtime, contents.size(), 1);
  m_out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  m_offset += contents.size();
  pad();
}

CliResult<> CpioWriter::add_host_file(std::string_view path, std::uint32_t permissions,
                                      std::int64_t mtime, const std::string& host_path,
                                      std::uint64_t expected_size) {
  if (expected_size > kMaxFileSize)
    return cli_error(exit_status::kBadInput,
                     cat(host_path, ": too large for a cpio archive (4 GiB at most)"));
  std::ifstream in(host_path, std::ios::binary);
  if (!in) return cli_error(exit_status::kBadInput, cat(host_path, ": ", std::strerror(errno)));
  write_header(path, S_IFREG | (permissions & 07777), mtime, expected_size, 1);

  std::array<char, 64 * 1024> buffer;
  std::uint64_t copied = 0;
  while (copied < expected_size) {
    auto want = static_cast<std::streamsize>(
        std::min<std::uint64_t>(buffer.size(), expected_size - copied));
    in.read(buffer.data(), want);
    std::streamsize got = in.gcount();
    if (got <= 0) break;
    m_out.write(buffer.data(), got);
    copied += static_cast<std::uint64_t>(got);
  }
  m_offset += copied;
  if (copied != expected_size || in.peek() != std::char_traits<char>::eof())
    return cli_error(exit_status::kBadInput,
                     cat(host_path, ": changed while it was being packed (try again)"));
  pad();
  return {};
}

void CpioWriter::finish() {
  write_header("TRAILER!!!", 0, 0, 0, 1);
}
