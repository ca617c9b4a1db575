// The AF_UNIX name space: abstract names and socket nodes, bound sockets listed under one
// lock (net/unix/af_unix.c: unix_bind_bsd, unix_bind_abstract, unix_autobind, unix_find_other).
#include "kernel/net/unix/unix_names.h"

#include "kernel/fs/fs.h"
#include "kernel/fs/fs_internal.h"
#include "kernel/net/unix/unix_host.h"
#include "kernel/net/unix/unix_socket.h"
#include "kernel/sync/mutex.h"

namespace nimbus::net {
namespace {

Mutex g_lock;
IntrusiveList<UnixBinding, &UnixBinding::node> g_bound;
uint32_t g_next_autobind = 0;

// Under g_lock.
UnixBinding* find_locked(const UnixAddress& address, const fs::Vnode* vnode) {
  for (UnixBinding* b = g_bound.front(); b; b = g_bound.next(b)) {
    if (vnode ? b->vnode.get() == vnode : (b->address.kind == UnixAddress::Kind::abstract && b->address == address))
      return b;
  }
  return nullptr;
}

Result<RefPtr<fs::Vnode>> make_socket_node(const UnixAddress& address) {
  fs::FsContext& context = unix_file_context();
  fs::PathWalk walk = fs::detail::walk_for(context);
  fs::ParentResult last = TRY(fs::detail::parent_at(context, walk, fs::linux_abi::at_fdcwd, address.path()));
  if (last.kind != fs::LastKind::normal || last.trailing_slash) return error(Errno::eaddrinuse);
  if (last.parent->fs().read_only()) return error(Errno::erofs);
  fs::NewNode node{fs::VnodeType::socket, 0777 & ~context.umask(), context.uid(), context.gid()};
  auto made = last.parent->create(last.name, node);
  if (!made) return error(made.error() == Errno::eexist ? Errno::eaddrinuse : made.error());
  return *made;
}

}  // namespace

Result<> unix_bind_name(UnixBinding& binding, const UnixAddress& address) {
  if (address.kind == UnixAddress::Kind::path) {
    RefPtr<fs::Vnode> vnode = TRY(make_socket_node(address));
    MutexGuard guard(g_lock);
    binding.address = address;
    binding.vnode = std::move(vnode);
    g_bound.push_back(&binding);
    return {};
  }
  MutexGuard guard(g_lock);
  if (address.kind == UnixAddress::Kind::abstract) {
    if (find_locked(address, nullptr)) return error(Errno::eaddrinuse);
    binding.address = address;
  } else {
    // unix_autobind: the next free one of 2^20 names.
    uint32_t tries = 0;
    for (;; tries++) {
      if (tries > 0xfffff) return error(Errno::enospc);
      UnixAddress candidate = unix_autobind_address(g_next_autobind);
      g_next_autobind = (g_next_autobind + 1) & 0xfffff;
      if (!find_locked(candidate, nullptr)) {
        binding.address = candidate;
        break;
      }
    }
  }
  g_bound.push_back(&binding);
  return {};
}

void unix_remove_node(const UnixAddress& address) {
  if (address.kind != UnixAddress::Kind::path) return;
  (void)fs::unlink(unix_file_context(), fs::linux_abi::at_fdcwd, address.path(), 0);
}

void unix_unbind_name(UnixBinding& binding) {
  MutexGuard guard(g_lock);
  if (binding.node.is_linked()) g_bound.remove(&binding);
}

Result<RefPtr<UnixSocket>> unix_find_name(const UnixAddress& address) {
  RefPtr<fs::Vnode> vnode;
  if (address.kind == UnixAddress::Kind::path) {
    vnode = TRY(fs::detail::lookup_at(unix_file_context(), fs::linux_abi::at_fdcwd, address.path(),
                                      fs::PathWalk::Follow::yes, false));
    if (vnode->type() != fs::VnodeType::socket) return error(Errno::econnrefused);
  } else if (address.kind != UnixAddress::Kind::abstract) {
    return error(Errno::einval);
  }
  MutexGuard guard(g_lock);
  UnixBinding* binding = find_locked(address, vnode.get());
  if (!binding) return error(Errno::econnrefused);
  // A listed socket's file is still open (it leaves the list before closing), so it is alive.
  return RefPtr<UnixSocket>(binding->socket);
}

}  // namespace nimbus::net
