/* switch_context(uint64_t* save_rsp, uint64_t next_rsp): saves the callee-saved registers
 * on the current stack, stores %rsp, and resumes the next thread where it switched out.
 * The extended (FPU/SSE/AVX) state is saved separately by the scheduler. */
    .section .text
    .globl switch_context
switch_context:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret

/* First code of a new thread: its initial stack holds zeroed callee-saved registers and
 * this address; the entry function and argument come in %r12/%r13. */
    .globl thread_trampoline
thread_trampoline:
    xorl %ebp, %ebp
    movq %r12, %rdi
    movq %r13, %rsi
    call thread_start
    ud2

/* enter_application(entry, stack): the first jump into a program, with the register state
 * the x86-64 psABI gives a new process (3.4.1): %rsp at argc, %rdx = 0 (no atexit
 * function), everything else zero, direction flag clear, interrupts on. */
    .globl enter_application
enter_application:
    movq %rsi, %rsp
    movq %rdi, %rcx
    xorl %eax, %eax
    xorl %ebx, %ebx
    xorl %edx, %edx
    xorl %esi, %esi
    xorl %edi, %edi
    xorl %ebp, %ebp
    xorl %r8d, %r8d
    xorl %r9d, %r9d
    xorl %r10d, %r10d
    xorl %r11d, %r11d
    xorl %r12d, %r12d
    xorl %r13d, %r13d
    xorl %r14d, %r14d
    xorl %r15d, %r15d
    pushq $0x202
    popfq
    jmp *%rcx
