// Tests for SplitVirtqueue against a fake device that reads the available ring and fills the
// used ring the way virtio 1.x says a device does (2.7.13, 2.7.8).
#include "kernel/drivers/virtio/virtqueue.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace nimbus::virtio {
namespace {

// The device's view of the same memory.
class FakeDevice {
 public:
  FakeDevice(uint8_t* memory, uint16_t size) : m_memory(memory), m_size(size), m_layout(VirtqueueLayout::for_size(size)) {}

  uint16_t available_index() const { return read16(m_layout.available + 2); }
  // The next request the driver made available, as its chain of descriptors.
  std::vector<Descriptor> take_request(uint16_t* head) {
    *head = read16(m_layout.available + 4 + 2 * (m_next_available++ % m_size));
    std::vector<Descriptor> chain;
    uint16_t id = *head;
    while (true) {
      Descriptor d;
      std::memcpy(&d, m_memory + m_layout.descriptors + id * sizeof(Descriptor), sizeof(d));
      chain.push_back(d);
      if (!(d.flags & kDescriptorNext)) break;
      id = d.next;
    }
    return chain;
  }
  void complete(uint16_t head, uint32_t written) {
    UsedElement element{head, written};
    std::memcpy(m_memory + m_layout.used + 4 + (m_used % m_size) * sizeof(UsedElement), &element, sizeof(element));
    m_used++;
    write16(m_layout.used + 2, m_used);
  }
  void set_no_notify(bool on) { write16(m_layout.used, on ? kUsedNoNotify : 0); }
  // 2.7.7: what a device checks before interrupting.
  bool driver_wants_interrupt() const { return !(read16(m_layout.available) & kAvailableNoInterrupt); }

 private:
  uint16_t read16(size_t offset) const {
    uint16_t value;
    std::memcpy(&value, m_memory + offset, 2);
    return value;
  }
  void write16(size_t offset, uint16_t value) { std::memcpy(m_memory + offset, &value, 2); }

  uint8_t* m_memory;
  uint16_t m_size;
  VirtqueueLayout m_layout;
  uint16_t m_next_available = 0;
  uint16_t m_used = 0;
};

class Virtqueue : public testing::Test {
 protected:
  static constexpr uint16_t kSize = 8;
  void SetUp() override {
    m_memory.assign(VirtqueueLayout::for_size(kSize).total, 0);
    m_queue.attach(m_memory.data(), kSize);
  }
  std::vector<uint8_t> m_memory;
  SplitVirtqueue m_queue;
  FakeDevice device() { return FakeDevice(m_memory.data(), kSize); }
};

TEST(VirtqueueLayout, FollowsTheSpecAlignments) {
  VirtqueueLayout layout = VirtqueueLayout::for_size(8);
  EXPECT_EQ(layout.descriptors, 0u);
  EXPECT_EQ(layout.available, 128u);  // 16 bytes per descriptor
  EXPECT_EQ(layout.used, 152u);       // 128 + flags, idx, 8 entries, used_event = 150, aligned to 4
  EXPECT_EQ(layout.total, 152u + 4 + 64 + 2);
  VirtqueueLayout big = VirtqueueLayout::for_size(256);
  EXPECT_EQ(big.used % 4, 0u);
  EXPECT_EQ(big.total, 4096u + 518 + 2 + 2054);  // the available ring ends at 4614, already aligned
}

TEST_F(Virtqueue, ChainsBuffersAndReturnsTheirToken) {
  FakeDevice fake = device();
  Buffer parts[] = {{0x1000, 16, false}, {0x2000, 4096, true}, {0x3000, 1, true}};
  auto head = m_queue.submit(parts, 42);
  ASSERT_TRUE(head);
  EXPECT_EQ(m_queue.free_descriptors(), kSize - 3);
  EXPECT_EQ(fake.available_index(), 1);
  uint16_t seen_head;
  std::vector<Descriptor> chain = fake.take_request(&seen_head);
  EXPECT_EQ(seen_head, *head);
  ASSERT_EQ(chain.size(), 3u);
  EXPECT_EQ(chain[0].address, 0x1000u);
  EXPECT_EQ(chain[0].flags, kDescriptorNext);
  EXPECT_EQ(chain[1].length, 4096u);
  EXPECT_EQ(chain[1].flags, kDescriptorNext | kDescriptorWrite);
  EXPECT_EQ(chain[2].flags, kDescriptorWrite);

  EXPECT_FALSE(m_queue.has_used());
  fake.complete(seen_head, 4097);
  auto done = m_queue.pop_used();
  ASSERT_TRUE(done);
  EXPECT_EQ(done->token, 42u);
  EXPECT_EQ(done->written, 4097u);
  EXPECT_EQ(m_queue.free_descriptors(), kSize);
  EXPECT_FALSE(m_queue.pop_used());
}

TEST_F(Virtqueue, RefusesWhatDoesNotFitAndChangesNothing) {
  std::vector<Buffer> too_many(kSize + 1, Buffer{0x1000, 1, false});
  EXPECT_FALSE(m_queue.submit(too_many, 1));
  EXPECT_FALSE(m_queue.submit({}, 1));
  EXPECT_EQ(m_queue.free_descriptors(), kSize);
  EXPECT_EQ(device().available_index(), 0);
}

TEST_F(Virtqueue, IndicesWrapAroundSixteenBitsWithCompletionsOutOfOrder) {
  FakeDevice fake = device();
  // 70,000 requests, two in flight at a time, completed in reverse order: the free-running
  // uint16 indices wrap, slots are reused, and every token comes back exactly once.
  uint32_t next_token = 0;
  uint64_t tokens_back = 0, expected_sum = 0;
  for (int round = 0; round < 35'000; round++) {
    Buffer one{0x1000, 8, false};
    Buffer two[] = {{0x2000, 8, false}, {0x3000, 8, true}};
    uint32_t first = next_token++, second = next_token++;
    expected_sum += first + second;
    ASSERT_TRUE(m_queue.submit({&one, 1}, first));
    ASSERT_TRUE(m_queue.submit(two, second));
    uint16_t head_a, head_b;
    fake.take_request(&head_a);
    fake.take_request(&head_b);
    fake.complete(head_b, 8);
    fake.complete(head_a, 0);
    auto b = m_queue.pop_used();
    auto a = m_queue.pop_used();
    ASSERT_TRUE(a && b);
    EXPECT_EQ(b->token, second);
    EXPECT_EQ(a->token, first);
    tokens_back += a->token + b->token;
  }
  EXPECT_EQ(tokens_back, expected_sum);
  EXPECT_EQ(m_queue.free_descriptors(), kSize);
}

TEST_F(Virtqueue, FillsEveryDescriptorThenReusesThem) {
  FakeDevice fake = device();
  for (uint32_t i = 0; i < kSize; i++) ASSERT_TRUE(m_queue.submit(std::vector<Buffer>{{0x1000u * i, 1, true}}, i));
  EXPECT_EQ(m_queue.free_descriptors(), 0);
  EXPECT_FALSE(m_queue.submit(std::vector<Buffer>{{0, 1, true}}, 99));
  for (uint32_t i = 0; i < kSize; i++) {
    uint16_t head;
    fake.take_request(&head);
    fake.complete(head, i);
  }
  for (uint32_t i = 0; i < kSize; i++) {
    auto done = m_queue.pop_used();
    ASSERT_TRUE(done);
    EXPECT_EQ(done->token, i);
  }
  EXPECT_EQ(m_queue.free_descriptors(), kSize);
}

TEST_F(Virtqueue, HonoursTheDevicesNotificationFlag) {
  FakeDevice fake = device();
  EXPECT_TRUE(m_queue.device_wants_notification());
  fake.set_no_notify(true);
  EXPECT_FALSE(m_queue.device_wants_notification());
  fake.set_no_notify(false);
  EXPECT_TRUE(m_queue.device_wants_notification());
}

TEST_F(Virtqueue, SuppressesInterruptsThroughTheAvailableFlags) {
  FakeDevice fake = device();
  EXPECT_TRUE(fake.driver_wants_interrupt());
  EXPECT_FALSE(m_queue.interrupts_suppressed());
  m_queue.suppress_interrupts(true);
  EXPECT_FALSE(fake.driver_wants_interrupt());
  EXPECT_TRUE(m_queue.interrupts_suppressed());
  // A buffer used while interrupts were off is still found after turning them back on.
  ASSERT_TRUE(m_queue.submit(std::vector<Buffer>{{0x1000, 64, true}}, 7));
  uint16_t head;
  fake.take_request(&head);
  fake.complete(head, 60);
  m_queue.suppress_interrupts(false);
  EXPECT_TRUE(fake.driver_wants_interrupt());
  EXPECT_TRUE(m_queue.has_used());
  auto done = m_queue.pop_used();
  ASSERT_TRUE(done);
  EXPECT_EQ(done->token, 7u);
  // The flag does not disturb submitting: the index still moves.
  EXPECT_EQ(fake.available_index(), 1);
}

}  // namespace
}  // namespace nimbus::virtio
