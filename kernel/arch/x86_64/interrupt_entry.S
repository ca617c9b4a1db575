/* One entry stub per vector: push a uniform frame (see interrupt_frame.h) and call
 * interrupt_dispatch(frame). Every vector runs on an IST stack (descriptors.cc), so an
 * interrupt never writes below an application's %rsp (its red zone). */

    .macro STUB vector
    .p2align 4
    .if (\vector == 8) || (\vector >= 10 && \vector <= 14) || (\vector == 17) || (\vector == 21) || (\vector == 29) || (\vector == 30)
    /* The CPU pushed an error code. */
    .else
    pushq $0
    .endif
    pushq $\vector
    jmp interrupt_common
    .endm

    .section .text
    .p2align 4
    .globl interrupt_stubs_start
interrupt_stubs_start:
    .altmacro
    .set vec, 0
    .rept 256
    STUB %vec
    .set vec, vec + 1
    .endr
    .noaltmacro

interrupt_common:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    cld
    movq %rsp, %rdi
    /* A frame pointer chain through the interrupted code for backtraces. */
    movq 15*8 + 16(%rsp), %rax           /* interrupted rip */
    pushq %rax
    pushq %rbp
    movq %rsp, %rbp
    call interrupt_dispatch
    addq $16, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp
    iretq
