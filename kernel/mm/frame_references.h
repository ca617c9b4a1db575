// Frames with more than one owner: the private pages a fork shares copy-on-write between
// address spaces, and shared anonymous pages mapped by several processes.
#pragma once

#include <cstdint>

#include "kernel/lib/result.h"

namespace nimbus::frame_refs {

// Makes the table of counts (one word per frame of RAM), once, before the first share.
Result<> init();
// One more owner of the frame at `phys`.
void share(uint64_t phys);
// One owner fewer: the last frees the frame.
void release(uint64_t phys);
// Whether the frame has more than one owner.
bool is_shared(uint64_t phys);

}  // namespace nimbus::frame_refs
