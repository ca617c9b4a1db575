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

}  // namespace

Result<uintptr_t> map_vdso(AddressSpace& space) {
  g_vdso_file.set_data(VdsoData{clock::tsc_at(0), clock::ns_per_tsc_fixed_point(), clock::wall_ns() - clock::monotonic_ns()});
  size_t image_size = static_cast<size_t>(vdso_image_end - vdso_image_start);
  size_t length = kPageSize + align_up(image_size, kPageSize);
  uintptr_t base = TRY(space.map(0, length, prot::kRead, AddressSpace::Placement::anywhere, false, &g_vdso_file, 0));
  TRY(space.protect(base + kPageSize, length - kPageSize, prot::kRead | prot::kExec));
  return base + kPageSize;
}

}  // namespace nimbus::linux
