// The boot-time floor: a PVH kernel whose entry only reports exit status 0 to isa-debug-exit.
//
// Booting it measures what QEMU itself costs (process start, machine setup, ELF load) with a
// kernel that does nothing, the lower bound Nimbus's own boot time is compared against.

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define DEBUG_EXIT_PORT 0xf4

// QEMU reads the PVH entry from this note. For an ELF64 file it reads the descriptor as 8 bytes
// and aligns the name to the segment's p_align, so the note is 4-aligned and the entry a .quad.
  .section .note.Xen, "a", @note
  .balign 4
  .long 2f - 1f
  .long 4f - 3f
  .long XEN_ELFNOTE_PHYS32_ENTRY
1:.asciz "Xen"
2:.balign 4
3:.quad floor_entry
4:.balign 4

  .text
  .code32
  .globl floor_entry
// PVH entry: 32-bit protected mode, paging off, no stack needed.
floor_entry:
  xorl %eax, %eax
  movw $DEBUG_EXIT_PORT, %dx
  outl %eax, %dx
  // Only reached without isa-debug-exit; halting forever lets --timeout report it.
1:cli
  hlt
  jmp 1b
