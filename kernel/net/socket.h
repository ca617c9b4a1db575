// Socket: the object behind a socket descriptor, for every family (AF_UNIX, AF_INET,
// AF_INET6, AF_NETLINK). The syscall layer (kernel/linux/syscalls_net.cc) decodes and checks
// the application's arguments and calls these; each family implements them.
#pragma once

#include <array>
#include <cstddef>
#include <atomic>
#include <cstdint>
#include <span>

#include "kernel/fs/file.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/lib/result.h"
#include "kernel/sync/wait_queue.h"

namespace nimbus::net {

// A socket address as the application passed it (struct sockaddr_*), copied into the kernel.
// At most sizeof(struct sockaddr_storage).
struct SocketAddress {
  static constexpr size_t kCapacity = 128;
  std::array<std::byte, kCapacity> bytes{};
  uint32_t length = 0;
  // sa_family, or 0xffff when too short to hold one.
  uint16_t family() const;
};

// One sendto/sendmsg/write. `data` is application memory the syscall layer has checked;
// `control` is a kernel copy of msg_control (ancillary data, for SCM_RIGHTS and the like).
struct SendRequest {
  std::span<const fs::IoVec> data;
  const SocketAddress* destination = nullptr;  // msg_name, or none
  std::span<const std::byte> control;
  uint32_t flags = 0;        // MSG_* as the application gave them
  bool nonblocking = false;  // MSG_DONTWAIT or O_NONBLOCK on the file
};

// One recvfrom/recvmsg/read. `data` is checked application memory; the socket fills
// `source` (when not null), writes ancillary data into `control` (a kernel buffer the
// syscall layer copies out) and says how much in `control_length`, and sets MSG_TRUNC /
// MSG_CTRUNC / MSG_EOR in `result_flags`.
struct ReceiveRequest {
  std::span<const fs::IoVec> data;
  SocketAddress* source = nullptr;
  std::span<std::byte> control;
  size_t control_length = 0;
  uint32_t flags = 0;
  bool nonblocking = false;
  uint32_t result_flags = 0;
};

// Appends one control message to request.control as Linux's put_cmsg does: cut short, with
// MSG_CTRUNC in result_flags, when the buffer ends.
void put_control_message(ReceiveRequest& request, int level, int type, const void* data, size_t length);

// Options every family shares (SOL_SOCKET), kept by the base class.
struct CommonSocketOptions {
  uint64_t receive_timeout_ns = 0;  // SO_RCVTIMEO; 0: none
  uint64_t send_timeout_ns = 0;     // SO_SNDTIMEO
  uint32_t receive_buffer = 212992;  // SO_RCVBUF as getsockopt reports it (doubled)
  uint32_t send_buffer = 212992;     // SO_SNDBUF
  uint32_t receive_low_water = 1;    // SO_RCVLOWAT
  bool reuse_address = false;        // SO_REUSEADDR
  bool reuse_port = false;           // SO_REUSEPORT
  bool keepalive = false;            // SO_KEEPALIVE
  bool broadcast = false;            // SO_BROADCAST
  bool pass_credentials = false;     // SO_PASSCRED
  bool linger = false;               // SO_LINGER on/off
  int linger_seconds = 0;
  bool out_of_band_inline = false;   // SO_OOBINLINE
  uint32_t mark = 0;                 // SO_MARK
  uint32_t priority = 0;             // SO_PRIORITY
  bool no_check = false;             // SO_NO_CHECK (kept and reported; UDP checksums are always sent)
  bool timestamp = false;            // SO_TIMESTAMP: a struct timeval control message per datagram
  bool timestamp_ns = false;         // SO_TIMESTAMPNS: a struct timespec one
  bool filter_attached = false;      // SO_ATTACH_FILTER was given a valid classic BPF program
};

class Socket : public RefCounted<Socket>, public fs::FileOps {
 public:
  Socket(int family, int type, int protocol) : m_family(family), m_type(type), m_protocol(protocol) {
    s_live.fetch_add(1, std::memory_order_relaxed);
  }
  virtual ~Socket() { s_live.fetch_sub(1, std::memory_order_relaxed); }
  // Sockets of every family that exist now (/proc/net/sockstat's "sockets: used").
  static size_t live_count() { return s_live.load(std::memory_order_relaxed); }

  int family() const { return m_family; }
  int type() const { return m_type; }  // SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_RAW
  int protocol() const { return m_protocol; }

  // Every operation defaults to what Linux says for a family that lacks it.
  virtual Result<> bind(const SocketAddress& address);
  // EINPROGRESS for a non-blocking stream connect that has started; the result then comes
  // through SO_ERROR and POLLOUT.
  virtual Result<> connect(const SocketAddress& address, bool nonblocking);
  virtual Result<> listen(int backlog);
  // The new connection's socket; `peer` (when not null) gets its address.
  virtual Result<RefPtr<Socket>> accept(bool nonblocking, SocketAddress* peer);
  virtual Result<size_t> send(SendRequest& request);
  virtual Result<size_t> receive(ReceiveRequest& request);
  // SHUT_RD, SHUT_WR, SHUT_RDWR.
  virtual Result<> shutdown(int how);
  virtual Result<SocketAddress> local_address();
  virtual Result<SocketAddress> peer_address();
  // Options of levels other than SOL_SOCKET, and SOL_SOCKET ones the family handles itself
  // (ENOPROTOOPT by default). `value` is a kernel copy.
  virtual Result<> set_option(int level, int name, std::span<const std::byte> value);
  // Writes at most value.size() bytes and returns how many (as getsockopt's optlen).
  virtual Result<size_t> get_option(int level, int name, std::span<std::byte> value);
  // SO_ERROR: the pending error, cleared by reading it (0: none).
  virtual int take_error() { return 0; }
  // SO_ACCEPTCONN.
  virtual bool is_listening() const { return false; }

  // The generic SOL_SOCKET options (CommonSocketOptions, SO_TYPE, SO_DOMAIN, SO_PROTOCOL,
  // SO_ERROR, SO_ACCEPTCONN), then the family's set_option/get_option for the rest.
  Result<> set_socket_option(int level, int name, std::span<const std::byte> value);
  Result<size_t> get_socket_option(int level, int name, std::span<std::byte> value);
  CommonSocketOptions& options() { return m_options; }
  const CommonSocketOptions& options() const { return m_options; }

  // A socket's file: read/write are receive/send with no address and no flags.
  Result<size_t> read(fs::File& file, std::span<std::byte> buffer, fs::IoFlags flags) override;
  Result<size_t> write(fs::File& file, std::span<const std::byte> data, fs::IoFlags flags) override;
  // readv/writev: the vectors go to one receive/send (one datagram).
  bool takes_vectors() const override { return true; }
  Result<size_t> read_vectors(fs::File& file, std::span<const fs::IoVec> vectors, fs::IoFlags flags) override;
  Result<size_t> write_vectors(fs::File& file, std::span<const fs::IoVec> vectors, fs::IoFlags flags) override;
  const void* type_tag() const override { return &kTypeTag; }
  static constexpr char kTypeTag = 0;
  // O_ASYNC: SIGIO when the socket becomes readable or writable (Linux's sock_fasync).
  bool signals_readiness() const override { return true; }

 protected:
  // The monotonic deadline for a blocking receive or send begun at `now_ns` (kNoDeadline
  // without a timeout).
  uint64_t receive_deadline(uint64_t now_ns) const;
  uint64_t send_deadline(uint64_t now_ns) const;

 private:
  static inline std::atomic<size_t> s_live{0};
  int m_family;
  int m_type;
  int m_protocol;
  CommonSocketOptions m_options;
};

}  // namespace nimbus::net
