// virtio-console (virtio 1.2, 5.3) with named ports (VIRTIO_CONSOLE_F_MULTIPORT): the data
// path for the program's stdin, stdout and stderr, one port each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "kernel/fs/console.h"
#include "kernel/lib/result.h"
#include "kernel/drivers/virtio/transport.h"

namespace nimbus::virtio_console {

// Starts the first virtio-console among `devices` (on any transport) and announces the
// driver to it; false when there is none or it cannot be started (the serial console then
// stays in use). Needs interrupts and the scheduler.
bool init(std::span<virtio::Transport* const> devices);
bool present();

struct Port;
enum class PortUse { input, output };

// The port the host named `name`, waiting until `deadline_ns` (monotonic) for the device to
// announce it, ready for `use` (receive buffers posted, or a transmit buffer); nullptr if
// it does not appear or its buffers cannot be allocated.
Port* open_port(std::string_view name, PortUse use, uint64_t deadline_ns);

// Returns once the device has used every byte, i.e. the host took them: nothing is lost
// when the program exits right after, and a slow host reader holds the writer back.
Result<size_t> write(Port& port, std::span<const std::byte> data);
// Waits for at least one byte unless `nonblocking` (then EAGAIN); 0 once the host closed
// the port (the end of its input) and every byte has been read.
Result<size_t> read(Port& port, std::span<std::byte> buffer, bool nonblocking);
size_t readable_bytes(Port& port);
// The host closed the port and every byte has been read.
bool input_ended(Port& port);
// Has `console` told (Console::input_arrived) whenever bytes arrive on `port` or its input
// ends, so poll, select and epoll wake. Up to two consoles per port.
void listen_for_input(Port& port, fs::Console& console);

// A Console that reads one port and writes another (stdin with stdout, stdin with stderr).
class PortStream final : public fs::Console {
 public:
  PortStream(Port& input, Port& output) : m_input(input), m_output(output) { listen_for_input(input, *this); }
  Result<size_t> write(std::span<const std::byte> data) override { return virtio_console::write(m_output, data); }
  Result<size_t> read(std::span<std::byte> buffer, bool nonblocking) override {
    return virtio_console::read(m_input, buffer, nonblocking);
  }
  size_t readable_bytes() override { return virtio_console::readable_bytes(m_input); }
  bool input_ended() override { return virtio_console::input_ended(m_input); }

 private:
  Port& m_input;
  Port& m_output;
};

}  // namespace nimbus::virtio_console
