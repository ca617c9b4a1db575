// Loads an ELF executable into the address space (System V gABI chapter 5; psABI 3.4).
// Segments are mapped lazily from the file: the page-fault handler maps each page on first
// touch (the file's own page, copy-on-write, where the file system can give it), and the
// bytes between a segment's file size and memory size read as zero.
#include "kernel/linux/elf_loader.h"

#include <cstring>

#include "kernel/linux/elf.h"
#include "kernel/mm/physical.h"

namespace nimbus::linux {
namespace {

using Loaded = std::expected<LoadedImage, LoadError>;

constexpr size_t kMaxProgramHeaders = 64;
constexpr size_t kMaxInterpreterPath = 256;

std::unexpected<LoadError> fail(Errno e, const char* reason) { return std::unexpected(LoadError{e, reason}); }

uint32_t prot_of(uint32_t flags) {
  return ((flags & elf::kFlagRead) ? prot::kRead : 0) | ((flags & elf::kFlagWrite) ? prot::kWrite : 0) |
         ((flags & elf::kFlagExec) ? prot::kExec : 0);
}

struct Parsed {
  elf::Header header;
  elf::ProgramHeader phdrs[kMaxProgramHeaders];
  uintptr_t low;   // lowest page of the PT_LOAD segments
  uintptr_t high;  // end of the highest segment
  uint64_t alignment;  // the largest PT_LOAD alignment (a power of two), at least a page
};

std::expected<Parsed, LoadError> parse(MappedFile& file, uint64_t file_size) {
  Parsed p{};
  if (file_size < sizeof(elf::Header)) return fail(Errno::enoexec, "file too short for an ELF header");
  auto read = file.read_at(0, std::span(reinterpret_cast<uint8_t*>(&p.header), sizeof(p.header)));
  if (!read || *read != sizeof(p.header)) return fail(Errno::eio, "cannot read the ELF header");
  const elf::Header& h = p.header;
  if (memcmp(h.ident, "\x7f" "ELF", 4) != 0) return fail(Errno::enoexec, "not an ELF file");
  if (h.ident[4] != elf::kClass64 || h.ident[5] != elf::kDataLittle || h.machine != elf::kMachineX86_64)
    return fail(Errno::enoexec, "not an x86-64 ELF file");
  if (h.type != elf::kTypeExec && h.type != elf::kTypeDyn) return fail(Errno::enoexec, "not an executable");
  if (h.phentsize != sizeof(elf::ProgramHeader) || h.phnum == 0 || h.phnum > kMaxProgramHeaders)
    return fail(Errno::enoexec, "bad program header table");
  uint64_t table_size = uint64_t{h.phnum} * sizeof(elf::ProgramHeader);
  if (h.phoff > file_size || table_size > file_size - h.phoff) return fail(Errno::enoexec, "truncated program headers");
  read = file.read_at(h.phoff, std::span(reinterpret_cast<uint8_t*>(p.phdrs), table_size));
  if (!read || *read != table_size) return fail(Errno::eio, "cannot read the program headers");

  p.low = ~uintptr_t{0};
  p.high = 0;
  p.alignment = kPageSize;
  for (size_t i = 0; i < h.phnum; i++) {
    const elf::ProgramHeader& ph = p.phdrs[i];
    if (ph.type != elf::kPtLoad) continue;
    if (ph.filesz > ph.memsz || ph.offset > file_size || ph.filesz > file_size - ph.offset)
      return fail(Errno::enoexec, "segment outside the file");
    if ((ph.vaddr % kPageSize) != (ph.offset % kPageSize)) return fail(Errno::enoexec, "misaligned segment");
    if (ph.vaddr > AddressSpace::kEnd || ph.memsz > AddressSpace::kEnd - ph.vaddr)
      return fail(Errno::enoexec, "segment outside the address space");
    if (align_down(ph.vaddr, kPageSize) < p.low) p.low = align_down(ph.vaddr, kPageSize);
    if (ph.vaddr + ph.memsz > p.high) p.high = ph.vaddr + ph.memsz;
    // As Linux's maximum_alignment: only sensible values count (a power of two, here at most
    // 1 GiB, since the base must stay inside its randomization range).
    if (ph.align > p.alignment && (ph.align & (ph.align - 1)) == 0 && ph.align <= (1ull << 30))
      p.alignment = ph.align;
  }
  if (p.high == 0) return fail(Errno::enoexec, "no loadable segment");
  return p;
}

// Maps every PT_LOAD segment at `bias`; returns false with a reason on failure.
std::expected<void, LoadError> map_segments(AddressSpace& space, MappedFile& file, const Parsed& p, uintptr_t bias) {
  for (size_t i = 0; i < p.header.phnum; i++) {
    const elf::ProgramHeader& ph = p.phdrs[i];
    if (ph.type != elf::kPtLoad || ph.memsz == 0) continue;
    uintptr_t start = align_down(bias + ph.vaddr, kPageSize);
    uintptr_t file_end = bias + ph.vaddr + ph.filesz;
    uintptr_t mem_end = align_up(bias + ph.vaddr + ph.memsz, kPageSize);
    uint64_t offset = align_down(ph.offset, kPageSize);
    uint32_t prot = prot_of(ph.flags);
    // File-backed pages up to the last page holding file bytes; the rest of that page and
    // everything after it reads as zero (the bss).
    uintptr_t file_pages_end = align_up(file_end, kPageSize);
    if (ph.filesz > 0) {
      // A segment without bss ends its last page with whatever the file holds there, as on
      // Linux: with no limit, every page of it comes straight from the file's pages
      // (copy-on-write), so processes running one program share its text. Past the file
      // size of a segment with bss, that page must read as zeros: limited, it is copied.
      uint64_t limit = ph.memsz == ph.filesz ? kNoFileLimit : ph.offset + ph.filesz;
      auto mapped = space.map(start, file_pages_end - start, prot, AddressSpace::Placement::fixed, false, &file,
                              offset, limit);
      if (!mapped) return fail(mapped.error(), "cannot map a segment");
    } else {
      file_pages_end = start;
    }
    if (mem_end > file_pages_end) {
      auto mapped = space.map(file_pages_end, mem_end - file_pages_end, prot, AddressSpace::Placement::fixed, false,
                              nullptr, 0);
      if (!mapped) return fail(mapped.error(), "cannot map a segment's bss");
    }
  }
  return {};
}

}  // namespace

Loaded load_elf(AddressSpace& space, MappedFile& file, uint64_t file_size, OpenFile open_interpreter,
                const ProgramLayout& layout) {
  auto parsed = parse(file, file_size);
  if (!parsed) return std::unexpected(parsed.error());
  const Parsed& p = *parsed;

  uintptr_t bias = 0;
  // A PIE goes to the layout's base (aligned as its segments ask, as Linux does).
  if (p.header.type == elf::kTypeDyn) bias = align_down(layout.pie_base, p.alignment) - p.low;
  if (auto mapped = map_segments(space, file, p, bias); !mapped) return std::unexpected(mapped.error());

  LoadedImage image{};
  image.program_entry = bias + p.header.entry;
  image.entry = image.program_entry;
  image.phent = p.header.phentsize;
  image.phnum = p.header.phnum;
  image.break_base = align_up(bias + p.high, kPageSize) + layout.break_offset;
  image.phdr = 0;
  char interpreter[kMaxInterpreterPath] = {};
  for (size_t i = 0; i < p.header.phnum; i++) {
    const elf::ProgramHeader& ph = p.phdrs[i];
    if (ph.type == elf::kPtPhdr) image.phdr = bias + ph.vaddr;
    if (ph.type == elf::kPtGnuStack) image.executable_stack = ph.flags & elf::kFlagExec;
    if (ph.type == elf::kPtInterp) {
      if (ph.filesz < 2 || ph.filesz > sizeof(interpreter) || ph.offset > file_size || ph.filesz > file_size - ph.offset)
        return fail(Errno::enoexec, "bad PT_INTERP");
      auto read = file.read_at(ph.offset, std::span(reinterpret_cast<uint8_t*>(interpreter), ph.filesz));
      if (!read || *read != ph.filesz || interpreter[ph.filesz - 1] != '\0') return fail(Errno::enoexec, "bad PT_INTERP");
    }
  }
  // Without PT_PHDR the table is found where the first segment maps the file's start.
  if (!image.phdr) {
    for (size_t i = 0; i < p.header.phnum; i++) {
      const elf::ProgramHeader& ph = p.phdrs[i];
      if (ph.type == elf::kPtLoad && ph.offset <= p.header.phoff && p.header.phoff < ph.offset + ph.filesz) {
        image.phdr = bias + ph.vaddr + (p.header.phoff - ph.offset);
        break;
      }
    }
  }

  if (interpreter[0]) {
    uint64_t loader_size = 0;
    auto opened = open_interpreter(interpreter, &loader_size);
    if (!opened) return fail(opened.error(), "cannot open the ELF interpreter");
    MappedFile* loader = *opened;
    auto loader_parsed = parse(*loader, loader_size);
    if (!loader_parsed) {
      loader->release();
      return std::unexpected(loader_parsed.error());
    }
    const Parsed& lp = *loader_parsed;
    if (lp.header.type != elf::kTypeDyn) {
      loader->release();
      return fail(Errno::enoexec, "the ELF interpreter is not position independent");
    }
    // The interpreter goes where mmap would put it; reserve its whole span first.
    auto base = space.map(0, align_up(lp.high, kPageSize) - lp.low, 0, AddressSpace::Placement::anywhere,
                          false, nullptr, 0);
    if (!base) {
      loader->release();
      return fail(base.error(), "no room for the ELF interpreter");
    }
    uintptr_t loader_bias = *base - lp.low;
    auto mapped = map_segments(space, *loader, lp, loader_bias);
    loader->release();  // the mappings hold their own references
    if (!mapped) return std::unexpected(mapped.error());
    image.interpreter_base = loader_bias + lp.low;
    image.entry = loader_bias + lp.header.entry;
  }
  return image;
}

}  // namespace nimbus::linux
