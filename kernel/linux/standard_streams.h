// The program's standard streams as the host has them: descriptors 0, 1 and 2 are a terminal
// only when the host's stream is one (with its window size), and a pipe otherwise.
#pragma once

#include "kernel/boot/boot_options.h"
#include "kernel/fs/console.h"
#include "kernel/fs/fs_context.h"
#include "kernel/lib/result.h"

namespace nimbus::linux {

// Where the streams' bytes go: `terminal` reads stdin and writes stdout; `errors` writes
// stderr (nullptr: the terminal carries stderr too, as the serial console does).
struct StreamConsoles {
  fs::Console* terminal;
  fs::Console* errors;
};

// Opens descriptors 0, 1 and 2 in `context` (which must have none yet). A terminal stream is
// a tty device (TCGETS, TIOCGWINSZ...) named /dev/pts/N; a pipe stream is a FIFO on which
// terminal ioctls are ENOTTY, opened read-only (0) or write-only (1, 2) as a shell's pipe
// would be. Each stream has a node of its own, so /dev/stdout, /dev/stderr and
// /proc/self/fd/N reopen that very stream.
Result<> install_standard_streams(fs::FsContext& context, const StreamConsoles& consoles,
                                  const HostStreamKinds& kinds);

}  // namespace nimbus::linux
