// One CPU's PCIDs: which address space each one tags, and how up to date its TLB entries are.
//
// The idea is Linux's "dynamic ASIDs" (arch/x86/mm/tlb.c), simplified: a CPU keeps a few
// PCIDs, each lent to an address space and taken back least recently used; an address space
// counts the flushes it has asked for (its generation), and a slot remembers the generation
// its entries caught up with. A CPU that did not have the space loaded when a flush was asked
// gets no interrupt: it finds its slot behind when it loads the space again, and flushes then.
// Pure logic, so the host unit tests run it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nimbus::tlb {

class PcidSlots {
 public:
  // PCIDs 1..kCount (Linux keeps 6 too); PCID 0 tags the kernel's tables, which map no
  // application memory.
  static constexpr size_t kCount = 6;

  // Without PCIDs (the CPU has none, or `nopcid`) every load flushes and tags with PCID 0;
  // one slot then follows the loaded space's generation.
  explicit PcidSlots(bool tagged = false) : m_tagged(tagged) {}

  struct Choice {
    uint16_t pcid;
    bool flush;  // load CR3 dropping the PCID's entries: another space's, or stale
  };
  // The space `context_id` (never 0, never reused) is being loaded; `generation` is its
  // count of flushes, read after this CPU published that it loads the space. The slot is
  // up to date with it once CR3 is loaded as the choice says.
  Choice choose(uint64_t context_id, uint64_t generation) {
    m_clock++;
    if (!m_tagged) {
      m_slots[0] = {context_id, generation, m_clock};
      m_loaded = 0;
      return {0, true};
    }
    size_t victim = 0;
    for (size_t i = 0; i < kCount; i++) {
      Slot& slot = m_slots[i];
      if (slot.context_id == context_id) {
        bool stale = slot.generation < generation;
        slot.generation = generation;
        slot.last_used = m_clock;
        m_loaded = i;
        return {pcid_of(i), stale};
      }
      if (slot.last_used < m_slots[victim].last_used) victim = i;
    }
    m_slots[victim] = {context_id, generation, m_clock};
    m_loaded = victim;
    return {pcid_of(victim), true};
  }

  enum class Flush { none, range, all };
  // A flush request reached this CPU while it has the space loaded: `request` is the
  // generation the request made, `current` the space's generation now. Only a CPU that
  // missed no earlier request may flush just the request's range; one that missed some (they
  // are answered in any order) drops all of the PCID's entries and is then up to `current`.
  Flush on_request(uint64_t request, uint64_t current) {
    Slot& slot = m_slots[m_loaded];
    if (slot.generation >= request) return Flush::none;
    if (request == slot.generation + 1) {
      slot.generation = request;
      return Flush::range;
    }
    slot.generation = current;
    return Flush::all;
  }
  bool tagged() const { return m_tagged; }

 private:
  struct Slot {
    uint64_t context_id = 0;  // 0: never lent
    uint64_t generation = 0;
    uint64_t last_used = 0;
  };
  static uint16_t pcid_of(size_t slot) { return static_cast<uint16_t>(slot + 1); }

  bool m_tagged;
  Slot m_slots[kCount];
  size_t m_loaded = 0;
  uint64_t m_clock = 0;
};

}  // namespace nimbus::tlb
