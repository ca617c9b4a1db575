// KvmDevice: what /dev/kvm is on this host (present, usable by us, which driver serves it).
#include "kvm_device.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "text.h"

namespace {

constexpr const char* kKvmPath = "/dev/kvm";

// kvm_intel, kvm_amd and kvm_pvm all serve the same device number; the module list tells them
// apart.
std::string loaded_kvm_modules() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/sys/module", ec)) {
    std::string name = entry.path().filename().string();
    if (name.starts_with("kvm")) names.push_back(name);
  }
  std::ranges::sort(names);
  std::string joined;
  for (const std::string& name : names) joined += (joined.empty() ? "" : ",") + name;
  return joined.empty() ? "none" : joined;
}

}  // namespace

KvmDevice inspect_kvm_device() {
  KvmDevice device;
  struct stat st {};
  if (::stat(kKvmPath, &st) != 0 || !S_ISCHR(st.st_mode)) {
    device.problem = cat(kKvmPath, " does not exist");
    device.identity = "kvm=absent";
    return device;
  }
  int fd = ::open(kKvmPath, O_RDWR | O_CLOEXEC);
  if (fd >= 0) {
    ::close(fd);
    device.usable = true;
  } else {
    device.problem = cat("cannot open ", kKvmPath, " read-write: ", std::strerror(errno));
  }
  device.identity = cat("kvm=", major(st.st_rdev), ":", minor(st.st_rdev),
                        device.usable ? " rw" : " no-access", " modules=", loaded_kvm_modules());
  return device;
}
