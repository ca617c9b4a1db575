// The image file's header: magic, format version, where the kernel, the initrd and the kernel
// command line and the root disk are, and the SHA-256 of all of them (see docs/image-format.md).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "cli_error.h"
#include "sha256.h"

inline constexpr std::string_view kImageMagic = "NIMBUS-IMAGE\n";
// Version 2 adds the root file system as an ext4 disk; version 1 images (initrd only) still run.
inline constexpr std::uint32_t kImageVersion = 2;
inline constexpr std::uint32_t kInitrdOnlyVersion = 1;
inline constexpr std::size_t kImageHeaderSize = 128;

struct ImageSection {
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
};

struct ImageHeader {
  std::uint64_t image_size = 0;  // the whole file, header included
  ImageSection kernel;
  ImageSection initrd;
  ImageSection command_line;
  ImageSection disk;  // the root file system as an ext4 image; empty in version 1
  Sha256::Digest digest{};  // SHA-256 of bytes [kImageHeaderSize, image_size)
};

bool has_image_magic(std::span<const std::byte> start);

std::array<std::byte, kImageHeaderSize> encode_image_header(const ImageHeader& header);

// Checks everything the header alone can tell against the file's real size: magic, version,
// section bounds and overlaps. The digest is checked by whoever reads the contents. Errors carry
// kBadImage and say what is wrong, with `name` (the file) in front.
CliResult<ImageHeader> decode_image_header(std::span<const std::byte> bytes,
                                           std::uint64_t file_size, std::string_view name);
