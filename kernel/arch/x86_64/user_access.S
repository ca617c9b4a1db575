/* The only instructions that touch program memory on a checked path. Each one that may fault
 * has an exception-table entry: when the page fault (or, for XRSTOR, the #GP of a bad
 * header) cannot be served, the handler resumes at the fix-up, which returns an error
 * instead of panicking. Leaf functions: no stack frame, so a fix-up can simply `ret`. */

/* One .ex_table entry: faulting instruction, fix-up, kind 0 (the fix-up returns the error). */
#define FIXUP(insn, fixup) \
    .pushsection .ex_table, "a"; .balign 8; .quad insn, fixup, 0; .popsection

    .section .text

/* size_t user_access_copy(void* to, const void* from, size_t count): the bytes NOT copied
 * (0 on success). After a fault, %rcx still counts what rep movsb had left. */
    .globl user_access_copy
user_access_copy:
    movq %rdx, %rcx
1:  rep movsb
2:  movq %rcx, %rax
    ret
    FIXUP(1b, 2b)

/* size_t user_access_clear(void* to, size_t count): the bytes NOT zeroed. */
    .globl user_access_clear
user_access_clear:
    movq %rsi, %rcx
    xorl %eax, %eax
1:  rep stosb
2:  movq %rcx, %rax
    ret
    FIXUP(1b, 2b)

/* long user_access_copy_string(char* to, const char* from, size_t size): copies up to and
 * including a NUL within `size` bytes; the string's length, `size` when no NUL came, -1 on
 * a fault. */
    .globl user_access_copy_string
user_access_copy_string:
    xorl %eax, %eax
3:  cmpq %rdx, %rax
    jae 4f
1:  movb (%rsi,%rax), %cl
    movb %cl, (%rdi,%rax)
    testb %cl, %cl
    jz 4f
    incq %rax
    jmp 3b
4:  ret
2:  movq $-1, %rax
    ret
    FIXUP(1b, 2b)

/* int user_access_load32(const uint32_t* address, uint32_t* value): 0, or -1 on a fault. */
    .globl user_access_load32
user_access_load32:
1:  movl (%rdi), %eax
    movl %eax, (%rsi)
    xorl %eax, %eax
    ret
2:  movl $-1, %eax
    ret
    FIXUP(1b, 2b)

/* int user_access_cmpxchg32(uint32_t* address, uint32_t* expected, uint32_t desired):
 * 1 when the word held *expected and now holds desired, 0 when it held another value (now
 * in *expected), -1 on a fault (a read-only page included). */
    .globl user_access_cmpxchg32
user_access_cmpxchg32:
    movl (%rsi), %eax
1:  lock cmpxchgl %edx, (%rdi)
    sete %cl
    movl %eax, (%rsi)
    movzbl %cl, %eax
    ret
2:  movl $-1, %eax
    ret
    FIXUP(1b, 2b)

/* int user_access_xsave(void* area, uint64_t components): 0, or -1 on a fault. */
    .globl user_access_xsave
user_access_xsave:
    movl %esi, %eax
    movq %rsi, %rdx
    shrq $32, %rdx
1:  xsave64 (%rdi)
    xorl %eax, %eax
    ret
2:  movl $-1, %eax
    ret
    FIXUP(1b, 2b)

/* int user_access_fxsave(void* area): 0, or -1 on a fault. */
    .globl user_access_fxsave
user_access_fxsave:
1:  fxsave64 (%rdi)
    xorl %eax, %eax
    ret
2:  movl $-1, %eax
    ret
    FIXUP(1b, 2b)

/* int user_access_xrstor(const void* area, uint64_t components): 0, or -1 when the area
 * faults or is refused (#GP: a bad header, reserved MXCSR bits). */
    .globl user_access_xrstor
user_access_xrstor:
    movl %esi, %eax
    movq %rsi, %rdx
    shrq $32, %rdx
1:  xrstor64 (%rdi)
    xorl %eax, %eax
    ret
2:  movl $-1, %eax
    ret
    FIXUP(1b, 2b)

/* int user_access_fxrstor(const void* area): 0, or -1 on a fault or #GP. */
    .globl user_access_fxrstor
user_access_fxrstor:
1:  fxrstor64 (%rdi)
    xorl %eax, %eax
    ret
2:  movl $-1, %eax
    ret
    FIXUP(1b, 2b)
