// The SIOCGIF* ioctls (netdevice(7)) that any socket answers about the stack's interfaces:
// glibc's if_nametoindex and if_indextoname use them, as do ifconfig-style tools.
#include "kernel/linux/socket_interface_ioctls.h"

#include <cstring>

#include "kernel/linux/user_memory.h"
#include "kernel/net/net_stack.h"
#include "kernel/net/net_statistics.h"

namespace nimbus::linux {
namespace {

constexpr uint32_t kSiocgifname = 0x8910, kSiocgifconf = 0x8912, kSiocgifflags = 0x8913, kSiocgifaddr = 0x8915,
                   kSiocgifdstaddr = 0x8917, kSiocgifbrdaddr = 0x8919, kSiocgifnetmask = 0x891b,
                   kSiocgifmetric = 0x891d, kSiocgifmtu = 0x8921, kSiocgifhwaddr = 0x8927, kSiocgifindex = 0x8933,
                   kSiocgiftxqlen = 0x8942;
constexpr uint16_t kAfInet = 2;
constexpr uint16_t kArphrdEther = 1, kArphrdLoopback = 772;
constexpr uint16_t kIffUp = 0x1, kIffBroadcast = 0x2, kIffLoopback = 0x8, kIffRunning = 0x40, kIffMulticast = 0x1000;
constexpr size_t kMaxInterfaces = net::NetStack::kMaxInterfaces;

// struct ifreq: a name, then a 24-byte union.
struct InterfaceRequest {
  char name[16];
  union {
    std::byte raw[24];
    struct {
      uint16_t family;
      std::byte data[14];
    } address;
    int16_t flags;
    int32_t value;  // ifindex, mtu, metric, qlen
  };
};
static_assert(sizeof(InterfaceRequest) == 40);

// struct ifconf.
struct InterfaceList {
  int32_t length;
  uint32_t pad;
  InterfaceRequest* requests;
};
static_assert(sizeof(InterfaceList) == 16);

void put_ipv4(InterfaceRequest& request, net::Ipv4Address address) {
  memset(request.raw, 0, sizeof request.raw);
  request.address.family = kAfInet;
  // struct sockaddr_in: the port (0), then the address in network order.
  for (int i = 0; i < 4; i++) request.address.data[2 + i] = std::byte(address.value >> (24 - 8 * i));
}

Result<net::InterfaceSnapshot> find_by_name(net::NetStack& stack, const char (&name)[16]) {
  net::InterfaceSnapshot list[kMaxInterfaces];
  size_t count = stack.interface_snapshots(list);
  size_t length = strnlen(name, sizeof name);
  for (size_t i = 0; i < count && i < kMaxInterfaces; i++)
    if (strnlen(list[i].name, sizeof list[i].name) == length && memcmp(list[i].name, name, length) == 0) return list[i];
  return error(Errno::enodev);
}

// SIOCGIFCONF: one ifreq per interface with an IPv4 address, or the room needed when the
// buffer is NULL.
Result<long> list_interfaces(net::NetStack& stack, uintptr_t argument) {
  auto* user_list = reinterpret_cast<InterfaceList*>(argument);
  InterfaceList list = TRY(user::read(user_list));
  if (list.length < 0) return error(Errno::einval);
  net::InterfaceSnapshot interfaces[kMaxInterfaces];
  size_t count = stack.interface_snapshots(interfaces);
  int32_t used = 0;
  for (size_t i = 0; i < count && i < kMaxInterfaces; i++) {
    const net::InterfaceSnapshot* snapshot = &interfaces[i];
    if (!snapshot->has_ipv4) continue;
    if (list.requests) {
      if (list.length - used < static_cast<int32_t>(sizeof(InterfaceRequest))) break;
      InterfaceRequest request{};
      memcpy(request.name, snapshot->name, sizeof request.name);
      put_ipv4(request, snapshot->ipv4_address);
      TRY(user::write(reinterpret_cast<InterfaceRequest*>(reinterpret_cast<std::byte*>(list.requests) + used), request));
    }
    used += static_cast<int32_t>(sizeof(InterfaceRequest));
  }
  list.length = used;
  TRY(user::write(user_list, list));
  return 0;
}

}  // namespace

bool is_interface_ioctl(uint32_t request) {
  switch (request) {
    case kSiocgifname:
    case kSiocgifconf:
    case kSiocgifflags:
    case kSiocgifaddr:
    case kSiocgifdstaddr:
    case kSiocgifbrdaddr:
    case kSiocgifnetmask:
    case kSiocgifmetric:
    case kSiocgifmtu:
    case kSiocgifhwaddr:
    case kSiocgifindex:
    case kSiocgiftxqlen: return true;
    default: return false;
  }
}

Result<long> interface_ioctl(net::NetStack* stack, uint32_t request, uintptr_t argument) {
  if (!stack) return error(Errno::enodev);
  if (request == kSiocgifconf) return list_interfaces(*stack, argument);
  auto* user_request = reinterpret_cast<InterfaceRequest*>(argument);
  InterfaceRequest in = TRY(user::read(user_request));
  net::InterfaceSnapshot snapshot;
  if (request == kSiocgifname) {
    auto found = in.value > 0 ? stack->interface_snapshot(static_cast<uint32_t>(in.value)) : error(Errno::enodev);
    if (!found) return error(Errno::enodev);
    snapshot = *found;
  } else {
    in.name[sizeof in.name - 1] = '\0';
    snapshot = TRY(find_by_name(*stack, in.name));
  }
  InterfaceRequest out = in;
  memset(out.raw, 0, sizeof out.raw);
  bool loopback = snapshot.features.loopback;
  switch (request) {
    case kSiocgifname:
      memset(out.name, 0, sizeof out.name);
      memcpy(out.name, snapshot.name, sizeof out.name);
      out.value = in.value;
      break;
    case kSiocgifindex: out.value = static_cast<int32_t>(snapshot.index); break;
    case kSiocgifflags:
      // Interfaces are up and running from the moment the stack has them.
      out.flags = static_cast<int16_t>(kIffUp | kIffRunning | (loopback ? kIffLoopback : kIffBroadcast | kIffMulticast));
      break;
    case kSiocgifmtu: out.value = static_cast<int32_t>(snapshot.mtu); break;
    case kSiocgifmetric: out.value = 0; break;
    case kSiocgiftxqlen: out.value = 1000; break;
    case kSiocgifhwaddr:
      out.address.family = loopback ? kArphrdLoopback : kArphrdEther;
      memcpy(out.address.data, snapshot.mac.data(), snapshot.mac.size());
      break;
    case kSiocgifaddr:
    case kSiocgifdstaddr:
    case kSiocgifbrdaddr:
    case kSiocgifnetmask: {
      if (!snapshot.has_ipv4) return error(Errno::eaddrnotavail);
      uint32_t mask = net::ipv4_netmask(snapshot.ipv4_prefix_length);
      net::Ipv4Address value = snapshot.ipv4_address;
      if (request == kSiocgifnetmask) value = {mask};
      if (request == kSiocgifbrdaddr) value = {loopback ? 0 : (snapshot.ipv4_address.value | ~mask)};
      put_ipv4(out, value);
      break;
    }
    default: return error(Errno::enotty);
  }
  TRY(user::write(user_request, out));
  return 0;
}

}  // namespace nimbus::linux
