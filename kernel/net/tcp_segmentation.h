// TCP segmentation in software: what a TSO device does with a large segment, for the
// routes whose device cannot (no VIRTIO_NET_F_HOST_TSO4/6, user networking, a lowered path
// MTU). TCP hands IP one segment of up to 64 KiB (PacketOffload::gso_size set); this cuts it
// into segments of gso_size data bytes.
#pragma once

#include "kernel/lib/result.h"
#include "kernel/net/ip_address.h"
#include "kernel/net/packet.h"

namespace nimbus::net {

// The TCP length (header and data) of the largest piece `segment` would be cut into.
size_t tcp_segment_piece_length(const Packet& segment);

// `segment` starts with its TCP header and carries offload.gso_size. Appends to `pieces` the
// segments it becomes, in order: each a copy of the header with the sequence number moved on,
// FIN and PSH only on the last, CWR only on the first (as the device does, RFC 3168 6.1.2),
// and its checksum left as offload.checksum_needed (the pseudo-header sum in the field), so
// IP finishes or offloads it like any other. Takes ownership of `segment` in every case;
// ENOBUFS (nothing appended) when memory runs out, EINVAL for a malformed segment.
Result<> tcp_segment_in_software(Packet* segment, const IpAddress& source, const IpAddress& destination,
                                 PacketList& pieces);

}  // namespace nimbus::net
