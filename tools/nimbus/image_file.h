// Image files: writing one from an ImagePlan, checking one, and copying its parts out.
#pragma once

#include <string>
#include <vector>

#include "cli_error.h"
#include "image_format.h"
#include "image_plan.h"
#include "sha256.h"

// Writes the image (header, kernel, cpio archive, kernel words) to `path` through a temporary
// file in the same directory, renamed into place when complete. Write failures: kCliFailure.
CliResult<ImageHeader> write_image(const ImagePlan& plan, const std::string& path);

// True when the file starts with the image magic (it may still be damaged).
bool looks_like_image(const std::string& path);

// Reads the header and checks it and the SHA-256 of the contents; a truncated, corrupt or
// unknown-version image fails with kBadImage.
CliResult<ImageHeader> verify_image(const std::string& path);

// Copies one section of an image into a new file at `out`; returns the SHA-256 of the copy.
CliResult<Sha256::Digest> extract_section(const std::string& image, const ImageSection& section,
                                          const std::string& out);
CliResult<std::string> read_section(const std::string& image, const ImageSection& section);

// The kernel words section holds words separated by single spaces.
std::string join_words(const std::vector<std::string>& words);
std::vector<std::string> split_words(const std::string& text);
