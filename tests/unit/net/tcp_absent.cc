// TEST ONLY: TcpProtocol as if TCP were absent (the `tcp` helper writes the real one), so
// the stack links in host tests: segments are dropped, stream sockets are refused.
#include "kernel/net/tcp/tcp_protocol.h"

namespace nimbus::net {

TcpProtocol::TcpProtocol(NetStack& stack) : m_stack(stack) {}
TcpProtocol::~TcpProtocol() = default;
void TcpProtocol::receive(const IpReceiveInfo&, Packet* packet) { Packet::free(packet); }
void TcpProtocol::icmp_error(const IpReceiveInfo&, uint8_t, uint8_t, uint32_t, const IpAddress&,
                             std::span<const std::byte>) {}
Result<RefPtr<Socket>> TcpProtocol::create_socket(int) { return error(Errno::eafnosupport); }

}  // namespace nimbus::net
