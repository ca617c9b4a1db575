// Packet buffers: the header and the bytes in one heap block.
#include "kernel/net/packet.h"

#include <new>

#include "kernel/lib/ref_ptr.h"

namespace nimbus::net {

Result<Packet*> Packet::try_allocate(size_t capacity, size_t headroom) {
  if (headroom > capacity) return error(Errno::einval);
  void* block = ::operator new(sizeof(Packet) + capacity, kNoThrow);
  if (!block) return error(Errno::enomem);
  Packet* packet = new (block) Packet();
  packet->m_buffer = reinterpret_cast<std::byte*>(packet + 1);
  packet->m_capacity = capacity;
  packet->m_head = headroom;
  return packet;
}

void Packet::free(Packet* packet) {
  if (!packet) return;
  packet->~Packet();
  ::operator delete(packet);
}

std::byte* Packet::push(size_t n) {
  if (n > m_head) return nullptr;
  m_head -= n;
  m_length += n;
  return data();
}

bool Packet::pull(size_t n) {
  if (n > m_length) return false;
  m_head += n;
  m_length -= n;
  return true;
}

std::byte* Packet::put(size_t n) {
  if (n > tailroom()) return nullptr;
  std::byte* start = data() + m_length;
  m_length += n;
  return start;
}

void Packet::trim(size_t n) {
  if (n < m_length) m_length = n;
}

}  // namespace nimbus::net
