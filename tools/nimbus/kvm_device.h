// KvmDevice: what /dev/kvm is on this host (present, usable by us, which driver serves it).
#pragma once

#include <string>

struct KvmDevice {
  bool usable = false;   // openable read-write
  std::string problem;   // why it is not usable, for the fallback notice
  std::string identity;  // device number, access and loaded kvm modules, for the host cache key
};

KvmDevice inspect_kvm_device();
