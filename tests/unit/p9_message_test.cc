// 9P2000.L message building and parsing: a Twalk laid out as the protocol says, a reply
// read field by field, and short or lying replies caught.
#include <gtest/gtest.h>

#include <vector>

#include "kernel/fs/9p/p9_message.h"

namespace nimbus::p9 {
namespace {

TEST(P9Message, WalkIsLaidOutAsTheProtocolSays) {
  std::vector<std::byte> buffer(64);
  Writer w(buffer, Type::twalk, 1);
  w.put32(5);
  w.put32(6);
  w.put16(1);
  w.put_string("ab");
  size_t length = w.finish();
  ASSERT_EQ(length, 7u + 4 + 4 + 2 + 2 + 2);
  const uint8_t expected[] = {21, 0, 0, 0, 110, 1, 0, 5, 0, 0, 0, 6, 0, 0, 0, 1, 0, 2, 0, 'a', 'b'};
  for (size_t i = 0; i < length; i++) EXPECT_EQ(static_cast<uint8_t>(buffer[i]), expected[i]) << i;
}

TEST(P9Message, AMessageThatDoesNotFitIsRefused) {
  std::vector<std::byte> buffer(10);
  Writer w(buffer, Type::tread, 1);
  w.put32(1);
  w.put64(0);
  EXPECT_FALSE(w.ok());
  EXPECT_EQ(w.finish(), 0u);
}

TEST(P9Message, ReplyFieldsAndShortReplies) {
  // Rlopen: qid (type 0x80, version 7, path 0x1122) and iounit 0.
  const uint8_t raw[] = {24, 0, 0, 0, 13, 1, 0, 0x80, 7, 0, 0, 0, 0x22, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  std::span<const std::byte> message(reinterpret_cast<const std::byte*>(raw), sizeof(raw));
  ReplyHeader header;
  ASSERT_TRUE(parse_reply_header(message, &header));
  EXPECT_EQ(header.type, reply_type(Type::tlopen));
  Reader r(message.subspan(kHeaderSize, header.size - kHeaderSize));
  Qid qid = r.get_qid();
  EXPECT_EQ(qid.type, kQidDirectory);
  EXPECT_EQ(qid.version, 7u);
  EXPECT_EQ(qid.path, 0x1122u);
  EXPECT_EQ(r.get32(), 0u);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.get8(), 0u);  // past the end
  EXPECT_FALSE(r.ok());
  // A size larger than what arrived, and a string longer than its message.
  EXPECT_FALSE(parse_reply_header(message.first(20), &header));
  const uint8_t lying[] = {9, 0, 0, 0, 23, 1, 0, 200, 0};
  Reader s(std::span<const std::byte>(reinterpret_cast<const std::byte*>(lying), sizeof(lying)).subspan(kHeaderSize));
  EXPECT_TRUE(s.get_string().empty());
  EXPECT_FALSE(s.ok());
}

}  // namespace
}  // namespace nimbus::p9
