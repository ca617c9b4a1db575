// The SIOCGIF* ioctls: what any socket tells about the network interfaces (netdevice(7)).
#pragma once

#include <cstdint>

#include "kernel/lib/result.h"

namespace nimbus::net {
class NetStack;
}

namespace nimbus::linux {

bool is_interface_ioctl(uint32_t request);
// `argument` is the application's struct ifreq (or struct ifconf for SIOCGIFCONF), checked
// here. ENODEV for an unknown interface (or no stack), EADDRNOTAVAIL when it has no address.
Result<long> interface_ioctl(net::NetStack* stack, uint32_t request, uintptr_t argument);

}  // namespace nimbus::linux
