// The AF_UNIX name space: which socket is bound to which abstract name or socket node, so
// connect and sendto find their peer. Bound sockets are listed weakly (a socket leaves the
// list when its file is closed); a path binding keeps its vnode, so a node that is unlinked
// and made again at the same path is a different name, as on Linux.
#pragma once

#include "kernel/fs/vnode.h"
#include "kernel/lib/intrusive_list.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/lib/result.h"
#include "kernel/net/unix/unix_address.h"

namespace nimbus::net {

class UnixSocket;

// What a bound socket holds of its name.
struct UnixBinding {
  UnixAddress address;
  RefPtr<fs::Vnode> vnode;  // the socket node, for a path
  UnixSocket* socket = nullptr;
  ListNode node;  // in the name space's list while bound
};

// Binds `binding.socket` to `address`. A path gets a new socket node (mode 0777 less the
// umask): EADDRINUSE when the name exists; the path walk's errors otherwise. An abstract
// name: EADDRINUSE when bound. Kind::none picks a free autobind name.
Result<> unix_bind_name(UnixBinding& binding, const UnixAddress& address);
// Removes a path's node made by unix_bind_name when the bind fails later.
void unix_remove_node(const UnixAddress& address);
// Forgets the binding (the path's node stays, as on Linux).
void unix_unbind_name(UnixBinding& binding);
// The socket bound to `address`: ENOENT for a missing path, ECONNREFUSED for a node that is
// not a socket or that no socket is bound to, or an abstract name nobody holds.
Result<RefPtr<UnixSocket>> unix_find_name(const UnixAddress& address);

}  // namespace nimbus::net
