// The 16550 UART on COM1: the kernel console (the boot and panic path, before any driver).
#pragma once

#include <cstddef>

namespace nimbus::serial {

void init();
void write(const char* text, size_t length);

}  // namespace nimbus::serial
