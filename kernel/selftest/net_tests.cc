// Self-test of the virtio-net driver on its own: an ARP request for QEMU user networking's
// gateway goes out through the device and the gateway's reply must come back.
#include <cstring>

#include "kernel/drivers/virtio/net.h"
#include "kernel/lib/console.h"
#include "kernel/net/checksum.h"
#include "kernel/net/packet.h"
#include "kernel/selftest/selftest.h"
#include "kernel/sync/spinlock.h"
#include "kernel/sync/wait_queue.h"
#include "kernel/time/clock.h"

namespace nimbus::selftest {
namespace {

// QEMU slirp's fixed addresses (10.0.2.0/24): the guest it leases to, and the gateway.
constexpr uint8_t kGuestAddress[4] = {10, 0, 2, 15};
constexpr uint8_t kGatewayAddress[4] = {10, 0, 2, 2};
constexpr size_t kEthernetHeader = 14;
constexpr size_t kArpLength = 28;  // RFC 826 for Ethernet and IPv4
constexpr uint16_t kEtherTypeArp = 0x0806;

struct ArpWait {
  Spinlock lock;
  WaitQueue waiters;
  bool answered = false;
  uint8_t gateway_mac[6] = {};
  uint32_t frames_seen = 0;
};

// The receive thread's handler: records an ARP reply from the gateway to us.
void on_frame(void* context, net::Packet* packet) {
  auto& wait = *static_cast<ArpWait*>(context);
  const std::byte* frame = packet->data();
  bool reply = packet->length() >= kEthernetHeader + kArpLength && net::load_be16(frame + 12) == kEtherTypeArp;
  const std::byte* arp = frame + kEthernetHeader;
  // hardware 1 (Ethernet), protocol 0x0800, lengths 6 and 4, operation 2 (reply).
  reply = reply && net::load_be16(arp) == 1 && net::load_be16(arp + 2) == 0x0800 && arp[4] == std::byte{6} &&
          arp[5] == std::byte{4} && net::load_be16(arp + 6) == 2 && memcmp(arp + 14, kGatewayAddress, 4) == 0 &&
          memcmp(arp + 24, kGuestAddress, 4) == 0;
  SpinlockGuard guard(wait.lock);
  wait.frames_seen++;
  if (reply && !wait.answered) {
    memcpy(wait.gateway_mac, arp + 8, 6);
    wait.answered = true;
    wait.waiters.wake_all();
  }
  net::Packet::free(packet);
}

Result<net::Packet*> arp_request(const net::MacAddress& mac) {
  net::Packet* packet = TRY(net::Packet::try_allocate(net::Packet::kDefaultHeadroom + kEthernetHeader + kArpLength));
  std::byte* frame = packet->put(kEthernetHeader + kArpLength);
  memset(frame, 0xff, 6);  // broadcast
  memcpy(frame + 6, mac.data(), 6);
  net::store_be16(frame + 12, kEtherTypeArp);
  std::byte* arp = frame + kEthernetHeader;
  net::store_be16(arp, 1);
  net::store_be16(arp + 2, 0x0800);
  arp[4] = std::byte{6};
  arp[5] = std::byte{4};
  net::store_be16(arp + 6, 1);  // request
  memcpy(arp + 8, mac.data(), 6);
  memcpy(arp + 14, kGuestAddress, 4);
  memset(arp + 18, 0, 6);
  memcpy(arp + 24, kGatewayAddress, 4);
  return packet;
}

}  // namespace

bool virtio_net_arp() {
  virtio_net::Device* device = virtio_net::device(0);
  if (!device) {
    print("net-arp: FAILED (no virtio-net device: run with --net user)\n");
    return false;
  }
  ArpWait wait;
  device->set_receive_handler(on_frame, &wait);
  // A few tries, one second apart: the first request may go out before slirp is listening.
  constexpr int kTries = 5;
  int tries = 0;
  bool answered = false;
  for (; tries < kTries && !answered; tries++) {
    auto packet = arp_request(device->mac());
    if (!packet) break;
    if (auto sent = device->transmit(*packet); !sent) {
      print("net-arp: transmit failed (error %d)\n", static_cast<int>(sent.error()));
      continue;
    }
    uint64_t deadline = clock::monotonic_ns() + 1'000'000'000;
    bool interrupts = wait.lock.lock();
    while (!wait.answered && wait.waiters.wait_until(wait.lock, deadline)) {
    }
    answered = wait.answered;
    wait.lock.unlock(interrupts);
  }
  device->set_receive_handler(nullptr, nullptr);
  net::DeviceStatistics statistics = device->statistics();
  if (!answered) {
    print("net-arp: FAILED (no ARP reply from 10.0.2.2 after %d requests; %u frames seen, tx %lu rx %lu)\n", tries,
          wait.frames_seen, statistics.tx_packets, statistics.rx_packets);
    return false;
  }
  const uint8_t* m = wait.gateway_mac;
  print("net-arp: ok (%s: 10.0.2.2 is at %02x:%02x:%02x:%02x:%02x:%02x after %d request(s); tx %lu rx %lu)\n",
        device->name(), m[0], m[1], m[2], m[3], m[4], m[5], tries, statistics.tx_packets, statistics.rx_packets);
  return true;
}

}  // namespace nimbus::selftest
