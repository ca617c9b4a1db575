// The kernel's self-tests: the default job until applications run, and what the VM tests
// select with `test=NAME` on the kernel command line.
#pragma once

#include <string_view>

namespace nimbus::selftest {

// Runs the named test (empty: the default self-test); returns the VM exit status.
int run(std::string_view name);

// The individual tests; each prints one "<name>: ok ..." or "<name>: FAILED ..." line.
bool allocation();
bool threads_on_every_cpu();
bool timers();
bool thread_churn();
bool mutex_counter();
bool sleep_accuracy();
// Needs a started virtio-net device on QEMU user networking (test=net-arp starts it).
bool virtio_net_arp();
// Needs the network stage (test=net-udp-echo starts it) and -p HOSTPORT:7777/udp.
bool udp_echo();
[[noreturn]] void deliberate_page_fault();
[[noreturn]] void exhaust_memory();

}  // namespace nimbus::selftest
