// The guest memory an image needs: its initrd stays in RAM (the kernel uses its bytes in
// place), so --memory must hold it, the kernel's records of its files, and the program. With a
// root disk (version 2 images) the initrd is only /etc and /tmp and the files are read on demand.
#include "memory_fit.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "text.h"

namespace {

constexpr std::uint64_t kMib = 1 << 20;
constexpr std::uint64_t kKernelMib = 4;          // the kernel's own needs, with a tiny program
constexpr std::uint64_t kBytesPerEntry = 512;    // vnode, name and page-tree root per entry
constexpr std::uint64_t kProgramMarginMib = 96;  // left for the program by default
constexpr std::uint64_t kDefaultMib = 128;
constexpr std::uint64_t kRoundingMib = 32;
// The disk's file system: its group descriptors and the first blocks and pages the boot reads.
// The block cache (up to 4 MiB) and the page cache grow on demand, and the page cache gives
// its pages back, so neither must fit up front.
constexpr std::uint64_t kDiskRootMib = 1;

constexpr std::size_t kNewcHeader = 110;
constexpr std::string_view kNewcMagic = "070701";
constexpr std::string_view kTrailer = "TRAILER!!!";

std::uint64_t align4(std::uint64_t n) {
  return (n + 3) & ~std::uint64_t{3};
}

std::optional<std::uint32_t> hex_field(const std::array<char, kNewcHeader>& header, int index) {
  const char* first = header.data() + kNewcMagic.size() + 8 * index;
  std::uint32_t value = 0;
  auto [end, ec] = std::from_chars(first, first + 8, value, 16);
  if (ec != std::errc{} || end != first + 8) return std::nullopt;
  return value;
}

// Entries up to the trailer; 0 when the file is not a newc archive (a hand-made --initrd).
std::uint64_t count_entries(int fd, std::uint64_t size) {
  std::uint64_t offset = 0;
  std::uint64_t entries = 0;
  std::array<char, kNewcHeader> header{};
  std::array<char, kTrailer.size() + 1> name{};
  while (offset + kNewcHeader <= size) {
    if (::pread(fd, header.data(), header.size(), static_cast<off_t>(offset)) !=
        static_cast<ssize_t>(header.size()))
      return 0;
    if (std::string_view(header.data(), kNewcMagic.size()) != kNewcMagic) return 0;
    auto file_size = hex_field(header, 6);
    auto name_size = hex_field(header, 11);
    if (!file_size || !name_size) return 0;
    if (*name_size == name.size()) {
      ::pread(fd, name.data(), name.size(), static_cast<off_t>(offset + kNewcHeader));
      if (std::string_view(name.data(), kTrailer.size()) == kTrailer) return entries;
    }
    ++entries;
    offset = align4(align4(offset + kNewcHeader + *name_size) + *file_size);
  }
  return 0;
}

std::uint64_t round_up(std::uint64_t value, std::uint64_t step) {
  return (value + step - 1) / step * step;
}

}  // namespace

CliResult<InitrdSize> measure_initrd(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return cli_error(exit_status::kCliFailure, cat("initrd ", path, ": ", std::strerror(errno)));
  struct stat st {};
  InitrdSize result;
  if (::fstat(fd, &st) == 0) {
    result.bytes = static_cast<std::uint64_t>(st.st_size);
    result.entries = count_entries(fd, result.bytes);
  }
  ::close(fd);
  return result;
}

std::uint64_t minimum_memory_mib(const InitrdSize& initrd) {
  std::uint64_t bytes = initrd.bytes + initrd.entries * kBytesPerEntry;
  return round_up(bytes, kMib) / kMib + kKernelMib + (initrd.root_on_disk ? kDiskRootMib : 0);
}

std::uint64_t default_memory_mib(const InitrdSize& initrd) {
  return std::max(kDefaultMib,
                  round_up(minimum_memory_mib(initrd) + kProgramMarginMib, kRoundingMib));
}

CliResult<std::uint64_t> fit_memory(const InitrdSize& initrd,
                                    std::optional<std::uint64_t> requested) {
  if (!requested) return default_memory_mib(initrd);
  std::uint64_t minimum = minimum_memory_mib(initrd);
  if (*requested < minimum && initrd.root_on_disk)
    return usage_error(cat("the image needs at least ", minimum, " MiB of memory (the kernel, its disk "
                           "cache and /etc, which stays in RAM), and --memory gives ", *requested,
                           " MiB; use --memory ", minimum, "M or more (or leave --memory out)"));
  if (*requested < minimum)
    return usage_error(cat("the image needs at least ", minimum, " MiB of memory (its root file "
                           "system, ", round_up(initrd.bytes, kMib) / kMib,
                           " MiB, stays in RAM), and --memory gives ", *requested,
                           " MiB; use --memory ", default_memory_mib(initrd),
                           "M or more (or leave --memory out)"));
  return *requested;
}
