/* PVH entry: 32-bit protected mode with paging off, %ebx = physical hvm_start_info.
 * Builds just enough paging to reach the higher-half kernel in long mode, then calls
 * kernel_main(start_info_phys, entry_tsc). The real page tables are built in C++. */
#include "kernel/arch/x86_64/layout.h"

#define PHYS(sym) ((sym) - KERNEL_VIRT_BASE)

    .section .note.Xen, "a"
    .p2align 2
    .long 4                 /* name size: "Xen\0" */
    .long 8                 /* descriptor size: QEMU reads 8 bytes from an ELF64 kernel */
    .long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .quad PHYS(pvh_entry)

    .section .boot.text, "ax"
    .code32
    .globl pvh_entry
pvh_entry:
    cli
    cld
    /* First thing: the TSC at entry, for --bootchart (kept in %edi:%esi). */
    rdtsc
    movl %eax, %esi
    movl %edx, %edi
    movl $PHYS(boot_stack_top), %esp

    /* Zero .bss: loaders are not all obliged to (the PVH spec says nothing about it). */
    movl %edi, %ebp                        /* the stack lives in .bss: keep the TSC in a register */
    movl $PHYS(__bss_start), %edi
    movl $PHYS(__bss_end), %ecx
    subl %edi, %ecx
    shrl $2, %ecx
    xorl %eax, %eax
    rep stosl
    movl %ebp, %edi

    /* Boot page tables: PML4[0] and PML4[511] share one PDPT layout mapping the first
     * 1 GiB with 2 MiB pages, enough for the kernel image and the start_info. */
    movl $PHYS(boot_pd), %edx
    xorl %ecx, %ecx
1:  movl %ecx, %eax
    shll $21, %eax
    orl $0x83, %eax                        /* present | writable | 2 MiB page */
    movl %eax, (%edx,%ecx,8)
    incl %ecx
    cmpl $512, %ecx
    jne 1b
    movl $PHYS(boot_pd) + 3, PHYS(boot_pdpt_low)
    movl $PHYS(boot_pd) + 3, PHYS(boot_pdpt_high) + 510 * 8
    movl $PHYS(boot_pdpt_low) + 3, PHYS(boot_pml4)
    movl $PHYS(boot_pdpt_high) + 3, PHYS(boot_pml4) + 511 * 8

    movl %cr4, %eax
    orl $(1 << 5), %eax                    /* PAE */
    movl %eax, %cr4
    movl $PHYS(boot_pml4), %eax
    movl %eax, %cr3
    movl $0xC0000080, %ecx                 /* EFER */
    rdmsr
    orl $(1 << 8), %eax                    /* LME */
    wrmsr
    movl %cr0, %eax
    orl $((1 << 31) | (1 << 16) | 1), %eax /* PG | WP | PE */
    movl %eax, %cr0

    lgdt PHYS(boot_gdt_pointer)
    ljmp $0x08, $PHYS(long_mode_entry)

    .code64
long_mode_entry:
    movl $0x10, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    xorl %eax, %eax
    movl %eax, %fs
    movl %eax, %gs
    movabsq $higher_half_entry, %rax
    jmp *%rax

    .section .text
higher_half_entry:
    movabsq $boot_stack_top, %rsp
    xorl %ebp, %ebp
    /* Reload the GDT pointer through its higher-half address, then drop the identity map
     * later (the C++ page tables have none). */
    movabsq $boot_gdt_pointer64, %rax
    lgdt (%rax)
    /* kernel_main(start_info_phys = %ebx, entry_tsc = %edi:%esi) */
    movl %ebx, %ebx
    shlq $32, %rdi
    movl %esi, %esi
    orq %rdi, %rsi
    movq %rbx, %rdi
    call kernel_main
2:  cli
    hlt
    jmp 2b

    .section .boot.data, "aw"
    .p2align 3
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff               /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff               /* 0x10: data */
boot_gdt_end:
boot_gdt_pointer:
    .word boot_gdt_end - boot_gdt - 1
    .long PHYS(boot_gdt)
    .p2align 3
boot_gdt_pointer64:
    .word boot_gdt_end - boot_gdt - 1
    .quad boot_gdt

    .section .bss
    .p2align 12
boot_pml4:      .skip 4096
boot_pdpt_low:  .skip 4096
boot_pdpt_high: .skip 4096
boot_pd:        .skip 4096
    .globl boot_stack_bottom, boot_stack_top
boot_stack_bottom:
    .skip 16384
boot_stack_top:
