/* The empty symbol table of the kernel's first link (see kernel/CMakeLists.txt). */
    .section .ksyms, "a"
    .p2align 3
    .globl ksyms_count, ksyms_table, ksyms_names
ksyms_count: .quad 0
ksyms_table:
ksyms_names: .byte 0
