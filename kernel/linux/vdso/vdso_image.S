/* The built vDSO (see kernel/CMakeLists.txt), embedded in the kernel's read-only data. */
    .section .rodata
    .p2align 12
    .globl vdso_image_start, vdso_image_end
vdso_image_start:
    .incbin VDSO_PATH
vdso_image_end:
