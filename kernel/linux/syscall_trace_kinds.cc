// --strace's argument printers: numbers, descriptors, strings and buffers read safely from the
// program, and the flag and constant names strace uses.
#include "kernel/linux/syscall_trace_kinds.h"

#include <cstddef>
#include <string_view>

#include "kernel/linux/errno_names.h"
#include "kernel/linux/user_memory.h"

namespace nimbus::linux::trace {
namespace {

struct Name {
  uint64_t value;
  const char* name;
};

// strace's default string limit (-s 32), and how much of a path it shows (all of it, up to a
// bound that keeps one line within TraceLine).
constexpr size_t kStringLimit = 32;
constexpr size_t kPathLimit = 400;

// Flags: each whole value in `names` that is set, in table order, then any bits left in hex.
// Multi-bit names (O_SYNC, O_TMPFILE) come before the single bits they contain.
template <size_t N>
void append_flags(TraceLine& line, uint64_t value, const Name (&names)[N], const char* zero = "0") {
  if (value == 0) {
    line.append(zero);
    return;
  }
  bool first = true;
  for (const Name& flag : names) {
    if (flag.value == 0 || (value & flag.value) != flag.value) continue;
    line.append(first ? "" : "|");
    line.append(flag.name);
    value &= ~flag.value;
    first = false;
  }
  if (value) line.format("%s0x%lx", first ? "" : "|", value);
}

// Constants: the name of `value`, or `fallback` formatted with it.
template <size_t N>
void append_constant(TraceLine& line, uint64_t value, const Name (&names)[N],
                     const char* fallback = "0x%lx") {
  for (const Name& entry : names) {
    if (entry.value == value) {
      line.append(entry.name);
      return;
    }
  }
  line.format(fallback, value);
}

constexpr uint64_t kOCreat = 0100, kOTmpfile = 020000000;

constexpr Name kOpenAccess[] = {{0, "O_RDONLY"}, {1, "O_WRONLY"}, {2, "O_RDWR"}, {3, "O_ACCMODE"}};
constexpr Name kOpenFlags[] = {
    {kOCreat, "O_CREAT"},     {0200, "O_EXCL"},         {0400, "O_NOCTTY"},
    {01000, "O_TRUNC"},       {02000, "O_APPEND"},      {04000, "O_NONBLOCK"},
    {04010000, "O_SYNC"},     {010000, "O_DSYNC"},      {020000, "O_ASYNC"},
    {040000, "O_DIRECT"},     {0100000, "O_LARGEFILE"}, {020200000, "O_TMPFILE"},
    {0200000, "O_DIRECTORY"}, {0400000, "O_NOFOLLOW"},  {01000000, "O_NOATIME"},
    {02000000, "O_CLOEXEC"},  {010000000, "O_PATH"},
};
constexpr Name kAccessModes[] = {{4, "R_OK"}, {2, "W_OK"}, {1, "X_OK"}};
constexpr Name kAtFlags[] = {{0x100, "AT_SYMLINK_NOFOLLOW"}, {0x200, "AT_REMOVEDIR"},
                             {0x400, "AT_SYMLINK_FOLLOW"},   {0x800, "AT_NO_AUTOMOUNT"},
                             {0x1000, "AT_EMPTY_PATH"},      {0x2000, "AT_STATX_FORCE_SYNC"},
                             {0x4000, "AT_STATX_DONT_SYNC"}};
constexpr Name kProt[] = {{1, "PROT_READ"},
                          {2, "PROT_WRITE"},
                          {4, "PROT_EXEC"},
                          {8, "PROT_SEM"},
                          {0x01000000, "PROT_GROWSDOWN"},
                          {0x02000000, "PROT_GROWSUP"}};
constexpr Name kMapTypes[] = {{1, "MAP_SHARED"}, {2, "MAP_PRIVATE"}, {3, "MAP_SHARED_VALIDATE"}};
constexpr Name kMapFlags[] = {
    {0x10, "MAP_FIXED"},
    {0x20, "MAP_ANONYMOUS"},
    {0x40, "MAP_32BIT"},
    {0x100, "MAP_GROWSDOWN"},
    {0x800, "MAP_DENYWRITE"},
    {0x1000, "MAP_EXECUTABLE"},
    {0x2000, "MAP_LOCKED"},
    {0x4000, "MAP_NORESERVE"},
    {0x8000, "MAP_POPULATE"},
    {0x10000, "MAP_NONBLOCK"},
    {0x20000, "MAP_STACK"},
    {0x40000, "MAP_HUGETLB"},
    {0x80000, "MAP_SYNC"},
    {0x100000, "MAP_FIXED_NOREPLACE"},
    {0x4000000, "MAP_UNINITIALIZED"},
};
constexpr Name kCloneFlags[] = {
    {0x100, "CLONE_VM"},
    {0x200, "CLONE_FS"},
    {0x400, "CLONE_FILES"},
    {0x800, "CLONE_SIGHAND"},
    {0x1000, "CLONE_PIDFD"},
    {0x2000, "CLONE_PTRACE"},
    {0x4000, "CLONE_VFORK"},
    {0x8000, "CLONE_PARENT"},
    {0x10000, "CLONE_THREAD"},
    {0x20000, "CLONE_NEWNS"},
    {0x40000, "CLONE_SYSVSEM"},
    {0x80000, "CLONE_SETTLS"},
    {0x100000, "CLONE_PARENT_SETTID"},
    {0x200000, "CLONE_CHILD_CLEARTID"},
    {0x400000, "CLONE_DETACHED"},
    {0x800000, "CLONE_UNTRACED"},
    {0x1000000, "CLONE_CHILD_SETTID"},
    {0x2000000, "CLONE_NEWCGROUP"},
    {0x4000000, "CLONE_NEWUTS"},
    {0x8000000, "CLONE_NEWIPC"},
    {0x10000000, "CLONE_NEWUSER"},
    {0x20000000, "CLONE_NEWPID"},
    {0x40000000, "CLONE_NEWNET"},
    {0x80000000, "CLONE_IO"},
};
constexpr const char* kSignals[] = {
    nullptr,     "SIGHUP",  "SIGINT",    "SIGQUIT", "SIGILL",   "SIGTRAP", "SIGABRT", "SIGBUS",
    "SIGFPE",    "SIGKILL", "SIGUSR1",   "SIGSEGV", "SIGUSR2",  "SIGPIPE", "SIGALRM", "SIGTERM",
    "SIGSTKFLT", "SIGCHLD", "SIGCONT",   "SIGSTOP", "SIGTSTP",  "SIGTTIN", "SIGTTOU", "SIGURG",
    "SIGXCPU",   "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO",   "SIGPWR",  "SIGSYS",
};
constexpr Name kSigHow[] = {{0, "SIG_BLOCK"}, {1, "SIG_UNBLOCK"}, {2, "SIG_SETMASK"}};
constexpr Name kWhence[] = {
    {0, "SEEK_SET"}, {1, "SEEK_CUR"}, {2, "SEEK_END"}, {3, "SEEK_DATA"}, {4, "SEEK_HOLE"}};
constexpr Name kFcntlCommands[] = {
    {0, "F_DUPFD"},         {1, "F_GETFD"},         {2, "F_SETFD"},
    {3, "F_GETFL"},         {4, "F_SETFL"},         {5, "F_GETLK"},
    {6, "F_SETLK"},         {7, "F_SETLKW"},        {8, "F_SETOWN"},
    {9, "F_GETOWN"},        {10, "F_SETSIG"},       {11, "F_GETSIG"},
    {15, "F_SETOWN_EX"},    {16, "F_GETOWN_EX"},    {36, "F_OFD_GETLK"},
    {37, "F_OFD_SETLK"},    {38, "F_OFD_SETLKW"},   {1024, "F_SETLEASE"},
    {1025, "F_GETLEASE"},   {1026, "F_NOTIFY"},     {1030, "F_DUPFD_CLOEXEC"},
    {1031, "F_SETPIPE_SZ"}, {1032, "F_GETPIPE_SZ"}, {1033, "F_ADD_SEALS"},
    {1034, "F_GET_SEALS"},
};
constexpr Name kFutexOps[] = {
    {0, "FUTEX_WAIT"},
    {1, "FUTEX_WAKE"},
    {2, "FUTEX_FD"},
    {3, "FUTEX_REQUEUE"},
    {4, "FUTEX_CMP_REQUEUE"},
    {5, "FUTEX_WAKE_OP"},
    {6, "FUTEX_LOCK_PI"},
    {7, "FUTEX_UNLOCK_PI"},
    {8, "FUTEX_TRYLOCK_PI"},
    {9, "FUTEX_WAIT_BITSET"},
    {10, "FUTEX_WAKE_BITSET"},
    {11, "FUTEX_WAIT_REQUEUE_PI"},
    {12, "FUTEX_CMP_REQUEUE_PI"},
    {13, "FUTEX_LOCK_PI2"},
};
constexpr Name kArchPrctlCodes[] = {{0x1001, "ARCH_SET_GS"},    {0x1002, "ARCH_SET_FS"},
                                    {0x1003, "ARCH_GET_FS"},    {0x1004, "ARCH_GET_GS"},
                                    {0x1011, "ARCH_GET_CPUID"}, {0x1012, "ARCH_SET_CPUID"}};
constexpr Name kIoctlRequests[] = {
    {0x5401, "TCGETS"},     {0x5402, "TCSETS"},    {0x5403, "TCSETSW"},   {0x5404, "TCSETSF"},
    {0x540e, "TIOCSCTTY"},  {0x540f, "TIOCGPGRP"}, {0x5410, "TIOCSPGRP"}, {0x5413, "TIOCGWINSZ"},
    {0x5414, "TIOCSWINSZ"}, {0x541b, "FIONREAD"},  {0x5421, "FIONBIO"},   {0x5450, "FIONCLEX"},
    {0x5451, "FIOCLEX"},    {0x5452, "FIOASYNC"},  {0x5411, "TIOCOUTQ"},
};
constexpr Name kResources[] = {
    {0, "RLIMIT_CPU"},       {1, "RLIMIT_FSIZE"}, {2, "RLIMIT_DATA"},    {3, "RLIMIT_STACK"},
    {4, "RLIMIT_CORE"},      {5, "RLIMIT_RSS"},   {6, "RLIMIT_NPROC"},   {7, "RLIMIT_NOFILE"},
    {8, "RLIMIT_MEMLOCK"},   {9, "RLIMIT_AS"},    {10, "RLIMIT_LOCKS"},  {11, "RLIMIT_SIGPENDING"},
    {12, "RLIMIT_MSGQUEUE"}, {13, "RLIMIT_NICE"}, {14, "RLIMIT_RTPRIO"}, {15, "RLIMIT_RTTIME"},
};
constexpr Name kDomains[] = {
    {1, "AF_UNIX"}, {2, "AF_INET"}, {10, "AF_INET6"}, {16, "AF_NETLINK"}, {17, "AF_PACKET"}};
constexpr Name kSocketTypes[] = {{1, "SOCK_STREAM"}, {2, "SOCK_DGRAM"},     {3, "SOCK_RAW"},
                                 {4, "SOCK_RDM"},    {5, "SOCK_SEQPACKET"}, {10, "SOCK_PACKET"}};
constexpr Name kSocketTypeFlags[] = {{04000, "SOCK_NONBLOCK"}, {02000000, "SOCK_CLOEXEC"}};

int64_t as_int(uint64_t value) {
  return static_cast<int32_t>(static_cast<uint32_t>(value));
}

void append_hex(TraceLine& line, uint64_t value) {
  if (value == 0)
    line.append("0");
  else
    line.format("0x%lx", value);
}

void append_pointer(TraceLine& line, uint64_t value) {
  if (value == 0)
    line.append("NULL");
  else
    line.format("0x%lx", value);
}

// A file mode as strace shows it: 0644, 000.
void append_octal(TraceLine& line, uint64_t value) {
  char digits[24];
  size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + (value & 7));
    value >>= 3;
  } while (value);
  while (n < 3) digits[n++] = '0';
  line.append('0');
  while (n) line.append(digits[--n]);
}

// Copies up to `length` bytes of program memory a page at a time, stopping at the first page
// that cannot be read; returns how many bytes were copied.
size_t copy_readable(char* to, uint64_t from, size_t length) {
  size_t done = 0;
  while (done < length) {
    uint64_t at = from + done;
    size_t in_page = 4096 - (at & 4095);
    size_t chunk = length - done < in_page ? length - done : in_page;
    if (!user::copy_from(to + done, reinterpret_cast<const void*>(at), chunk)) break;
    done += chunk;
  }
  return done;
}

// A NUL-terminated string of at most `limit` characters shown, "..." after it when longer;
// an address when it cannot be read.
void append_string(TraceLine& line, uint64_t address, size_t limit) {
  if (address == 0) {
    line.append("NULL");
    return;
  }
  char text[kPathLimit + 1];
  size_t copied = copy_readable(text, address, limit + 1);
  size_t length = 0;
  while (length < copied && text[length] != '\0') length++;
  if (length == copied && copied < limit + 1) {  // no NUL before an unreadable page
    append_pointer(line, address);
    return;
  }
  bool more = length > limit;
  append_quoted(line, text, more ? limit : length, more);
}

// `length` bytes of a buffer, the first 32 shown; an address when they cannot be read.
void append_buffer(TraceLine& line, uint64_t address, uint64_t length) {
  char bytes[kStringLimit];
  size_t shown = length < kStringLimit ? length : kStringLimit;
  if (copy_readable(bytes, address, shown) != shown) {
    append_pointer(line, address);
    return;
  }
  append_quoted(line, bytes, shown, length > shown);
}

void append_signal(TraceLine& line, uint64_t value) {
  int64_t number = as_int(value);
  constexpr int64_t kSigRtMin = 34;  // glibc's SIGRTMIN (32 and 33 are its own)
  if (number > 0 && number < 32)
    line.append(kSignals[number]);
  else if (number == kSigRtMin)
    line.append("SIGRTMIN");
  else if (number > kSigRtMin && number <= 64)
    line.format("SIGRT_%ld", number - kSigRtMin);
  else
    line.format("%ld", number);
}

void append_futex_op(TraceLine& line, uint64_t value) {
  constexpr uint64_t kPrivate = 128, kClockRealtime = 256;
  if (value & kClockRealtime) line.append("FUTEX_CLOCK_REALTIME|");
  append_constant(line, value & ~(kPrivate | kClockRealtime), kFutexOps);
  if (value & kPrivate) line.append("_PRIVATE");
}

}  // namespace

void append_argument(TraceLine& line, ArgKind kind, const CallValues& call, int index) {
  uint64_t value = call.arguments[index];
  switch (kind) {
    case ArgKind::dec:
      line.format("%ld", static_cast<int64_t>(value));
      return;
    case ArgKind::udec:
      line.format("%lu", value);
      return;
    case ArgKind::hex:
      append_hex(line, value);
      return;
    case ArgKind::octal:
      append_octal(line, value);
      return;
    case ArgKind::creat_mode:
      append_octal(line, value & 07777);
      return;
    case ArgKind::ptr:
      append_pointer(line, value);
      return;
    case ArgKind::fd:
      line.format("%ld", as_int(value));
      return;
    case ArgKind::dirfd:
      if (as_int(value) == -100)
        line.append("AT_FDCWD");
      else
        line.format("%ld", as_int(value));
      return;
    case ArgKind::path:
      append_string(line, value, kPathLimit);
      return;
    case ArgKind::str:
      append_string(line, value, kStringLimit);
      return;
    case ArgKind::in_buf:
      append_buffer(line, value, call.arguments[index + 1]);
      return;
    case ArgKind::out_buf:
      if (!call.returned || call.result < 0)
        append_pointer(line, value);
      else
        append_buffer(line, value, static_cast<uint64_t>(call.result));
      return;
    case ArgKind::open_flags:
      append_constant(line, value & 3, kOpenAccess);
      if (value & ~3ul) {
        line.append("|");
        append_flags(line, value & ~3ul, kOpenFlags);
      }
      return;
    case ArgKind::access_mode:
      append_flags(line, value, kAccessModes, "F_OK");
      return;
    case ArgKind::at_flags:
      append_flags(line, value, kAtFlags);
      return;
    case ArgKind::prot:
      append_flags(line, value, kProt, "PROT_NONE");
      return;
    case ArgKind::map_flags:
      append_constant(line, value & 0xf, kMapTypes);
      if (value & ~0xful) {
        line.append("|");
        append_flags(line, value & ~0xful, kMapFlags);
      }
      return;
    case ArgKind::clone_flags:
      append_flags(line, value & ~0xfful, kCloneFlags);
      if (value & 0xff) {
        if (value & ~0xfful) line.append("|");
        append_signal(line, value & 0xff);
      }
      return;
    case ArgKind::sig:
      append_signal(line, value);
      return;
    case ArgKind::sig_how:
      append_constant(line, value, kSigHow);
      return;
    case ArgKind::whence:
      append_constant(line, value, kWhence);
      return;
    case ArgKind::fcntl_cmd:
      append_constant(line, value, kFcntlCommands);
      return;
    case ArgKind::futex_op:
      append_futex_op(line, value);
      return;
    case ArgKind::arch_prctl_code:
      append_constant(line, value, kArchPrctlCodes);
      return;
    case ArgKind::ioctl_req:
      append_constant(line, value & 0xffffffff, kIoctlRequests);
      return;
    case ArgKind::resource:
      append_constant(line, value, kResources, "%lu");
      return;
    case ArgKind::domain:
      append_constant(line, value, kDomains, "%lu");
      return;
    case ArgKind::sock_type:
      append_constant(line, value & 0xf, kSocketTypes, "%lu");
      if (value & ~0xful) {
        line.append("|");
        append_flags(line, value & ~0xful, kSocketTypeFlags);
      }
      return;
  }
}

bool is_shown(ArgKind kind, const CallValues& call, int index) {
  // open's mode means something only when a file may be made (strace leaves it out too).
  if (kind == ArgKind::creat_mode)
    return index > 0 && (call.arguments[index - 1] & (kOCreat | kOTmpfile));
  return true;
}

void append_result(TraceLine& line, ResultKind kind, long result) {
  if (kind == ResultKind::rnone) {
    line.append("?");
    return;
  }
  if (result < 0 && result >= -4095) {
    const ErrnoName* name = find_errno_name(-result);
    constexpr long kFirstRestartCode = 512;
    if (name)
      line.format("%s %s (%s)", -result >= kFirstRestartCode ? "?" : "-1", name->name,
                  name->message);
    else
      line.format("-1 E%ld (Unknown error %ld)", -result, -result);
    return;
  }
  if (kind == ResultKind::rhex)
    append_hex(line, static_cast<uint64_t>(result));
  else
    line.format("%ld", result);
}

}  // namespace nimbus::linux::trace

namespace nimbus::linux {

void append_quoted(TraceLine& line, const char* bytes, size_t length, bool more) {
  line.append('"');
  for (size_t i = 0; i < length; i++) {
    auto c = static_cast<unsigned char>(bytes[i]);
    switch (c) {
      case '"':
        line.append("\\\"");
        continue;
      case '\\':
        line.append("\\\\");
        continue;
      case '\f':
        line.append("\\f");
        continue;
      case '\n':
        line.append("\\n");
        continue;
      case '\r':
        line.append("\\r");
        continue;
      case '\t':
        line.append("\\t");
        continue;
      case '\v':
        line.append("\\v");
        continue;
      default:
        break;
    }
    if (c >= 0x20 && c < 0x7f) {
      line.append(static_cast<char>(c));
      continue;
    }
    // The shortest octal escape, unless an octal digit follows and would be read into it.
    bool digit_follows = i + 1 < length && bytes[i + 1] >= '0' && bytes[i + 1] <= '7';
    char escape[5] = {'\\', static_cast<char>('0' + (c >> 6)),
                      static_cast<char>('0' + ((c >> 3) & 7)), static_cast<char>('0' + (c & 7)),
                      '\0'};
    const char* digits = escape + 1;
    if (!digit_follows) {
      while (digits[0] == '0' && digits[1] != '\0') digits++;
    }
    line.append('\\');
    line.append(digits);
  }
  line.append('"');
  if (more) line.append("...");
}

}  // namespace nimbus::linux
