// What the socket system call files share: socket addresses in and out of the application
// with Linux's length rules (net/socket.c: move_addr_to_kernel, move_addr_to_user).
#pragma once

#include "kernel/lib/result.h"
#include "kernel/net/socket.h"

namespace nimbus::linux {

// EINVAL for a negative length or one past sizeof(struct sockaddr_storage); EFAULT.
Result<net::SocketAddress> copy_address_in(const void* address, int length);
// Copies as much as `*length` allows and stores the full length in `*length` (EINVAL when
// it is negative; EFAULT).
Result<> copy_address_out(const net::SocketAddress& address, void* destination, int* length);

}  // namespace nimbus::linux
