// The image file's header: magic, format version, where the kernel, the initrd and the kernel
// command line are, and the SHA-256 of all of them (see docs/image-format.md).
//
// Layout, little-endian:
//    0  magic "NIMBUS-IMAGE\n" (13 bytes), 3 zero bytes
//   16  u32 format version (1 or 2)   20  u32 header size (128)
//   24  u64 image size (whole file)
//   32  u64 kernel offset             40  u64 kernel size
//   48  u64 initrd offset             56  u64 initrd size
//   64  u64 command line offset       72  u64 command line size
//   80  SHA-256 of bytes [128, image size) (32 bytes)
//  112  u64 disk offset               120  u64 disk size   (version 2; zero in version 1)
#include "image_format.h"

#include <algorithm>
#include <cstring>

#include "text.h"

namespace {

constexpr std::size_t kVersionAt = 16;
constexpr std::size_t kHeaderSizeAt = 20;
constexpr std::size_t kImageSizeAt = 24;
constexpr std::size_t kKernelAt = 32;
constexpr std::size_t kInitrdAt = 48;
constexpr std::size_t kCommandLineAt = 64;
constexpr std::size_t kDigestAt = 80;
constexpr std::size_t kDiskAt = 112;

template <typename T>
void store(std::array<std::byte, kImageHeaderSize>& out, std::size_t at, T value) {
  for (std::size_t i = 0; i < sizeof(T); ++i)
    out[at + i] = static_cast<std::byte>((value >> (8 * i)) & 0xff);
}

template <typename T>
T load(std::span<const std::byte> bytes, std::size_t at) {
  T value = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i)
    value |= static_cast<T>(std::to_integer<std::uint8_t>(bytes[at + i])) << (8 * i);
  return value;
}

bool all_zero(std::span<const std::byte> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](std::byte b) { return b == std::byte{0}; });
}

}  // namespace

bool has_image_magic(std::span<const std::byte> start) {
  return start.size() >= kImageMagic.size() &&
         std::memcmp(start.data(), kImageMagic.data(), kImageMagic.size()) == 0;
}

std::array<std::byte, kImageHeaderSize> encode_image_header(const ImageHeader& header) {
  std::array<std::byte, kImageHeaderSize> out{};
  std::memcpy(out.data(), kImageMagic.data(), kImageMagic.size());
  // Version 1 readers know no disk: an image without one stays readable by them.
  store<std::uint32_t>(out, kVersionAt, header.disk.size ? kImageVersion : kInitrdOnlyVersion);
  store<std::uint32_t>(out, kHeaderSizeAt, kImageHeaderSize);
  store<std::uint64_t>(out, kImageSizeAt, header.image_size);
  for (auto [at, section] :
       {std::pair{kKernelAt, header.kernel}, std::pair{kInitrdAt, header.initrd},
        std::pair{kCommandLineAt, header.command_line}, std::pair{kDiskAt, header.disk}}) {
    store<std::uint64_t>(out, at, section.offset);
    store<std::uint64_t>(out, at + 8, section.size);
  }
  std::memcpy(out.data() + kDigestAt, header.digest.data(), header.digest.size());
  return out;
}

CliResult<ImageHeader> decode_image_header(std::span<const std::byte> bytes,
                                           std::uint64_t file_size, std::string_view name) {
  auto bad = [&](const std::string& why) {
    return cli_error(exit_status::kBadImage, cat(name, ": not a usable Nimbus image (", why, ")"));
  };
  if (!has_image_magic(bytes)) return bad("no NIMBUS-IMAGE magic");
  if (bytes.size() < kImageHeaderSize || file_size < kImageHeaderSize)
    return bad(cat("truncated: ", file_size, " bytes, but the header alone is ", kImageHeaderSize));
  if (!all_zero(bytes.subspan(kImageMagic.size(), kVersionAt - kImageMagic.size())))
    return bad("corrupt header: the bytes after the magic are not zero");
  auto version = load<std::uint32_t>(bytes, kVersionAt);
  if (version != kImageVersion && version != kInitrdOnlyVersion)
    return bad(cat("format version ", version, "; this nimbus reads versions ", kInitrdOnlyVersion, " and ",
                   kImageVersion, ", so a newer nimbus may have written it"));
  auto header_size = load<std::uint32_t>(bytes, kHeaderSizeAt);
  if (header_size != kImageHeaderSize)
    return bad(cat("corrupt header: header size ", header_size, ", not ", kImageHeaderSize));
  if (version == kInitrdOnlyVersion && !all_zero(bytes.subspan(kDiskAt, kImageHeaderSize - kDiskAt)))
    return bad("corrupt header: reserved bytes are not zero");

  ImageHeader header;
  header.image_size = load<std::uint64_t>(bytes, kImageSizeAt);
  if (file_size < header.image_size)
    return bad(cat("truncated: ", file_size, " of ", header.image_size, " bytes"));
  if (file_size > header.image_size)
    return bad(cat(file_size - header.image_size, " unexpected bytes after the end of the image"));

  struct Named {
    const char* what;
    std::size_t at;
    ImageSection* section;
  };
  std::array<Named, 4> sections{{{"kernel", kKernelAt, &header.kernel},
                                 {"initrd", kInitrdAt, &header.initrd},
                                 {"command line", kCommandLineAt, &header.command_line},
                                 {"disk", kDiskAt, &header.disk}}};
  for (Named& named : sections) {
    *named.section = {load<std::uint64_t>(bytes, named.at),
                      load<std::uint64_t>(bytes, named.at + 8)};
    const ImageSection& s = *named.section;
    if (named.section == &header.disk && s.offset == 0 && s.size == 0) continue;  // no disk
    if (s.offset < kImageHeaderSize || s.offset > header.image_size ||
        s.size > header.image_size - s.offset)
      return bad(cat("corrupt header: the ", named.what, " lies outside the file"));
  }
  if (header.kernel.size == 0) return bad("corrupt header: the kernel is empty");
  if (header.initrd.size == 0) return bad("corrupt header: the initrd is empty");
  if (version == kImageVersion && header.disk.size == 0) return bad("corrupt header: the disk is empty");
  for (std::size_t i = 0; i < sections.size(); ++i) {
    for (std::size_t j = i + 1; j < sections.size(); ++j) {
      const ImageSection& a = *sections[i].section;
      const ImageSection& b = *sections[j].section;
      bool empty = a.size == 0 || b.size == 0;
      if (!empty && a.offset < b.offset + b.size && b.offset < a.offset + a.size)
        return bad(cat("corrupt header: the ", sections[i].what, " and the ", sections[j].what,
                       " overlap"));
    }
  }
  std::memcpy(header.digest.data(), bytes.data() + kDigestAt, header.digest.size());
  return header;
}
