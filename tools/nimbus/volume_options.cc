// --volume: parsing, the host check, and what QEMU and the kernel are told.
#include "volume_options.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <chrono>
#include <iostream>

#include "child_process.h"
#include "ext4_image.h"
#include "guest_mount_option.h"
#include "text.h"

CliResult<VolumeOption> parse_volume_option(std::string_view text) {
  auto usage = [&] {
    return usage_error(cat("--volume needs FILE:GUESTDIR[:ro] (an ext4 image and an absolute guest directory), not '",
                           text, "'"));
  };
  auto option = split_guest_mount_option(text);
  if (!option) return usage();
  return VolumeOption{std::move(option->host), std::move(option->guest_dir), option->read_only};
}

CliResult<void> prepare_volume_file(const VolumeOption& volume, uint64_t size_mib, bool verbose) {
  struct stat info;
  if (stat(volume.file.c_str(), &info) != 0) {
    if (errno != ENOENT || volume.read_only)
      return cli_error(exit_status::kBadInput, cat("--volume ", volume.file, ": ", strerror(errno),
                                                   volume.read_only ? " (a read-only volume must exist)" : ""));
    // A sparse file: only what ext4 writes takes room on the host.
    int fd = open(volume.file.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) return cli_error(exit_status::kBadInput, cat("--volume ", volume.file, ": ", strerror(errno)));
    bool sized = ftruncate(fd, static_cast<off_t>(size_mib) << 20) == 0;
    int saved = errno;
    close(fd);
    if (!sized) {
      unlink(volume.file.c_str());
      return cli_error(exit_status::kBadInput, cat("--volume ", volume.file, ": ", strerror(saved)));
    }
    std::optional<std::string> mke2fs = find_mke2fs();
    if (!mke2fs) {
      unlink(volume.file.c_str());
      return cli_error(exit_status::kBadInput, cat("--volume ", volume.file,
                                                   ": making it needs mke2fs (apt-get install e2fsprogs)"));
    }
    ChildSpec spec;
    spec.argv = {*mke2fs, "-q", "-F", "-t", "ext4", volume.file};
    spec.detach_stdio = true;
    spec.time_limit = std::chrono::minutes(2);
    auto made = run_child(spec);
    if (!made || made->ending != ChildOutcome::Ending::Exited || made->code != 0) {
      unlink(volume.file.c_str());
      return cli_error(exit_status::kBadInput,
                       cat("--volume ", volume.file, ": mke2fs failed"));
    }
    if (verbose) std::cerr << "nimbus: made " << volume.file << " (ext4, " << size_mib << " MiB, sparse)\n";
    return {};
  }
  if (!S_ISREG(info.st_mode) && !S_ISBLK(info.st_mode))
    return cli_error(exit_status::kBadInput, cat("--volume ", volume.file, ": not a regular file"));
  if (access(volume.file.c_str(), volume.read_only ? R_OK : R_OK | W_OK) != 0)
    return cli_error(exit_status::kBadInput, cat("--volume ", volume.file, ": ", strerror(errno),
                                                 volume.read_only ? "" : " (attach it with :ro to read it only)"));
  return {};
}

std::string guest_disk_name(DiskDevice device, std::size_t index) {
  if (device == DiskDevice::Nvme) return cat("nvme", index, "n1");
  return cat("vd", static_cast<char>('a' + index));
}

namespace {

// One disk's -drive and -device. NVMe needs a serial number (Identify Controller's SN); QEMU
// numbers the controllers' PCI slots in command-line order, which is the kernel's order too.
std::vector<std::string> disk_args(const std::string& file, bool read_only, const std::string& id, DiskDevice device) {
  std::string drive = cat("file=", escape_qemu_commas(file), ",format=raw,if=none,", read_only ? "readonly=on," : "", "id=", id);
  std::string model;
  switch (device) {
    case DiskDevice::VirtioMmio: model = cat("virtio-blk-device,drive=", id); break;
    case DiskDevice::VirtioPci: model = cat("virtio-blk-pci-non-transitional,romfile=,drive=", id); break;
    case DiskDevice::Nvme: model = cat("nvme,romfile=,serial=", id, ",drive=", id); break;
  }
  return {"-drive", drive, "-device", model};
}

}  // namespace

std::vector<std::string> qemu_volume_args(const std::vector<VolumeOption>& volumes, DiskDevice device) {
  std::vector<std::string> args;
  for (size_t i = 0; i < volumes.size(); i++) {
    std::vector<std::string> disk = disk_args(volumes[i].file, volumes[i].read_only, cat("nimbus-volume", i), device);
    args.insert(args.end(), disk.begin(), disk.end());
  }
  return args;
}

std::vector<std::string> qemu_root_disk_args(const std::string& file, DiskDevice device, std::size_t) {
  return disk_args(file, true, "nimbus-root", device);
}

std::string root_disk_kernel_word(DiskDevice device, std::size_t volume_count) {
  return cat("root=", guest_disk_name(device, volume_count));
}

std::vector<std::string> volume_kernel_words(const std::vector<VolumeOption>& volumes, DiskDevice device) {
  std::vector<std::string> words;
  for (size_t i = 0; i < volumes.size(); i++)
    words.push_back(cat("volume=", guest_disk_name(device, i), ":", volumes[i].guest_dir, volumes[i].read_only ? ":ro" : ":rw"));
  return words;
}
