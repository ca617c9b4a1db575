// Sockets as files: a descriptor whose inode stats as S_IFSOCK (Linux's sockfs), with I/O
// through the socket's FileOps, and the way back from a descriptor to its socket.
#pragma once

#include "kernel/fs/file.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/lib/result.h"
#include "kernel/net/socket.h"

namespace nimbus::linux {

// A new open file for `socket`; `flags` may hold O_NONBLOCK.
Result<RefPtr<fs::File>> make_socket_file(RefPtr<net::Socket> socket, uint32_t flags);
// A new descriptor for `socket`; `flags` may hold O_NONBLOCK and O_CLOEXEC.
Result<long> install_socket(RefPtr<net::Socket> socket, uint32_t flags);
// The socket behind `fd` (EBADF; ENOTSOCK for other files); `holder` keeps the file open.
Result<net::Socket*> socket_of(int fd, RefPtr<fs::File>& holder);

}  // namespace nimbus::linux
