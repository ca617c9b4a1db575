// The accelerator probe: a PVH kernel that runs ring-0 SSE code and reports success via isa-debug-exit.
//
// `nimbus run --accel auto` boots it under KVM with a hard time limit. A real hardware KVM runs
// the loop below in about a millisecond; kvm_pvm emulates guest ring-0 code (~1 us/instruction)
// and stops with "KVM internal error" on the first SSE instruction, so either failure or a timeout
// tells the CLI to use TCG instead.

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define DEBUG_EXIT_PORT 0xf4
#ifndef PROBE_OK
#error "PROBE_OK (the success status) comes from tools/nimbus/CMakeLists.txt"
#endif
#define PROBE_WRONG_RESULT 0x01
#define ITERATIONS 250000  // x 8 SSE instructions = 2 million

#define CR0_MP (1 << 1)
#define CR0_EM (1 << 2)
#define CR4_OSFXSR (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)

// QEMU reads the PVH entry from this note. For an ELF64 file it reads the descriptor as 8 bytes
// and aligns the name to the segment's p_align, so the note is 4-aligned and the entry a .quad.
  .section .note.Xen, "a", @note
  .balign 4
  .long 2f - 1f
  .long 4f - 3f
  .long XEN_ELFNOTE_PHYS32_ENTRY
1:.asciz "Xen"
2:.balign 4
3:.quad probe_entry
4:.balign 4

  .section .rodata
  .balign 16
ones:  .float 1.0, 1.0, 1.0, 1.0
zeros: .float 0.0, 0.0, 0.0, 0.0

  .text
  .code32
  .globl probe_entry
// PVH entry: 32-bit protected mode, paging off, no stack needed.
probe_entry:
  movl %cr0, %eax
  andl $~CR0_EM, %eax
  orl $CR0_MP, %eax
  movl %eax, %cr0
  movl %cr4, %eax
  orl $(CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
  movl %eax, %cr4

  // Four independent accumulators each gain 1.0 per iteration; the multiplies by 1.0 keep mulps
  // in the mix without changing the result, so the expected sum is exactly ITERATIONS (< 2^24).
  movaps ones, %xmm4
  movaps zeros, %xmm0
  movaps zeros, %xmm1
  movaps zeros, %xmm2
  movaps zeros, %xmm3
  movl $ITERATIONS, %ecx
1:addps %xmm4, %xmm0
  mulps %xmm4, %xmm0
  addps %xmm4, %xmm1
  mulps %xmm4, %xmm1
  addps %xmm4, %xmm2
  mulps %xmm4, %xmm2
  addps %xmm4, %xmm3
  mulps %xmm4, %xmm3
  decl %ecx
  jnz 1b

  addps %xmm1, %xmm0
  addps %xmm3, %xmm2
  addps %xmm2, %xmm0
  cvttss2si %xmm0, %eax
  movl $PROBE_OK, %ebx
  cmpl $(4 * ITERATIONS), %eax
  je 2f
  movl $PROBE_WRONG_RESULT, %ebx
2:movl %ebx, %eax
  movw $DEBUG_EXIT_PORT, %dx
  outl %eax, %dx
  // Only reached without isa-debug-exit; halting forever lets the probe's time limit end it.
3:cli
  hlt
  jmp 3b
