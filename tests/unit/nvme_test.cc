// The NVMe controller enable sequence against a fake register block (a controller that
// becomes ready, one that never does, one that reports a fatal status, one that lacks
// 4 KiB pages) and PRP list construction.
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "kernel/drivers/nvme/controller_enable.h"
#include "kernel/drivers/nvme/prp_list.h"

namespace nimbus::nvme {
namespace {

// CAP as QEMU's nvme reports it: MQES 2047, CQR, TO 15 (7.5 s), DSTRD 0, NVM command set,
// MPSMIN 0, MPSMAX 4.
constexpr uint64_t kQemuCap = 0x7ffull | 1ull << 16 | 15ull << 24 | 1ull << 37 | 4ull << 52;

class FakeController final : public Registers {
 public:
  enum class Behaviour { ready, never_ready, fatal, stuck_enabled };
  FakeController(uint64_t cap, Behaviour behaviour) : m_behaviour(behaviour) {
    m_registers[reg::kCapabilities] = static_cast<uint32_t>(cap);
    m_registers[reg::kCapabilities + 4] = static_cast<uint32_t>(cap >> 32);
    if (behaviour == Behaviour::stuck_enabled) {
      m_registers[reg::kConfiguration] = cc::kEnable;
      m_registers[reg::kStatus] = csts::kReady;
    }
  }
  uint32_t read32(uint32_t offset) override { return m_registers[offset]; }
  void write32(uint32_t offset, uint32_t value) override {
    m_registers[offset] = value;
    writes.push_back(offset);
    if (offset != reg::kConfiguration) return;
    bool enable = value & cc::kEnable;
    switch (m_behaviour) {
      case Behaviour::ready: m_registers[reg::kStatus] = enable ? csts::kReady : 0; break;
      case Behaviour::never_ready: m_registers[reg::kStatus] = 0; break;
      case Behaviour::fatal: m_registers[reg::kStatus] = enable ? csts::kFatal : 0; break;
      case Behaviour::stuck_enabled: break;  // RDY stays 1 whatever EN says
    }
  }
  uint32_t value(uint32_t offset) { return m_registers[offset]; }
  std::vector<uint32_t> writes;

 private:
  Behaviour m_behaviour;
  std::map<uint32_t, uint32_t> m_registers;
};

class FakeClock final : public WaitClock {
 public:
  uint64_t now_ns() override { return m_now; }
  void relax() override { m_now += 1'000'000; }  // 1 ms per wait step

 private:
  uint64_t m_now = 0;
};

TEST(NvmeEnable, DecodesQemuCapabilities) {
  Capabilities c = Capabilities::decode(kQemuCap);
  EXPECT_EQ(c.max_queue_entries, 2048u);
  EXPECT_EQ(c.timeout_ms, 7500u);
  EXPECT_EQ(c.doorbell_stride, 4u);
  EXPECT_TRUE(c.nvm_command_set);
  EXPECT_EQ(c.min_page_shift, 12u);
  EXPECT_EQ(c.max_page_shift, 16u);
}

TEST(NvmeEnable, ProgramsTheAdminQueuesAndWaitsForReady) {
  FakeController controller(kQemuCap, FakeController::Behaviour::ready);
  FakeClock clock;
  EnableProblem problem;
  AdminQueues queues{0x1000, 0x2000, 32};
  ASSERT_TRUE(enable_controller(controller, queues, clock, problem)) << problem.what;
  EXPECT_EQ(controller.value(reg::kAdminQueueAttributes), 31u << 16 | 31u);
  EXPECT_EQ(controller.value(reg::kAdminSubmissionQueue), 0x1000u);
  EXPECT_EQ(controller.value(reg::kAdminCompletionQueue), 0x2000u);
  uint32_t configuration = controller.value(reg::kConfiguration);
  EXPECT_EQ(configuration & cc::kEnable, cc::kEnable);
  EXPECT_EQ((configuration >> 16) & 0xf, 6u);  // 64-byte submission entries
  EXPECT_EQ((configuration >> 20) & 0xf, 4u);  // 16-byte completion entries
  // CC is written last, after the queues it enables.
  EXPECT_EQ(controller.writes.back(), reg::kConfiguration);
}

TEST(NvmeEnable, AControllerThatNeverBecomesReadyTimesOutAfterCapTo) {
  FakeController controller(kQemuCap, FakeController::Behaviour::never_ready);
  FakeClock clock;
  EnableProblem problem;
  auto result = enable_controller(controller, {0x1000, 0x2000, 32}, clock, problem);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), Errno::etimedout);
  EXPECT_STREQ(problem.what, "the controller did not become ready within CAP.TO after CC.EN was set");
  EXPECT_GE(problem.waited_ms, 7500u);
  EXPECT_LE(problem.waited_ms, 7600u);
}

TEST(NvmeEnable, AFatalStatusEndsTheWaitAtOnce) {
  FakeController controller(kQemuCap, FakeController::Behaviour::fatal);
  FakeClock clock;
  EnableProblem problem;
  auto result = enable_controller(controller, {0x1000, 0x2000, 32}, clock, problem);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), Errno::eio);
  EXPECT_EQ(problem.status & csts::kFatal, csts::kFatal);
  EXPECT_LT(problem.waited_ms, 10u);
}

TEST(NvmeEnable, AControllerThatStaysReadyAfterDisableTimesOut) {
  FakeController controller(kQemuCap, FakeController::Behaviour::stuck_enabled);
  FakeClock clock;
  EnableProblem problem;
  auto result = enable_controller(controller, {0x1000, 0x2000, 32}, clock, problem);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), Errno::etimedout);
  EXPECT_STREQ(problem.what, "the controller did not become not-ready after CC.EN was cleared");
}

TEST(NvmeEnable, RefusesControllersWithoutFourKibPagesOrNvm) {
  FakeClock clock;
  EnableProblem problem;
  FakeController big_pages(kQemuCap | 1ull << 48, FakeController::Behaviour::ready);  // MPSMIN 8 KiB
  EXPECT_EQ(enable_controller(big_pages, {0x1000, 0x2000, 32}, clock, problem).error(), Errno::enodev);
  EXPECT_STREQ(problem.what, "the controller does not take 4 KiB memory pages");
  FakeController no_nvm(kQemuCap & ~(1ull << 37), FakeController::Behaviour::ready);
  EXPECT_EQ(enable_controller(no_nvm, {0x1000, 0x2000, 32}, clock, problem).error(), Errno::enodev);
  FakeController small_queues((kQemuCap & ~0xffffull) | 7, FakeController::Behaviour::ready);  // MQES 7
  EXPECT_EQ(enable_controller(small_queues, {0x1000, 0x2000, 32}, clock, problem).error(), Errno::enodev);
}

TEST(NvmeEnable, RegistersReadingAllOnesAreAClearError) {
  FakeController controller(kQemuCap, FakeController::Behaviour::ready);
  controller.write32(reg::kStatus, ~0u);
  FakeClock clock;
  EnableProblem problem;
  // The disable step reads CSTS first.
  auto result = disable_controller(controller, Capabilities::decode(kQemuCap), clock, problem);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), Errno::enodev);
}

TEST(NvmePrps, OnePageNeedsOnlyPrp1) {
  uint64_t list[8] = {};
  auto prps = build_prps(std::vector<Segment>{{0x10200, 512}}, list, 0x90000);
  ASSERT_TRUE(prps);
  EXPECT_EQ(prps->prp1, 0x10200u);
  EXPECT_EQ(prps->prp2, 0u);
}

TEST(NvmePrps, TwoPagesUsePrp2AsThePage) {
  uint64_t list[8] = {};
  auto prps = build_prps(std::vector<Segment>{{0x10e00, 1024}}, list, 0x90000);
  ASSERT_TRUE(prps);
  EXPECT_EQ(prps->prp1, 0x10e00u);
  EXPECT_EQ(prps->prp2, 0x11000u);
}

TEST(NvmePrps, MorePagesGoToTheList) {
  uint64_t list[8] = {};
  // 16 KiB from an unaligned start touches 5 pages: PRP1 and four list entries.
  auto prps = build_prps(std::vector<Segment>{{0x20100, 16384}}, list, 0x90000);
  ASSERT_TRUE(prps);
  EXPECT_EQ(prps->prp1, 0x20100u);
  EXPECT_EQ(prps->prp2, 0x90000u);
  EXPECT_EQ(list[0], 0x21000u);
  EXPECT_EQ(list[3], 0x24000u);
}

TEST(NvmePrps, MergedBuffersJoinAtPageBoundaries) {
  uint64_t list[8] = {};
  auto prps = build_prps(std::vector<Segment>{{0x30000, 4096}, {0x50000, 8192}, {0x70000, 4096}}, list, 0x90000);
  ASSERT_TRUE(prps);
  EXPECT_EQ(prps->prp1, 0x30000u);
  EXPECT_EQ(prps->prp2, 0x90000u);
  EXPECT_EQ(list[0], 0x50000u);
  EXPECT_EQ(list[1], 0x51000u);
  EXPECT_EQ(list[2], 0x70000u);
}

TEST(NvmePrps, RefusesWhatPrpsCannotDescribe) {
  uint64_t list[2] = {};
  // A buffer after one that ends inside a page.
  EXPECT_FALSE(build_prps(std::vector<Segment>{{0x30000, 512}, {0x50000, 512}}, list, 0x90000));
  // A first address that is not dword aligned.
  EXPECT_FALSE(build_prps(std::vector<Segment>{{0x30002, 512}}, list, 0x90000));
  // More entries than the list holds.
  EXPECT_FALSE(build_prps(std::vector<Segment>{{0x30000, 5 * 4096}}, list, 0x90000));
  // A list that would cross a page boundary.
  uint64_t big[8] = {};
  EXPECT_FALSE(build_prps(std::vector<Segment>{{0x30000, 5 * 4096}}, big, 0x90ff8));
  EXPECT_FALSE(build_prps(std::vector<Segment>{}, list, 0x90000));
}

}  // namespace
}  // namespace nimbus::nvme
