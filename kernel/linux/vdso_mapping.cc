// Maps the vDSO: one page of clock parameters (VdsoData), then the embedded shared object.
#include "kernel/linux/vdso_mapping.h"

#include <cstring>

#include "kernel/linux/vdso/vdso_data.h"
#include "kernel/mm/physical.h"
#include "kernel/time/clock.h"

extern "C" const uint8_t vdso_image_start[], vdso_image_end[];

namespace nimbus::linux {
namespace {

// A read-only "file" whose first page is the clock data and the rest the vDSO image.
class VdsoFile final : public MappedFile {
 public:
  void retain() override {}
  void release() override {}
  Result<size_t> read_at(uint64_t offset, std::span<uint8_t> out) override {
    size_t image_size = static_cast<size_t>(vdso_image_end - vdso_image_start);
    size_t total = kPageSize + image_size;
    if (offset >= total) return 0;
    size_t n = out.size() < total - offset ? out.size() : total - offset;
    for (size_t i = 0; i < n; i++) {
      uint64_t at = offset + i;
      if (at < kPageSize) {
        out[i] = at < sizeof(m_data) ? reinterpret_cast<const uint8_t*>(&m_data)[at] : 0;
      } else {
        out[i] = vdso_image_start[at - kPageSize];
      }
    }
    return n;
  }
  void set_data(const VdsoData& data) { m_data = data; }

 private:
  VdsoData m_data{};
};

VdsoFile g_vdso_file;

// The parts of the ELF64 section header and symbol (System V gABI) the lookup reads.
struct SectionHeader {
  uint32_t name, type;
  uint64_t flags, address, offset, size;
  uint32_t link, info;
  uint64_t alignment, entry_size;
};
struct Symbol {
  uint32_t name;
  uint8_t info, other;
  uint16_t section;
  uint64_t value, size;
};
constexpr uint32_t kSectionDynsym = 11;

// The symbol's offset in the image (its link address: the vDSO is linked at 0), or 0. The
// image is our own build, so its offsets are trusted; they are still kept inside it.
uint64_t symbol_offset(const char* name) {
  size_t image_size = static_cast<size_t>(vdso_image_end - vdso_image_start);
  uint64_t section_offset;
  uint16_t section_count;
  memcpy(&section_offset, vdso_image_start + 0x28, sizeof(section_offset));  // e_shoff
  memcpy(&section_count, vdso_image_start + 0x3c, sizeof(section_count));    // e_shnum
  if (section_offset + section_count * sizeof(SectionHeader) > image_size) return 0;
  auto* sections = reinterpret_cast<const SectionHeader*>(vdso_image_start + section_offset);
  for (uint16_t i = 0; i < section_count; i++) {
    const SectionHeader& symbols = sections[i];
    if (symbols.type != kSectionDynsym || symbols.link >= section_count) continue;
    const SectionHeader& strings = sections[symbols.link];
    if (symbols.offset + symbols.size > image_size || strings.offset + strings.size > image_size) return 0;
    auto* table = reinterpret_cast<const Symbol*>(vdso_image_start + symbols.offset);
    auto* names = reinterpret_cast<const char*>(vdso_image_start + strings.offset);
    for (size_t s = 0; s < symbols.size / sizeof(Symbol); s++) {
      if (table[s].name < strings.size && strnlen(names + table[s].name, strings.size - table[s].name) ==
                                              strlen(name) && strcmp(names + table[s].name, name) == 0)
        return table[s].value;
    }
  }
  return 0;
}

}  // namespace

uintptr_t vdso_function(uintptr_t vdso_base, const char* name) {
  if (!vdso_base) return 0;
  uint64_t offset = symbol_offset(name);
  return offset ? vdso_base + offset : 0;
}

Result<uintptr_t> map_vdso(AddressSpace& space) {
  g_vdso_file.set_data(VdsoData{clock::tsc_at(0), clock::ns_per_tsc_fixed_point(), clock::wall_ns() - clock::monotonic_ns()});
  size_t image_size = static_cast<size_t>(vdso_image_end - vdso_image_start);
  size_t length = kPageSize + align_up(image_size, kPageSize);
  uintptr_t base = TRY(space.map(0, length, prot::kRead, AddressSpace::Placement::anywhere, false, &g_vdso_file, 0));
  TRY(space.protect(base + kPageSize, length - kPageSize, prot::kRead | prot::kExec));
  return base + kPageSize;
}

}  // namespace nimbus::linux
