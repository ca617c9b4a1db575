/* The `syscall` instruction from the application, which runs in ring 0 like the kernel.
 * syscall does not switch stacks, so we leave the application's stack (and its red zone)
 * alone at once; it does not change CPL either, so we return with popfq + jmp, never
 * sysret (which would drop to ring 3). The frame layout is linux/syscall_frame.h. */

#define CPU_SYSCALL_STACK_TOP 16
#define CPU_USER_RSP_SCRATCH 24

    .section .text
    .globl syscall_entry
syscall_entry:
    /* IF, DF, TF, AC are clear (IA32_FMASK). %rcx = return rip, %r11 = rflags. */
    movq %rsp, %gs:CPU_USER_RSP_SCRATCH
    movq %gs:CPU_SYSCALL_STACK_TOP, %rsp
    pushq %gs:CPU_USER_RSP_SCRATCH
    pushq %r11
    pushq %rcx
    pushq %rax
    pushq %rdi
    pushq %rsi
    pushq %rdx
    pushq %r10
    pushq %r8
    pushq %r9
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rdi
    /* A frame pointer chain that ends here, for backtraces of syscalls. */
    pushq 13*8(%rsp)                     /* application rip */
    pushq $0
    movq %rsp, %rbp
    sti
    call syscall_dispatch
    cli
    addq $16, %rsp
    .globl syscall_return
syscall_return:
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    popq %r9
    popq %r8
    popq %r10
    popq %rdx
    popq %rsi
    popq %rdi
    popq %rax
    popq %rcx                            /* return rip, as Linux leaves it in %rcx */
    popq %r11                            /* rflags, as Linux leaves them in %r11 */
    pushq %r11
    popfq
    /* One instruction to leave the kernel stack: an interrupt before or after it runs on
     * an IST stack, and a preemption here resumes here. */
    movq (%rsp), %rsp
    jmp *%rcx

/* resume_from_frame(frame): a new application thread (clone) starts by "returning" from
 * the syscall with the frame prepared for it on its own kernel stack. */
    .globl resume_from_frame
resume_from_frame:
    cli
    movq %rdi, %rsp
    jmp syscall_return

/* resume_full_registers(regs): returns to the application with every register restored
 * (rt_sigreturn: the interrupted code may have been anywhere, so %rcx and %r11 matter).
 * regs: r15 r14 r13 r12 r11 r10 r9 r8 rbp rdi rsi rdx rcx rbx rax rip rflags rsp. iretq
 * from ring 0 to ring 0 still pops %rsp and %ss, which is what we want. */
    .globl resume_full_registers
resume_full_registers:
    pushq $0x10
    pushq 17*8(%rdi)
    pushq 16*8(%rdi)
    pushq $0x08
    pushq 15*8(%rdi)
    movq 0*8(%rdi), %r15
    movq 1*8(%rdi), %r14
    movq 2*8(%rdi), %r13
    movq 3*8(%rdi), %r12
    movq 4*8(%rdi), %r11
    movq 5*8(%rdi), %r10
    movq 6*8(%rdi), %r9
    movq 7*8(%rdi), %r8
    movq 8*8(%rdi), %rbp
    movq 10*8(%rdi), %rsi
    movq 11*8(%rdi), %rdx
    movq 12*8(%rdi), %rcx
    movq 13*8(%rdi), %rbx
    movq 14*8(%rdi), %rax
    movq 9*8(%rdi), %rdi
    iretq
