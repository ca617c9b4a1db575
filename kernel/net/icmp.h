// ICMP for IPv4 (RFC 792, RFC 1122 3.2.2): echo replies, the errors this host sends
// (rate-limited), and the errors it receives, handed to the transport that caused them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nimbus::net {

constexpr uint8_t kIcmpEchoReply = 0;
constexpr uint8_t kIcmpDestinationUnreachable = 3;
constexpr uint8_t kIcmpEchoRequest = 8;
constexpr uint8_t kIcmpTimeExceeded = 11;
constexpr uint8_t kIcmpParameterProblem = 12;

// Destination unreachable codes.
constexpr uint8_t kIcmpNetUnreachable = 0;
constexpr uint8_t kIcmpHostUnreachable = 1;
constexpr uint8_t kIcmpProtocolUnreachable = 2;
constexpr uint8_t kIcmpPortUnreachable = 3;
constexpr uint8_t kIcmpFragmentationNeeded = 4;

constexpr size_t kIcmpHeaderSize = 8;

// The function entry points live in net_stack_state.h (icmp_input, icmp_send_error): they
// take the stack's private state.

}  // namespace nimbus::net
