// The kinds of arguments and results --strace decodes (see syscall_trace_list.h), and the
// printer of one argument of a kind.
#pragma once

#include <cstdint>

#include "kernel/linux/syscall_trace.h"

namespace nimbus::linux::trace {

enum class ResultKind : uint8_t { rdec, rhex, rnone };

enum class ArgKind : uint8_t {
  dec,
  udec,
  hex,
  octal,
  ptr,
  fd,
  dirfd,
  path,
  str,
  in_buf,
  out_buf,
  open_flags,
  creat_mode,
  access_mode,
  at_flags,
  prot,
  map_flags,
  clone_flags,
  sig,
  sig_how,
  whence,
  fcntl_cmd,
  futex_op,
  arch_prctl_code,
  ioctl_req,
  resource,
  domain,
  sock_type,
};

// What a call's line needs: its arguments in call order, the result once the call returned.
struct CallValues {
  const uint64_t* arguments;
  long result;
  bool returned;
};

// Appends argument `index` of `call` as `kind` says. Reads of program memory go through the
// checked user-memory API: a bad pointer prints as an address.
void append_argument(TraceLine& line, ArgKind kind, const CallValues& call, int index);
// Whether the argument appears at all (open's mode only with O_CREAT or O_TMPFILE).
bool is_shown(ArgKind kind, const CallValues& call, int index);
void append_result(TraceLine& line, ResultKind kind, long result);
// Whether the kind shows what the call wrote (so the line is made after the call).
constexpr bool is_output(ArgKind kind) {
  return kind == ArgKind::out_buf;
}

}  // namespace nimbus::linux::trace
