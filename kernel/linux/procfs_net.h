// /proc/net and /proc/sys/net: the network stack as Linux's text files show it.
#pragma once

#include <span>

#include "kernel/linux/synthetic_fs.h"

namespace nimbus::linux {

std::span<const SyntheticEntry> proc_net_entries();      // /proc/net (also /proc/self/net)
std::span<const SyntheticEntry> proc_sys_net_entries();  // /proc/sys/net

}  // namespace nimbus::linux
