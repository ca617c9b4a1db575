// cache_command(): `nimbus cache ls|prune|clear|--limit SIZE`, which shows and trims the image
// cache.
#include "cache_command.h"

#include <time.h>

#include <iostream>
#include <string>

#include "cache_size.h"
#include "cli_error.h"
#include "image_cache.h"
#include "text.h"

namespace {

constexpr std::string_view kChoices = "ls, prune [--all], clear or --limit SIZE";

std::string local_time(std::int64_t ns) {
  time_t seconds = static_cast<time_t>(ns / 1'000'000'000);
  struct tm parts {};
  char text[32] = {};
  if (!::localtime_r(&seconds, &parts) ||
      !std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &parts))
    return "?";
  return text;
}

std::string padded(std::string text, std::size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

std::string images_count(std::size_t count) {
  return cat(count, count == 1 ? " image" : " images");
}

void print_listing(const ImageCache& cache, const CacheListing& listing) {
  std::string where = cat(" in ", cache.root().string());
  std::string limit = cat("limit ", format_size(cache.limit()));
  if (listing.images.empty()) {
    std::cout << "no cached images (" << format_size(listing.total_bytes) << ", " << limit << ")"
              << where << '\n';
    return;
  }
  std::cout << "IMAGE         SIZE    SHARED  LAST USE             PROGRAM\n";
  for (const CachedImageInfo& image : listing.images) {
    std::cout << padded(image.name.substr(0, 12), 14) << padded(format_size(image.bytes), 8)
              << padded(format_size(image.shared_bytes), 8)
              << padded(local_time(image.last_use_ns), 21)
              << (image.label.empty() ? "?" : image.label) << (image.in_use ? "  [in use]" : "")
              << '\n';
  }
  std::cout << images_count(listing.images.size()) << ", " << format_size(listing.total_bytes)
            << " (shared files counted once; " << limit << ")" << where << '\n';
}

void print_report(const ImageCache& cache, const PruneReport& report) {
  std::uint64_t freed =
      report.bytes_before > report.bytes_after ? report.bytes_before - report.bytes_after : 0;
  std::cout << "removed " << images_count(report.removed.size()) << ", freed " << format_size(freed)
            << "; the cache holds " << format_size(report.bytes_after) << " (limit "
            << format_size(cache.limit()) << ")\n";
  for (const std::string& label : report.removed) std::cout << "  removed: " << label << '\n';
  if (report.products_removed > 0)
    std::cout << "removed the packed root file system of " << images_count(report.products_removed)
              << " (their files stay; the next run packs it again)\n";
  if (report.kept_in_use > 0)
    std::cout << "kept " << images_count(report.kept_in_use) << " in use by a running nimbus\n";
}

CliResult<int> cache(std::span<const std::string_view> args) {
  if (args.empty())
    return usage_error(cat("cache needs a command: ", kChoices, " (see nimbus --help)"));
  std::string_view command = args[0];
  std::span<const std::string_view> rest = args.subspan(1);
  std::optional<std::string_view> limit_text;
  if (command == "--limit" || command.starts_with("--limit=")) {
    if (command.starts_with("--limit=")) {
      limit_text = command.substr(8);
    } else {
      if (rest.empty()) return usage_error("option '--limit' needs a value (e.g. 4G, 500M, 0)");
      limit_text = rest[0];
      rest = rest.subspan(1);
    }
  }
  bool all = false;
  if (command == "prune" && !rest.empty() && rest[0] == "--all") {
    all = true;
    rest = rest.subspan(1);
  }
  if (!rest.empty())
    return usage_error(cat("cache ", command, ": unexpected ",
                           rest[0].starts_with("-") ? "option" : "argument", " '", rest[0],
                           "' (see nimbus --help)"));

  if (limit_text) {
    auto bytes = parse_cache_size(*limit_text);
    if (!bytes)
      return usage_error(cat("--limit: '", *limit_text, "' is not a size (e.g. 4G, 500M, 0)"));
    ImageCache image_cache = TRY_CLI(ImageCache::open());
    PruneReport report = TRY_CLI(image_cache.set_limit(*bytes));
    std::cout << "cache limit set to " << format_size(*bytes) << '\n';
    if (image_cache.limit_from_environment())
      std::cout << "(NIMBUS_CACHE_SIZE is set and overrides it while it is: "
                << format_size(image_cache.limit()) << ")\n";
    print_report(image_cache, report);
    return 0;
  }
  if (command != "ls" && command != "prune" && command != "clear") {
    return usage_error(cat("cache: unknown ", command.starts_with("-") ? "option" : "command", " '",
                           command, "' (use ", kChoices, ")"));
  }
  ImageCache image_cache = TRY_CLI(ImageCache::open());
  if (command == "ls") {
    print_listing(image_cache, TRY_CLI(image_cache.list()));
  } else if (command == "prune") {
    print_report(image_cache, TRY_CLI(image_cache.prune(all)));
  } else {
    print_report(image_cache, TRY_CLI(image_cache.clear()));
  }
  return 0;
}

}  // namespace

int cache_command(std::span<const std::string_view> args) {
  auto status = cache(args);
  if (status) return *status;
  std::cerr << "nimbus: " << status.error().message << std::endl;
  return status.error().exit_status;
}
