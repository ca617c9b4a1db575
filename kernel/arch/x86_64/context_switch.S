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
