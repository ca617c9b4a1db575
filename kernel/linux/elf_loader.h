// Loads an ELF executable (static, static-PIE or dynamic with its PT_INTERP loader) into
// the address space, checking every field it relies on.
#pragma once

#include <cstdint>

#include "kernel/lib/result.h"
#include "kernel/linux/layout_randomization.h"
#include "kernel/mm/address_space.h"

namespace nimbus::linux {

struct LoadedImage {
  uintptr_t entry;        // where to start: the interpreter's entry if there is one
  uintptr_t program_entry;  // AT_ENTRY
  uintptr_t phdr;         // AT_PHDR
  uint16_t phent;
  uint16_t phnum;
  uintptr_t interpreter_base;  // AT_BASE (0 without an interpreter)
  uintptr_t break_base;   // where the brk heap starts: past the highest segment, by the layout's offset
  bool executable_stack;
};

// Why a load failed, for the console message; the Errno goes to the caller.
struct LoadError {
  Errno error;
  const char* reason;
};

// Resolves the interpreter path (PT_INTERP) to a retained MappedFile and its size.
using OpenFile = Result<MappedFile*> (*)(const char* path, uint64_t* size);

// A PIE is placed at the layout's base; the interpreter goes where mmap places (the layout's
// mmap window, which the address space was made with).
std::expected<LoadedImage, LoadError> load_elf(AddressSpace& space, MappedFile& file, uint64_t file_size,
                                                OpenFile open_interpreter, const ProgramLayout& layout);

}  // namespace nimbus::linux
