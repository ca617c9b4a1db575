// Helpers for the network unit tests: a mock NIC that records what the stack sends, and
// builders for Ethernet, ARP, IPv4, ICMP and UDP bytes and socket addresses.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include "kernel/net/checksum.h"
#include "kernel/net/net_device.h"
#include "kernel/net/net_stack.h"
#include "kernel/net/socket.h"

namespace nimbus::net::test {

using Bytes = std::vector<std::byte>;

// A NIC whose transmit records the frame (and frees the packet).
class MockDevice final : public NetDevice {
 public:
  explicit MockDevice(MacAddress mac = {0x02, 0, 0, 0, 0, 0xaa}, uint32_t mtu = 1500) : m_mac(mac), m_mtu(mtu) {}
  const char* name() const override { return "eth0"; }
  MacAddress mac() const override { return m_mac; }
  uint32_t mtu() const override { return m_mtu; }
  DeviceFeatures features() const override { return m_features; }
  Result<> transmit(Packet* packet) override {
    frames.emplace_back(packet->data(), packet->data() + packet->length());
    offloads.push_back(packet->offload);
    Packet::free(packet);
    return {};
  }
  DeviceStatistics statistics() const override { return {}; }

  DeviceFeatures m_features;
  std::vector<Bytes> frames;
  std::vector<PacketOffload> offloads;

 private:
  MacAddress m_mac;
  uint32_t m_mtu;
};

inline Packet* make_packet(const Bytes& bytes) {
  Packet* packet = *Packet::try_allocate(Packet::kDefaultHeadroom + bytes.size() + 64);
  if (!bytes.empty()) std::memcpy(packet->put(bytes.size()), bytes.data(), bytes.size());
  return packet;
}

inline Bytes bytes_of(const std::string& text) {
  Bytes out(text.size());
  std::memcpy(out.data(), text.data(), text.size());
  return out;
}

inline Bytes ethernet_frame(MacAddress destination, MacAddress source, uint16_t type, const Bytes& payload) {
  Bytes frame(14);
  std::memcpy(frame.data(), destination.data(), 6);
  std::memcpy(frame.data() + 6, source.data(), 6);
  store_be16(frame.data() + 12, type);
  frame.insert(frame.end(), payload.begin(), payload.end());
  return frame;
}

inline Bytes arp_payload(uint16_t operation, MacAddress sender_mac, Ipv4Address sender_ip, MacAddress target_mac,
                         Ipv4Address target_ip) {
  Bytes p(28);
  store_be16(p.data(), 1);
  store_be16(p.data() + 2, 0x0800);
  p[4] = std::byte{6};
  p[5] = std::byte{4};
  store_be16(p.data() + 6, operation);
  std::memcpy(p.data() + 8, sender_mac.data(), 6);
  store_be32(p.data() + 14, sender_ip.value);
  std::memcpy(p.data() + 18, target_mac.data(), 6);
  store_be32(p.data() + 24, target_ip.value);
  return p;
}

struct Ipv4Fields {
  Ipv4Address source, destination;
  uint8_t protocol = 17;
  uint16_t id = 1;
  bool dont_fragment = false;
  bool more_fragments = false;
  uint16_t offset_bytes = 0;
  uint8_t ttl = 64;
};

inline Bytes ipv4_datagram(const Ipv4Fields& f, const Bytes& payload) {
  Bytes d(20);
  d[0] = std::byte{0x45};
  store_be16(d.data() + 2, static_cast<uint16_t>(20 + payload.size()));
  store_be16(d.data() + 4, f.id);
  uint16_t flags = static_cast<uint16_t>(f.offset_bytes / 8);
  if (f.dont_fragment) flags |= 0x4000;
  if (f.more_fragments) flags |= 0x2000;
  store_be16(d.data() + 6, flags);
  d[8] = std::byte{f.ttl};
  d[9] = std::byte{f.protocol};
  store_be32(d.data() + 12, f.source.value);
  store_be32(d.data() + 16, f.destination.value);
  store_be16(d.data() + 10, internet_checksum(d));
  d.insert(d.end(), payload.begin(), payload.end());
  return d;
}

inline Bytes udp_segment(Ipv4Address source, Ipv4Address destination, uint16_t source_port, uint16_t destination_port,
                         const Bytes& payload, bool with_checksum = true) {
  Bytes u(8);
  store_be16(u.data(), source_port);
  store_be16(u.data() + 2, destination_port);
  store_be16(u.data() + 4, static_cast<uint16_t>(8 + payload.size()));
  u.insert(u.end(), payload.begin(), payload.end());
  if (with_checksum) {
    uint32_t sum = pseudo_header_sum_ipv4(source, destination, 17, static_cast<uint32_t>(u.size()));
    uint16_t checksum = checksum_finish(checksum_add(sum, u));
    store_be16(u.data() + 6, checksum == 0 ? 0xffff : checksum);
  }
  return u;
}

inline Bytes icmp_echo(uint8_t type, uint16_t id, uint16_t sequence, const Bytes& data) {
  Bytes m(8);
  m[0] = std::byte{type};
  store_be16(m.data() + 4, id);
  store_be16(m.data() + 6, sequence);
  m.insert(m.end(), data.begin(), data.end());
  store_be16(m.data() + 2, internet_checksum(m));
  return m;
}

inline SocketAddress sockaddr_v4(Ipv4Address address, uint16_t port, uint16_t family = 2) {
  SocketAddress out;
  std::memcpy(out.bytes.data(), &family, 2);
  store_be16(out.bytes.data() + 2, port);
  store_be32(out.bytes.data() + 4, address.value);
  out.length = 16;
  return out;
}

// sockaddr_in6 for ::ffff:a.b.c.d (or :: when `any`).
inline SocketAddress sockaddr_v6_mapped(Ipv4Address address, uint16_t port, bool any = false) {
  SocketAddress out;
  uint16_t family = 10;
  std::memcpy(out.bytes.data(), &family, 2);
  store_be16(out.bytes.data() + 2, port);
  if (!any) {
    IpAddress mapped = IpAddress::from_ipv4(address);
    std::memcpy(out.bytes.data() + 8, mapped.bytes.data(), 16);
  }
  out.length = 28;
  return out;
}

inline uint16_t sockaddr_port(const SocketAddress& address) { return load_be16(address.bytes.data() + 2); }
inline Ipv4Address sockaddr_v4_address(const SocketAddress& address) { return {load_be32(address.bytes.data() + 4)}; }

// One send of `data` (to `destination` when given).
inline Result<size_t> send_bytes(Socket& socket, const Bytes& data, const SocketAddress* destination = nullptr,
                                 uint32_t flags = 0) {
  fs::IoVec vector{const_cast<std::byte*>(data.data()), data.size()};
  SendRequest request;
  request.data = {&vector, 1};
  request.destination = destination;
  request.flags = flags;
  return socket.send(request);
}

struct Received {
  Bytes data;
  SocketAddress source;
  uint32_t result_flags = 0;
  size_t returned = 0;
};

inline Result<Received> receive_bytes(Socket& socket, size_t capacity, uint32_t flags = 0x40 /* MSG_DONTWAIT */) {
  Received out;
  out.data.resize(capacity);
  fs::IoVec vector{out.data.data(), capacity};
  ReceiveRequest request;
  request.data = {&vector, 1};
  request.source = &out.source;
  request.flags = flags;
  request.nonblocking = (flags & 0x40) != 0;
  size_t n = TRY(socket.receive(request));
  out.returned = n;
  out.data.resize(std::min(n, capacity));
  out.result_flags = request.result_flags;
  return out;
}

}  // namespace nimbus::net::test
