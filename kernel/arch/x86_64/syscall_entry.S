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
