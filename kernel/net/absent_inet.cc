// TEMPORARY, deleted by the merge: stand-ins for the IPv4/IPv6 stack (branches net-core and
// tcp) so the socket layer links without it. With no stack, AF_INET/AF_INET6 are EAFNOSUPPORT.
#include "kernel/net/net_stack.h"
#include "kernel/net/tcp/tcp_protocol.h"
#include "kernel/net/udp.h"

namespace nimbus::net {

NetStack* kernel_net_stack() { return nullptr; }
Result<RefPtr<Socket>> TcpProtocol::create_socket(int) { return error(Errno::eafnosupport); }
Result<RefPtr<Socket>> UdpProtocol::create_socket(int) { return error(Errno::eafnosupport); }

}  // namespace nimbus::net
