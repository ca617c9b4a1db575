/* The kernel's virtual memory map; shared by assembly and C++. */
#pragma once

/* The image is linked here and loaded at physical KERNEL_PHYS_BASE (top 2 GiB, -mcmodel=kernel). */
#define KERNEL_VIRT_BASE 0xffffffff80000000
#define KERNEL_PHYS_BASE 0x100000
/* All of RAM, mapped with large pages. */
#define DIRECT_MAP_BASE 0xffff800000000000
/* Kernel virtual ranges with 4 KiB mappings: thread stacks with guard pages. */
#define KERNEL_VRANGE_BASE 0xffffc00000000000
#define KERNEL_VRANGE_SIZE 0x0000004000000000 /* 256 GiB */
/* Where application processors start (real mode, below 1 MiB). */
#define AP_TRAMPOLINE_PHYS 0x8000
