// Self-test: exhausting memory through plain `new` ends the VM with a clear message (251).
#include <cstdint>

#include "kernel/lib/console.h"
#include "kernel/selftest/selftest.h"

namespace nimbus::selftest {

void exhaust_memory() {
  struct Block {
    Block* next;
    uint8_t payload[64 * 1024 - sizeof(Block*)];
  };
  Block* head = nullptr;
  uint64_t blocks = 0;
  for (;;) {
    auto* block = new Block;  // out of memory here must panic with status 251, not hang
    block->next = head;
    head = block;
    if (++blocks % 256 == 0) print("oom: %lu MiB allocated\n", blocks / 16);
  }
}

}  // namespace nimbus::selftest
