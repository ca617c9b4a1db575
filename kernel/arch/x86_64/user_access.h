// Fault-tolerant instructions on program memory (user_access.S): each returns an error
// instead of faulting in the kernel when the page cannot be served. Callers go through
// kernel/linux/user_memory.h, which adds the range checks and Result.
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" {
size_t user_access_copy(void* to, const void* from, size_t count);
size_t user_access_clear(void* to, size_t count);
long user_access_copy_string(char* to, const char* from, size_t size);
int user_access_load32(const uint32_t* address, uint32_t* value);
int user_access_cmpxchg32(uint32_t* address, uint32_t* expected, uint32_t desired);
int user_access_xsave(void* area, uint64_t components);
int user_access_fxsave(void* area);
int user_access_xrstor(const void* area, uint64_t components);
int user_access_fxrstor(const void* area);
}
