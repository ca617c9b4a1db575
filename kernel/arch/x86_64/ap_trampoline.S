/* Application processors start here in real mode (copied to AP_TRAMPOLINE_PHYS): load a
 * temporary GDT, enter protected then long mode with the kernel page tables, and jump to
 * ap_entry(cpu) on the stack the bootstrap CPU prepared. One AP starts at a time, so one
 * parameter block suffices. */
#include "kernel/arch/x86_64/layout.h"

#define AT(label) ((label) - ap_trampoline_start + AP_TRAMPOLINE_PHYS)

    .section .rodata
    .p2align 4
    .globl ap_trampoline_start, ap_trampoline_end, ap_trampoline_params
    .code16
ap_trampoline_start:
    cli
    cld
    xorw %ax, %ax
    movw %ax, %ds
    lgdtl AT(trampoline_gdt_pointer)
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl $0x08, $AT(protected_mode)

    .code32
protected_mode:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl %cr4, %eax
    orl $(1 << 5), %eax                    /* PAE */
    movl %eax, %cr4
    movl AT(param_cr3), %eax
    movl %eax, %cr3
    movl $0xC0000080, %ecx                 /* EFER: long mode, and NX if the BSP uses it */
    rdmsr
    orl $(1 << 8), %eax
    orl AT(param_efer_extra), %eax
    wrmsr
    movl %cr0, %eax
    orl $((1 << 31) | (1 << 16)), %eax     /* PG | WP */
    movl %eax, %cr0
    ljmp $0x18, $AT(long_mode)

    .code64
long_mode:
    movq AT(param_stack), %rsp
    movq AT(param_cpu), %rdi
    movq AT(param_entry), %rax
    xorl %ebp, %ebp
    jmp *%rax

    .p2align 3
trampoline_gdt:
    .quad 0
    .quad 0x00cf9a000000ffff               /* 0x08: 32-bit code */
    .quad 0x00cf92000000ffff               /* 0x10: data */
    .quad 0x00af9a000000ffff               /* 0x18: 64-bit code */
trampoline_gdt_end:
trampoline_gdt_pointer:
    .word trampoline_gdt_end - trampoline_gdt - 1
    .long AT(trampoline_gdt)

    .p2align 3
ap_trampoline_params:
param_cr3:        .quad 0
param_efer_extra: .quad 0
param_stack:      .quad 0
param_cpu:        .quad 0
param_entry:      .quad 0
ap_trampoline_end:
