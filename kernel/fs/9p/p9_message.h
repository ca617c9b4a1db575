// 9P2000.L messages (the Linux 9p protocol: size[4] type[1] tag[2] then the fields, little
// endian; strings as length[2] and bytes): a writer that builds a T-message and a reader that
// checks every field of an R-message against the bytes received. Pure logic, unit-tested.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace nimbus::p9 {

// The message types used here (Linux's include/net/9p/9p.h numbering).
enum class Type : uint8_t {
  rlerror = 7,
  tstatfs = 8,
  tlopen = 12,
  tlcreate = 14,
  tsymlink = 16,
  treadlink = 22,
  tgetattr = 24,
  tsetattr = 26,
  treaddir = 40,
  tfsync = 50,
  tlink = 70,
  tmkdir = 72,
  trenameat = 74,
  tunlinkat = 76,
  tversion = 100,
  tattach = 104,
  twalk = 110,
  tread = 116,
  twrite = 118,
  tclunk = 120,
};
// An R-message's type is its T-message's plus one.
constexpr uint8_t reply_type(Type t) { return static_cast<uint8_t>(static_cast<uint8_t>(t) + 1); }

constexpr size_t kHeaderSize = 7;
constexpr uint32_t kNoFid = ~0u;
constexpr size_t kQidSize = 13;

struct Qid {
  uint8_t type = 0;  // 0x80 directory, 0x02 symlink, 0 file
  uint32_t version = 0;
  uint64_t path = 0;
};
constexpr uint8_t kQidDirectory = 0x80, kQidSymlink = 0x02;

// Builds one T-message in a caller's buffer; ok() is false once something did not fit.
class Writer {
 public:
  Writer(std::span<std::byte> buffer, Type type, uint16_t tag) : m_buffer(buffer) {
    put32(0);  // the size, set by finish()
    put8(static_cast<uint8_t>(type));
    put16(tag);
  }
  void put8(uint8_t v) { put(&v, 1); }
  void put16(uint16_t v) { put(&v, 2); }
  void put32(uint32_t v) { put(&v, 4); }
  void put64(uint64_t v) { put(&v, 8); }
  void put_string(std::string_view s) {
    if (s.size() > 0xffff) {
      m_ok = false;
      return;
    }
    put16(static_cast<uint16_t>(s.size()));
    put(s.data(), s.size());
  }
  void put_bytes(std::span<const std::byte> data) { put(data.data(), data.size()); }
  // Sets the size field; the message's length, or 0 when it did not fit.
  size_t finish() {
    if (!m_ok) return 0;
    auto size = static_cast<uint32_t>(m_used);
    memcpy(m_buffer.data(), &size, 4);
    return m_used;
  }
  bool ok() const { return m_ok; }

 private:
  void put(const void* data, size_t n) {
    if (!m_ok || n > m_buffer.size() - m_used) {
      m_ok = false;
      return;
    }
    memcpy(m_buffer.data() + m_used, data, n);
    m_used += n;
  }
  std::span<std::byte> m_buffer;
  size_t m_used = 0;
  bool m_ok = true;
};

// Reads an R-message's fields after its header; any read past the message's end sets !ok()
// and yields zeros, so a short or lying reply is one check at the end.
class Reader {
 public:
  explicit Reader(std::span<const std::byte> message) : m_data(message) {}
  uint8_t get8() { return get<uint8_t>(); }
  uint16_t get16() { return get<uint16_t>(); }
  uint32_t get32() { return get<uint32_t>(); }
  uint64_t get64() { return get<uint64_t>(); }
  std::string_view get_string() {
    uint16_t n = get16();
    if (!m_ok || n > m_data.size() - m_at) {
      m_ok = false;
      return {};
    }
    std::string_view s(reinterpret_cast<const char*>(m_data.data() + m_at), n);
    m_at += n;
    return s;
  }
  std::span<const std::byte> get_bytes(size_t n) {
    if (!m_ok || n > m_data.size() - m_at) {
      m_ok = false;
      return {};
    }
    auto bytes = m_data.subspan(m_at, n);
    m_at += n;
    return bytes;
  }
  Qid get_qid() {
    Qid q;
    q.type = get8();
    q.version = get32();
    q.path = get64();
    return q;
  }
  void skip(size_t n) { (void)get_bytes(n); }
  bool ok() const { return m_ok; }
  size_t remaining() const { return m_data.size() - m_at; }

 private:
  template <typename T>
  T get() {
    T v{};
    if (!m_ok || sizeof(T) > m_data.size() - m_at) {
      m_ok = false;
      return v;
    }
    memcpy(&v, m_data.data() + m_at, sizeof(T));
    m_at += sizeof(T);
    return v;
  }
  std::span<const std::byte> m_data;
  size_t m_at = 0;
  bool m_ok = true;
};

struct ReplyHeader {
  uint32_t size = 0;
  uint8_t type = 0;
  uint16_t tag = 0;
};

// Checks a reply's header: its size within `received` bytes and at least a header. nullopt-like
// false when malformed.
inline bool parse_reply_header(std::span<const std::byte> received, ReplyHeader* header) {
  if (received.size() < kHeaderSize) return false;
  memcpy(&header->size, received.data(), 4);
  header->type = static_cast<uint8_t>(received[4]);
  memcpy(&header->tag, received.data() + 5, 2);
  return header->size >= kHeaderSize && header->size <= received.size();
}

}  // namespace nimbus::p9
