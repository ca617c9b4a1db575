// Linux's socket ABI as x86-64 applications see it: address families, socket types, MSG_*
// flags, SOL_SOCKET options, control messages (include/linux/socket.h, asm-generic/socket.h).
#pragma once

#include <cstddef>
#include <cstdint>

namespace nimbus::net::abi {

// Address families (include/linux/socket.h).
constexpr int af_unspec = 0;
constexpr int af_unix = 1;
constexpr int af_inet = 2;
constexpr int af_inet6 = 10;
constexpr int af_netlink = 16;
constexpr int af_packet = 17;
constexpr int af_max = 46;

// Socket types, and the flags socket()/socketpair()/accept4() take in the type argument.
constexpr int sock_stream = 1;
constexpr int sock_dgram = 2;
constexpr int sock_raw = 3;
constexpr int sock_rdm = 4;
constexpr int sock_seqpacket = 5;
constexpr int sock_dccp = 6;
constexpr int sock_packet = 10;
constexpr int sock_type_mask = 0xf;
constexpr int sock_nonblock = 04000;     // O_NONBLOCK
constexpr int sock_cloexec = 02000000;   // O_CLOEXEC

constexpr int ipproto_ip = 0;
constexpr int ipproto_icmp = 1;
constexpr int ipproto_tcp = 6;
constexpr int ipproto_udp = 17;
constexpr int ipproto_ipv6 = 41;
constexpr int ipproto_icmpv6 = 58;

// send/recv flags.
constexpr uint32_t msg_oob = 0x1;
constexpr uint32_t msg_peek = 0x2;
constexpr uint32_t msg_dontroute = 0x4;
constexpr uint32_t msg_ctrunc = 0x8;
constexpr uint32_t msg_trunc = 0x20;
constexpr uint32_t msg_dontwait = 0x40;
constexpr uint32_t msg_eor = 0x80;
constexpr uint32_t msg_waitall = 0x100;
constexpr uint32_t msg_confirm = 0x800;
constexpr uint32_t msg_errqueue = 0x2000;
constexpr uint32_t msg_nosignal = 0x4000;
constexpr uint32_t msg_more = 0x8000;
constexpr uint32_t msg_waitforone = 0x10000;
constexpr uint32_t msg_cmsg_cloexec = 0x40000000;

constexpr int shut_rd = 0;
constexpr int shut_wr = 1;
constexpr int shut_rdwr = 2;

// SOL_SOCKET options (asm-generic/socket.h; x86-64 uses the generic numbers).
constexpr int sol_socket = 1;
constexpr int so_debug = 1;
constexpr int so_reuseaddr = 2;
constexpr int so_type = 3;
constexpr int so_error = 4;
constexpr int so_dontroute = 5;
constexpr int so_broadcast = 6;
constexpr int so_sndbuf = 7;
constexpr int so_rcvbuf = 8;
constexpr int so_keepalive = 9;
constexpr int so_oobinline = 10;
constexpr int so_no_check = 11;
constexpr int so_priority = 12;
constexpr int so_linger = 13;
constexpr int so_bsdcompat = 14;
constexpr int so_reuseport = 15;
constexpr int so_passcred = 16;
constexpr int so_peercred = 17;
constexpr int so_rcvlowat = 18;
constexpr int so_sndlowat = 19;
constexpr int so_rcvtimeo = 20;  // SO_RCVTIMEO_OLD: struct timeval of 16 bytes on x86-64
constexpr int so_sndtimeo = 21;
constexpr int so_acceptconn = 30;
constexpr int so_sndbufforce = 32;
constexpr int so_rcvbufforce = 33;
constexpr int so_mark = 36;
constexpr int so_attach_filter = 26;
constexpr int so_detach_filter = 27;
constexpr int so_timestamp = 29;    // SO_TIMESTAMP_OLD: struct timeval control messages
constexpr int so_timestampns = 35;  // SO_TIMESTAMPNS_OLD: struct timespec
constexpr int so_protocol = 38;
constexpr int so_domain = 39;

// Control messages at SOL_SOCKET.
constexpr int scm_rights = 1;
constexpr int scm_credentials = 2;

// Linux's limits for SO_SNDBUF/SO_RCVBUF (include/net/sock.h, net.core.[rw]mem_max).
constexpr uint32_t sock_min_sndbuf = 4608;  // 2 * (2048 + sizeof(struct sk_buff)) rounded as Linux does
constexpr uint32_t sock_min_rcvbuf = 2304;
// The caps are current Linux's defaults, 4 MiB (upstream commit a6d4f25888b8; older kernels
// had 212992): programs that ask for a large buffer, such as an AF_UNIX datagram of
// UIO_MAXIOV pages, get it as on a current host. Only the cap grows; buffers are not
// allocated up front, and the defaults below stay 212992.
constexpr uint32_t wmem_max = 4 * 1024 * 1024;
constexpr uint32_t rmem_max = 4 * 1024 * 1024;
constexpr uint32_t wmem_default = 212992;
constexpr uint32_t rmem_default = 212992;

// Most descriptors one SCM_RIGHTS message carries (SCM_MAX_FD).
constexpr size_t scm_max_fd = 253;

// ioctls sockets answer.
constexpr uint32_t siocinq = 0x541b;   // = FIONREAD
constexpr uint32_t siocoutq = 0x5411;  // = TIOCOUTQ
constexpr uint32_t siocoutqnsd = 0x894b;  // bytes not yet sent
constexpr uint32_t siocgstamp = 0x8906;    // SIOCGSTAMP_OLD: struct timeval of the last datagram read
constexpr uint32_t siocgstampns = 0x8907;  // SIOCGSTAMPNS_OLD: struct timespec
constexpr uint32_t fioasync = 0x5452;

// poll bits beyond kernel/fs/linux_abi.h's.
constexpr uint32_t pollwrband = 0x200;
constexpr uint32_t pollrdhup = 0x2000;

// struct msghdr, struct mmsghdr, struct cmsghdr, struct ucred, struct linger.
struct MsgHdr {
  void* name;
  uint32_t name_length;
  uint32_t pad0;
  void* iov;
  uint64_t iov_length;
  void* control;
  uint64_t control_length;
  uint32_t flags;
  uint32_t pad1;
};
static_assert(sizeof(MsgHdr) == 56);

struct MMsgHdr {
  MsgHdr header;
  uint32_t length;
  uint32_t pad;
};
static_assert(sizeof(MMsgHdr) == 64);

struct CmsgHdr {
  uint64_t length;  // cmsg_len: header and data
  int32_t level;
  int32_t type;
};
static_assert(sizeof(CmsgHdr) == 16);

constexpr size_t cmsg_align(size_t length) { return (length + sizeof(uint64_t) - 1) & ~(sizeof(uint64_t) - 1); }
constexpr size_t cmsg_len(size_t data) { return sizeof(CmsgHdr) + data; }
constexpr size_t cmsg_space(size_t data) { return sizeof(CmsgHdr) + cmsg_align(data); }

struct Ucred {
  int32_t pid;
  uint32_t uid;
  uint32_t gid;
};
static_assert(sizeof(Ucred) == 12);

struct Linger {
  int32_t onoff;
  int32_t seconds;
};

// struct sockaddr_un: sun_family then 108 bytes of path.
constexpr size_t sun_path_offset = 2;
constexpr size_t sun_path_size = 108;
constexpr size_t sockaddr_un_size = sun_path_offset + sun_path_size;

// IPPROTO_IP and IPPROTO_IPV6 options (include/uapi/linux/in.h, in6.h).
constexpr int ip_tos = 1;
constexpr int ip_ttl = 2;
constexpr int ip_pktinfo = 8;
constexpr int ip_mtu_discover = 10;
constexpr int ip_recverr = 11;
constexpr int ip_recvttl = 12;
constexpr int ip_recvtos = 13;
constexpr int ip_freebind = 15;
constexpr int ip_recvorigdstaddr = 20;  // also IP_ORIGDSTADDR, its control message
constexpr int ip_bind_address_no_port = 24;
constexpr int ip_multicast_if = 32;
constexpr int ip_multicast_ttl = 33;
constexpr int ip_multicast_loop = 34;
constexpr int ip_add_membership = 35;
constexpr int ip_drop_membership = 36;
constexpr int ip_multicast_all = 49;
// IP_MTU_DISCOVER values: IP_PMTUDISC_DONT (0) to IP_PMTUDISC_OMIT (5); WANT is the default.
constexpr int ip_pmtudisc_want = 1;
constexpr int ip_pmtudisc_omit = 5;
constexpr int ipv6_unicast_hops = 16;
constexpr int ipv6_v6only = 26;
constexpr int ipv6_mtu_discover = 23;
constexpr int ipv6_recverr = 25;
constexpr int ipv6_recvpktinfo = 49;
constexpr int ipv6_pktinfo = 50;
constexpr int ipv6_recvhoplimit = 51;
constexpr int ipv6_hoplimit = 52;
constexpr int ipv6_recvtclass = 66;
constexpr int ipv6_tclass = 67;
constexpr int ipv6_recvorigdstaddr = 74;  // also IPV6_ORIGDSTADDR, the control message's type

// struct sockaddr_in: family (2), port (2, network order), address (4), zero (8).
constexpr uint32_t sockaddr_in_size = 16;
// struct sockaddr_in6: family, port, flowinfo (4), address (16), scope id (4).
constexpr uint32_t sockaddr_in6_size = 28;
// Linux accepts the RFC 2133 sockaddr_in6 without the scope id.
constexpr uint32_t sockaddr_in6_min_size = 24;

}  // namespace nimbus::net::abi
