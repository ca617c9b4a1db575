// The NVMe driver: controller start (reset, admin queue, Identify, Number of Queues, I/O
// queue pairs), READ/WRITE/FLUSH/Dataset Management on the I/O queues with PRP lists,
// completion by MSI-X interrupt (or polling), and a watchdog that turns a command the
// controller never completes into EIO for every waiting request instead of a hang.
#include "kernel/drivers/nvme/nvme.h"

#include <atomic>
#include <cstring>
#include <new>
#include <optional>
#include <span>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/interrupt_vectors.h"
#include "kernel/block/block_device.h"
#include "kernel/block/block_io.h"
#include "kernel/block/pending_requests.h"
#include "kernel/drivers/nvme/commands.h"
#include "kernel/drivers/nvme/controller_enable.h"
#include "kernel/drivers/nvme/prp_list.h"
#include "kernel/drivers/pci/msix.h"
#include "kernel/drivers/pci/pci_bus.h"
#include "kernel/lib/console.h"
#include "kernel/lib/format.h"
#include "kernel/lib/ref_ptr.h"
#include "kernel/mm/frame_allocator.h"
#include "kernel/mm/physical.h"
#include "kernel/sched/cpu.h"
#include "kernel/sched/interval_timer.h"
#include "kernel/sync/spinlock.h"
#include "kernel/time/clock.h"

namespace nimbus::nvme {
namespace {

using block::Request;

constexpr uint8_t kClassStorage = 0x01, kSubclassNonVolatileMemory = 0x08, kInterfaceNvme = 0x02;
constexpr uint16_t kProgrammingInterface = 0x09;  // configuration space offset

constexpr uint16_t kAdminEntries = 32;
// Commands in flight per I/O queue; the queues have more entries, so a submission queue is
// never full while a slot is free.
constexpr uint16_t kIoEntries = 64;
constexpr uint16_t kSlots = 32;
constexpr size_t kMaxQueues = 8;
constexpr size_t kMaxNamespaces = 4;
// 512 KiB per command: its PRP entries (129 pages at most) fit a 1 KiB list, four to a page.
constexpr uint32_t kMaxTransferSectors = 1024;
constexpr size_t kPrpListBytes = 1024;
constexpr size_t kMaxBatch = 32;
constexpr uint64_t kAdminTimeoutNs = 10'000'000'000;
// As Linux's nvme_io_timeout: a command older than this means the controller is lost.
constexpr uint64_t kIoTimeoutNs = 30'000'000'000;
constexpr uint64_t kWatchdogPeriodNs = 1'000'000'000;
constexpr uint64_t kPollPeriodNs = 1'000'000;  // without MSI-X, the watchdog reaps this often

class MmioRegisters final : public Registers {
 public:
  explicit MmioRegisters(volatile uint8_t* base) : m_base(base) {}
  uint32_t read32(uint32_t offset) override { return *reinterpret_cast<volatile uint32_t*>(m_base + offset); }
  void write32(uint32_t offset, uint32_t value) override {
    *reinterpret_cast<volatile uint32_t*>(m_base + offset) = value;
  }

 private:
  volatile uint8_t* m_base;
};

class KernelClock final : public WaitClock {
 public:
  uint64_t now_ns() override { return clock::monotonic_ns(); }
  void relax() override { x86::pause(); }
};

class Controller;

struct Slot {
  block::RequestList requests;  // what the command carries, in disk order
  uint64_t started_ns = 0;
  uint64_t* prp_list = nullptr;  // kPrpListBytes; a Dataset Management range when discarding
  uint64_t prp_list_physical = 0;
};

struct IoQueue {
  Controller* controller = nullptr;
  uint16_t id = 0;  // 1, 2, ...
  size_t index = 0;
  Spinlock lock;  // guards everything below; taken in the interrupt handler and the watchdog too
  Command* submissions = nullptr;
  uint64_t submissions_physical = 0;
  uint16_t tail = 0;
  volatile Completion* completions = nullptr;
  uint64_t completions_physical = 0;
  uint16_t head = 0;
  uint16_t phase = 1;  // 4.6: the phase tag of new entries flips at each wrap
  volatile uint32_t* submission_doorbell = nullptr;
  volatile uint32_t* completion_doorbell = nullptr;
  Slot slots[kSlots];
  uint16_t free_slots[kSlots] = {};
  uint16_t free_count = 0;
};

class Namespace final : public block::BlockDevice {
 public:
  Namespace(Controller& controller, size_t controller_index, uint32_t id, const block::DeviceInfo& info,
            uint32_t block_shift)
      : m_controller(controller), m_id(id), m_info(info), m_block_shift(block_shift) {
    format_to(m_name, sizeof(m_name), "nvme%zun%u", controller_index, id);
  }
  const char* name() const override { return m_name; }
  const block::DeviceInfo& info() const override { return m_info; }
  void submit(Request& request) override;
  void submit_all(block::RequestList& requests) override;

  uint32_t id() const { return m_id; }
  // log2 of the 512-byte sectors in one logical block.
  uint32_t block_shift() const { return m_block_shift; }
  // Requests waiting for a slot, one list per I/O queue (guarded by that queue's lock).
  block::PendingRequests pending[kMaxQueues];

 private:
  Controller& m_controller;
  uint32_t m_id;
  char m_name[16] = {};
  block::DeviceInfo m_info;
  uint32_t m_block_shift;
};

class Controller {
 public:
  Controller(const pci::Function& function, size_t index) : m_address(function.address), m_index(index) {
    format_to(m_location, sizeof(m_location), "nvme%zu (%02x:%02x.%x)", index, function.address.bus,
              function.address.device, function.address.function);
  }
  Result<> start();
  const char* location() const { return m_location; }
  size_t queue_count() const { return m_queue_count; }
  bool polled() const { return m_polled; }
  std::span<Namespace* const> namespaces() const { return {m_namespaces, m_namespace_count}; }

  void submit(Namespace& ns, block::RequestList& requests);

 private:
  Result<Completion> admin_command(Command command);
  Result<> identify(uint32_t cns, uint32_t namespace_id, uint64_t physical);
  Result<> set_up_msix();
  Result<> create_io_queue(IoQueue& queue, bool interrupts);
  Result<> add_namespace(uint32_t id, std::byte* page, uint64_t page_physical);
  volatile uint32_t* doorbell(uint16_t queue, bool completion) const {
    return reinterpret_cast<volatile uint32_t*>(m_registers_base + reg::kDoorbells +
                                                (2u * queue + (completion ? 1 : 0)) * m_capabilities.doorbell_stride);
  }
  IoQueue& queue_for_this_cpu() { return m_queues[this_cpu().index % m_queue_count]; }

  void dispatch_locked(IoQueue& queue, block::RequestList& done);
  void issue_locked(IoQueue& queue, Namespace& ns, Request** batch, size_t count, block::RequestList& done);
  void reap_locked(IoQueue& queue, block::RequestList& done);
  static void complete_all(block::RequestList& done);
  static void on_interrupt(void* queue);
  static void on_watchdog(void* controller, uint64_t expirations);
  // The controller is lost: says why, disables it and ends every request with EIO.
  void fail(const char* why);

  pci::Address m_address;
  size_t m_index;
  char m_location[32] = {};
  volatile uint8_t* m_registers_base = nullptr;
  MmioRegisters* m_registers = nullptr;
  Capabilities m_capabilities;
  Command* m_admin_submissions = nullptr;
  volatile Completion* m_admin_completions = nullptr;
  uint16_t m_admin_tail = 0, m_admin_head = 0, m_admin_phase = 1, m_admin_next_id = 0;
  std::optional<pci::MsixCapability> m_msix;
  pci::MsixTable m_msix_table;
  bool m_polled = true;
  uint32_t m_max_sectors = kMaxTransferSectors;
  bool m_volatile_cache = false;
  bool m_dataset_management = false;
  IoQueue m_queues[kMaxQueues];
  size_t m_queue_count = 0;
  Namespace* m_namespaces[kMaxNamespaces] = {};
  size_t m_namespace_count = 0;
  IntervalTimer m_watchdog{on_watchdog, this};
  std::atomic<bool> m_failed{false};
};

// Errors the block layer knows (block_device.h); the status itself goes to the console.
Errno errno_for(uint16_t status_code) {
  constexpr uint16_t kLbaOutOfRange = 0x80, kInvalidField = 0x02, kWriteProtected = 0x20;
  constexpr uint16_t kInvalidOpcode = 0x01;
  if (status_code == kLbaOutOfRange || status_code == kInvalidField) return Errno::einval;
  if (status_code == kWriteProtected) return Errno::erofs;
  if (status_code == kInvalidOpcode) return Errno::eopnotsupp;
  return Errno::eio;
}

void Namespace::submit(Request& request) {
  block::RequestList one;
  one.push_back(&request);
  m_controller.submit(*this, one);
}

void Namespace::submit_all(block::RequestList& requests) { m_controller.submit(*this, requests); }

void Controller::submit(Namespace& ns, block::RequestList& requests) {
  block::RequestList refused, done;
  IoQueue& queue = queue_for_this_cpu();
  bool interrupts = queue.lock.lock();
  while (Request* request = requests.pop_front()) {
    if (m_failed.load(std::memory_order_relaxed)) {
      request->result = error(Errno::eio);
      refused.push_back(request);
    } else if (auto checked = block::check(ns.info(), *request); !checked) {
      request->result = checked;
      refused.push_back(request);
    } else if (request->operation == block::Operation::flush && !ns.info().flush) {
      // No volatile write cache (Identify VWC): written data is already durable.
      request->result = {};
      refused.push_back(request);
    } else {
      ns.pending[queue.index].push(*request);
    }
  }
  dispatch_locked(queue, done);
  if (m_polled) reap_locked(queue, done);
  queue.lock.unlock(interrupts);
  complete_all(refused);
  complete_all(done);
}

void Controller::dispatch_locked(IoQueue& queue, block::RequestList& done) {
  uint16_t tail = queue.tail;
  for (size_t n = 0; n < m_namespace_count; n++) {
    Namespace& ns = *m_namespaces[n];
    block::PendingRequests& pending = ns.pending[queue.index];
    while (!pending.empty() && queue.free_count) {
      Request* batch[kMaxBatch];
      size_t limit = queue.free_count < kMaxBatch ? queue.free_count : kMaxBatch;
      size_t count = pending.take_batch({batch, limit}, ns.info().max_sectors);
      // Adjacent requests travel as one command when their buffers join at page boundaries
      // (prp_list.h); otherwise each run is a command of its own (there are enough slots).
      size_t start = 0;
      for (size_t i = 1; i <= count; i++) {
        if (i < count && continues_prps(virt_to_phys(batch[i - 1]->buffer) + batch[i - 1]->byte_count(),
                                        virt_to_phys(batch[i]->buffer)))
          continue;
        issue_locked(queue, ns, batch + start, i - start, done);
        start = i;
      }
    }
  }
  if (queue.tail != tail) {
    // The entries are in memory before the controller learns of them.
    std::atomic_thread_fence(std::memory_order_release);
    *queue.submission_doorbell = queue.tail;
  }
}

void Controller::issue_locked(IoQueue& queue, Namespace& ns, Request** batch, size_t count, block::RequestList& done) {
  uint16_t slot_index = queue.free_slots[queue.free_count - 1];
  Slot& slot = queue.slots[slot_index];
  const Request& first = *batch[0];
  uint32_t shift = ns.block_shift();
  Command command{};
  command.namespace_id = ns.id();
  uint64_t first_block = first.sector >> shift;
  bool ok = true;
  switch (first.operation) {
    case block::Operation::read:
    case block::Operation::write: {
      Segment segments[kMaxBatch];
      uint64_t sectors = 0;
      for (size_t i = 0; i < count; i++) {
        segments[i] = Segment{virt_to_phys(batch[i]->buffer), batch[i]->byte_count()};
        sectors += batch[i]->sector_count;
      }
      auto prps = build_prps({segments, count}, {slot.prp_list, kPrpListBytes / 8}, slot.prp_list_physical);
      if (!prps) {
        ok = false;
        break;
      }
      bool read = first.operation == block::Operation::read;
      command.dword0 = command_dword0(read ? io::kRead : io::kWrite, slot_index);
      command.prp1 = prps->prp1;
      command.prp2 = prps->prp2;
      command.dword10 = static_cast<uint32_t>(first_block);
      command.dword11 = static_cast<uint32_t>(first_block >> 32);
      command.dword12 = static_cast<uint32_t>((sectors >> shift) - 1);  // NLB, zero-based
      break;
    }
    case block::Operation::flush:
      command.dword0 = command_dword0(io::kFlush, slot_index);
      break;
    case block::Operation::discard: {
      auto* range = reinterpret_cast<io::Range*>(slot.prp_list);
      *range = io::Range{0, first.sector_count >> shift, first_block};
      command.dword0 = command_dword0(io::kDatasetManagement, slot_index);
      command.prp1 = slot.prp_list_physical;
      command.dword10 = 0;  // one range
      command.dword11 = io::kDeallocate;
      break;
    }
    case block::Operation::write_zeroes:
      ok = false;  // not offered (DeviceInfo::write_zeroes is false): check() refused it
      break;
  }
  if (!ok) {
    // A buffer PRPs cannot describe (not dword aligned): the caller's mistake, not the disk's.
    for (size_t i = 0; i < count; i++) {
      batch[i]->result = error(Errno::einval);
      done.push_back(batch[i]);
    }
    return;
  }
  queue.free_count--;
  for (size_t i = 0; i < count; i++) slot.requests.push_back(batch[i]);
  slot.started_ns = clock::monotonic_ns();
  queue.submissions[queue.tail] = command;
  queue.tail = static_cast<uint16_t>((queue.tail + 1) % kIoEntries);
}

void Controller::reap_locked(IoQueue& queue, block::RequestList& done) {
  bool consumed = false;
  for (;;) {
    volatile Completion& entry = queue.completions[queue.head];
    uint16_t status = entry.status;
    if ((status & 1) != queue.phase) break;
    // The rest of the entry is read after its phase tag says it is new.
    std::atomic_thread_fence(std::memory_order_acquire);
    Completion completion{};
    completion.command_id = entry.command_id;
    completion.status = status;
    consumed = true;
    if (++queue.head == kIoEntries) {
      queue.head = 0;
      queue.phase ^= 1;
    }
    uint16_t slot_index = completion.command_id;
    if (slot_index >= kSlots || queue.slots[slot_index].requests.empty()) continue;
    Slot& slot = queue.slots[slot_index];
    Result<> result;
    if (completion.failed()) {
      Request* first = slot.requests.front();
      print("nimbus: %s: command on sector %lu failed, status 0x%x\n", m_location, first->sector,
            completion.status_code());
      result = error(errno_for(completion.status_code()));
    }
    while (Request* request = slot.requests.pop_front()) {
      request->result = result;
      done.push_back(request);
    }
    queue.free_slots[queue.free_count++] = slot_index;
  }
  if (consumed) *queue.completion_doorbell = queue.head;
  if (!m_failed.load(std::memory_order_relaxed)) dispatch_locked(queue, done);
}

void Controller::complete_all(block::RequestList& done) {
  // A handler may free its request: nothing touches it afterwards.
  while (Request* request = done.pop_front()) {
    if (request->on_complete) request->on_complete(*request);
  }
}

void Controller::on_interrupt(void* context) {
  auto& queue = *static_cast<IoQueue*>(context);
  block::RequestList done;
  queue.lock.lock_raw();  // interrupts are off in handlers
  queue.controller->reap_locked(queue, done);
  queue.lock.unlock_raw();
  complete_all(done);
}

void Controller::on_watchdog(void* context, uint64_t) {
  auto& controller = *static_cast<Controller*>(context);
  if (controller.m_failed.load(std::memory_order_relaxed)) return;
  uint64_t now = clock::monotonic_ns();
  bool late = false;
  for (size_t i = 0; i < controller.m_queue_count; i++) {
    IoQueue& queue = controller.m_queues[i];
    block::RequestList done;
    queue.lock.lock_raw();
    // A lost interrupt costs a watchdog period, not a hang; without MSI-X this is the reaper.
    controller.reap_locked(queue, done);
    for (const Slot& slot : queue.slots)
      if (!slot.requests.empty() && now - slot.started_ns > kIoTimeoutNs) late = true;
    queue.lock.unlock_raw();
    complete_all(done);
  }
  if (late) controller.fail("a command was not completed within 30 s");
}

void Controller::fail(const char* why) {
  if (m_failed.exchange(true)) return;
  print("nimbus: %s: %s; the controller is disabled and its requests fail with EIO\n", m_location, why);
  // 3.5.1: clearing CC.EN aborts the commands in flight, so the controller no longer
  // touches their buffers (the wait for not-ready is skipped: this may run in an interrupt).
  m_registers->write32(reg::kConfiguration, m_registers->read32(reg::kConfiguration) & ~cc::kEnable);
  for (size_t i = 0; i < m_queue_count; i++) {
    IoQueue& queue = m_queues[i];
    block::RequestList done;
    queue.lock.lock_raw();
    for (Slot& slot : queue.slots) {
      while (Request* request = slot.requests.pop_front()) done.push_back(request);
    }
    for (size_t n = 0; n < m_namespace_count; n++) {
      Request* batch[kMaxBatch];
      while (size_t count = m_namespaces[n]->pending[i].take_batch({batch, kMaxBatch}, 0))
        for (size_t k = 0; k < count; k++) done.push_back(batch[k]);
    }
    queue.lock.unlock_raw();
    for (Request* request = done.front(); request; request = done.next(request)) request->result = error(Errno::eio);
    complete_all(done);
  }
}

// Admin commands run one at a time at start, polled (the admin queue has no interrupt).
Result<Completion> Controller::admin_command(Command command) {
  uint16_t id = m_admin_next_id++;
  command.dword0 = command_dword0(static_cast<uint8_t>(command.dword0), id);
  m_admin_submissions[m_admin_tail] = command;
  m_admin_tail = static_cast<uint16_t>((m_admin_tail + 1) % kAdminEntries);
  std::atomic_thread_fence(std::memory_order_release);
  *doorbell(0, false) = m_admin_tail;
  uint64_t deadline = clock::monotonic_ns() + kAdminTimeoutNs;
  for (;;) {
    volatile Completion& entry = m_admin_completions[m_admin_head];
    uint16_t status = entry.status;
    if ((status & 1) == m_admin_phase) {
      std::atomic_thread_fence(std::memory_order_acquire);
      Completion completion{};
      completion.result = entry.result;
      completion.command_id = entry.command_id;
      completion.status = status;
      if (++m_admin_head == kAdminEntries) {
        m_admin_head = 0;
        m_admin_phase ^= 1;
      }
      *doorbell(0, true) = m_admin_head;
      if (completion.command_id != id) continue;
      if (completion.failed()) {
        print("nimbus: %s: admin command 0x%x failed, status 0x%x\n", m_location, command.dword0 & 0xff,
              completion.status_code());
        return error(errno_for(completion.status_code()));
      }
      return completion;
    }
    if (clock::monotonic_ns() > deadline) {
      print("nimbus: %s: admin command 0x%x was not completed within %lu s\n", m_location, command.dword0 & 0xff,
            kAdminTimeoutNs / 1'000'000'000);
      return error(Errno::etimedout);
    }
    x86::pause();
  }
}

Result<> Controller::identify(uint32_t cns, uint32_t namespace_id, uint64_t physical) {
  Command command{};
  command.dword0 = admin::kIdentify;
  command.namespace_id = namespace_id;
  command.prp1 = physical;  // one 4 KiB page, page aligned: no PRP2
  command.dword10 = cns;
  TRY(admin_command(command));
  return {};
}

Result<> Controller::set_up_msix() {
  m_msix = pci::find_msix(pci::access(), m_address);
  if (!m_msix || m_msix->table_size < 2) return error(Errno::enodev);
  pci::Bar bar = pci::claim_bar(m_address, m_msix->table_bar);
  volatile uint8_t* table = pci::map_bar(bar, m_msix->table_offset, m_msix->table_bytes());
  if (!table) return error(Errno::enodev);
  m_msix_table = pci::MsixTable(reinterpret_cast<volatile uint32_t*>(table), m_msix->table_size);
  for (uint16_t entry = 0; entry < m_msix->table_size; entry++) m_msix_table.mask(entry);
  pci::enable_msix(pci::access(), m_address, *m_msix);
  return {};
}

// 5.4 and 5.5: the completion queue first, then the submission queue that posts to it.
// Queue i's interrupt (MSI-X entry i; entry 0 is the admin queue's, left masked) goes to
// CPU i - 1, the CPU whose requests it carries.
Result<> Controller::create_io_queue(IoQueue& queue, bool interrupts) {
  queue.controller = this;
  queue.submissions_physical = TRY(frames::allocate(0));
  queue.submissions = phys_to_virt<Command>(queue.submissions_physical);
  memset(queue.submissions, 0, kPageSize);
  queue.completions_physical = TRY(frames::allocate(0));
  queue.completions = phys_to_virt<Completion>(queue.completions_physical);
  memset(phys_to_virt<void>(queue.completions_physical), 0, kPageSize);
  static_assert(kSlots * kPrpListBytes == 8 * kPageSize);
  uint64_t lists = TRY(frames::allocate(3));
  for (uint16_t i = 0; i < kSlots; i++) {
    queue.slots[i].prp_list_physical = lists + i * kPrpListBytes;
    queue.slots[i].prp_list = phys_to_virt<uint64_t>(queue.slots[i].prp_list_physical);
    queue.free_slots[queue.free_count++] = static_cast<uint16_t>(kSlots - 1 - i);
  }
  queue.submission_doorbell = doorbell(queue.id, false);
  queue.completion_doorbell = doorbell(queue.id, true);
  uint32_t flags = admin::kPhysicallyContiguous;
  if (interrupts) {
    uint16_t entry = queue.id;
    uint8_t vector = TRY(interrupt_vectors::allocate(on_interrupt, &queue));
    auto message = pci::compose_msi_message(cpus::get(queue.index).apic_id, vector);
    if (!message) {
      interrupt_vectors::release(vector);
      return error(Errno::enodev);
    }
    m_msix_table.program(entry, *message);
    flags |= admin::kInterruptsEnabled | uint32_t{entry} << 16;
  }
  Command command{};
  command.dword0 = admin::kCreateCompletionQueue;
  command.prp1 = queue.completions_physical;
  command.dword10 = uint32_t{kIoEntries - 1} << 16 | queue.id;
  command.dword11 = flags;
  TRY(admin_command(command));
  command = Command{};
  command.dword0 = admin::kCreateSubmissionQueue;
  command.prp1 = queue.submissions_physical;
  command.dword10 = uint32_t{kIoEntries - 1} << 16 | queue.id;
  command.dword11 = uint32_t{queue.id} << 16 | admin::kPhysicallyContiguous;
  TRY(admin_command(command));
  return {};
}

Result<> Controller::add_namespace(uint32_t id, std::byte* page, uint64_t page_physical) {
  if (m_namespace_count == kMaxNamespaces) return error(Errno::enospc);
  memset(page, 0, kPageSize);
  TRY(identify(admin::kIdentifyNamespace, id, page_physical));
  uint64_t blocks;
  memcpy(&blocks, page + identify_namespace::kSize, 8);
  if (blocks == 0) return error(Errno::enoent);  // allocated but not active
  uint8_t format = static_cast<uint8_t>(page[identify_namespace::kFormattedLbaSize]) & 0xf;
  uint8_t shift = static_cast<uint8_t>(page[identify_namespace::kLbaFormats + 4 * format + 2]);
  if (shift < 9 || shift > 16) {
    print("nimbus: %s: namespace %u has logical blocks of 2^%u bytes; ignored\n", m_location, id, shift);
    return error(Errno::enodev);
  }
  uint32_t block_shift = shift - 9u;
  if (blocks > (~0ull >> block_shift)) return error(Errno::enodev);
  block::DeviceInfo info;
  info.sector_count = blocks << block_shift;
  info.logical_block_size = 1u << shift;
  info.read_only = static_cast<uint8_t>(page[identify_namespace::kAttributes]) & 1;
  info.flush = m_volatile_cache;
  info.discard = m_dataset_management;
  info.write_zeroes = false;
  info.max_sectors = m_max_sectors;
  info.max_segments = kMaxBatch;
  auto* ns = new (kNoThrow) Namespace(*this, m_index, id, info, block_shift);
  if (!ns) return error(Errno::enomem);
  m_namespaces[m_namespace_count++] = ns;
  return {};
}

Result<> Controller::start() {
  // BAR 0 holds the registers and the doorbells (3.1): first its registers, then as much
  // as the doorbells of kMaxQueues queue pairs need at the controller's stride.
  pci::Bar bar = pci::claim_bar(m_address, 0);
  volatile uint8_t* head = pci::map_bar(bar, 0, reg::kDoorbells);
  if (!head) {
    print("nimbus: %s: BAR 0 is not a usable memory BAR; controller ignored\n", m_location);
    return error(Errno::enodev);
  }
  pci::enable_memory_and_bus_master(m_address);
  m_capabilities = Capabilities::decode(MmioRegisters(head).read64(reg::kCapabilities));
  uint64_t length = reg::kDoorbells + 2ull * (kMaxQueues + 1) * m_capabilities.doorbell_stride;
  if (length > bar.size) length = bar.size;
  m_registers_base = pci::map_bar(bar, 0, length);
  if (!m_registers_base) return error(Errno::enodev);
  m_registers = new (kNoThrow) MmioRegisters(m_registers_base);
  if (!m_registers) return error(Errno::enomem);
  size_t queue_limit = (length - reg::kDoorbells) / (2 * m_capabilities.doorbell_stride);
  if (queue_limit < 2) {
    print("nimbus: %s: BAR 0 has no room for an I/O queue's doorbells; controller ignored\n", m_location);
    return error(Errno::enodev);
  }

  uint64_t admin_submissions = TRY(frames::allocate(0));
  uint64_t admin_completions = TRY(frames::allocate(0));
  m_admin_submissions = phys_to_virt<Command>(admin_submissions);
  m_admin_completions = phys_to_virt<Completion>(admin_completions);
  memset(phys_to_virt<void>(admin_submissions), 0, kPageSize);
  memset(phys_to_virt<void>(admin_completions), 0, kPageSize);
  KernelClock clock;
  EnableProblem problem;
  AdminQueues admin{admin_submissions, admin_completions,
                    kAdminEntries <= m_capabilities.max_queue_entries ? kAdminEntries : m_capabilities.max_queue_entries};
  if (auto enabled = enable_controller(*m_registers, admin, clock, problem); !enabled) {
    print("nimbus: %s: %s (CSTS 0x%x after %u ms); controller ignored\n", m_location, problem.what, problem.status,
          problem.waited_ms);
    return enabled;
  }

  uint64_t page_physical = TRY(frames::allocate(0));
  auto* page = phys_to_virt<std::byte>(page_physical);
  memset(page, 0, kPageSize);
  TRY(identify(admin::kIdentifyController, 0, page_physical));
  uint8_t mdts = static_cast<uint8_t>(page[identify_controller::kMaxTransferShift]);
  // MDTS counts minimum-size memory pages (CAP.MPSMIN, 4 KiB here).
  if (mdts && mdts < 20 && (uint64_t{kMemoryPageSize} << mdts) / block::kSectorSize < m_max_sectors)
    m_max_sectors = static_cast<uint32_t>((uint64_t{kMemoryPageSize} << mdts) / block::kSectorSize);
  uint16_t optional_commands;
  memcpy(&optional_commands, page + identify_controller::kOptionalCommands, 2);
  m_dataset_management = optional_commands & identify_controller::kOncsDatasetManagement;
  m_volatile_cache = static_cast<uint8_t>(page[identify_controller::kVolatileWriteCache]) & 1;
  uint32_t namespace_count;
  memcpy(&namespace_count, page + identify_controller::kNamespaceCount, 4);
  char model[identify_controller::kModelLength + 1] = {};
  memcpy(model, page + identify_controller::kModel, identify_controller::kModelLength);
  for (size_t i = identify_controller::kModelLength; i > 0 && (model[i - 1] == ' ' || model[i - 1] == 0); i--)
    model[i - 1] = 0;

  // One queue pair per vCPU, as far as the controller, its MSI-X table and the doorbells go.
  size_t wanted = cpus::count() < kMaxQueues ? cpus::count() : kMaxQueues;
  if (wanted > queue_limit - 1) wanted = queue_limit - 1;
  if (wanted > m_capabilities.max_queue_entries) wanted = m_capabilities.max_queue_entries;
  m_polled = !set_up_msix();
  if (!m_polled && wanted > m_msix->table_size - 1u) wanted = m_msix->table_size - 1u;
  if (m_polled) wanted = 1;
  Command features{};
  features.dword0 = admin::kSetFeatures;
  features.dword10 = admin::kFeatureNumberOfQueues;
  features.dword11 = static_cast<uint32_t>(wanted - 1) << 16 | static_cast<uint32_t>(wanted - 1);
  Completion granted = TRY(admin_command(features));
  size_t submission_queues = (granted.result & 0xffff) + 1u, completion_queues = (granted.result >> 16) + 1u;
  m_queue_count = wanted;
  if (submission_queues < m_queue_count) m_queue_count = submission_queues;
  if (completion_queues < m_queue_count) m_queue_count = completion_queues;
  if (kIoEntries > m_capabilities.max_queue_entries) {
    print("nimbus: %s: its queues hold %u entries, fewer than %u; controller ignored\n", m_location,
          m_capabilities.max_queue_entries, kIoEntries);
    return error(Errno::enodev);
  }
  for (size_t i = 0; i < m_queue_count; i++) {
    m_queues[i].index = i;
    m_queues[i].id = static_cast<uint16_t>(i + 1);
    TRY(create_io_queue(m_queues[i], !m_polled));
  }

  // NVMe 1.1 and later controllers list their active namespaces (CNS 02h); the first
  // kMaxNamespaces of them become devices.
  auto* list = phys_to_virt<uint32_t>(page_physical);
  memset(page, 0, kPageSize);
  uint32_t ids[kMaxNamespaces] = {};
  size_t id_count = 0;
  if (identify(0x02, 0, page_physical)) {
    for (size_t i = 0; i < kPageSize / 4 && list[i] && id_count < kMaxNamespaces; i++) ids[id_count++] = list[i];
  } else {
    for (uint32_t id = 1; id <= namespace_count && id_count < kMaxNamespaces; id++) ids[id_count++] = id;
  }
  for (size_t i = 0; i < id_count; i++) (void)add_namespace(ids[i], page, page_physical);
  frames::free(page_physical, 0);
  log("nvme: %s, '%s', %zu namespaces, %zu I/O queues, %s, max %u sectors, %s cache\n", m_location, model,
      m_namespace_count, m_queue_count, m_polled ? "polled" : "MSI-X", m_max_sectors,
      m_volatile_cache ? "volatile" : "no volatile");
  uint64_t period = m_polled ? kPollPeriodNs : kWatchdogPeriodNs;
  m_watchdog.arm(clock::monotonic_ns() + period, period);
  return {};
}

Controller* g_controllers[kMaxControllers];
size_t g_controller_count = 0;

}  // namespace

size_t init() {
  if (!pci::present()) return 0;
  size_t added = 0;
  for (const pci::Function& function : pci::functions()) {
    if (function.class_code != kClassStorage || function.subclass != kSubclassNonVolatileMemory) continue;
    if (pci::access().read8(function.address, kProgrammingInterface) != kInterfaceNvme) continue;
    if (g_controller_count == kMaxControllers) {
      print("nimbus: more than %zu NVMe controllers; the rest are ignored\n", kMaxControllers);
      break;
    }
    auto* controller = new (kNoThrow) Controller(function, g_controller_count);
    if (!controller) break;
    if (auto started = controller->start(); !started) {
      // Its memory stays with it: the controller may still read its queues.
      print("nimbus: %s cannot start (error %d)\n", controller->location(), static_cast<int>(started.error()));
      g_controller_count++;  // keeps the names of the next controllers where the CLI expects them
      continue;
    }
    g_controllers[g_controller_count++] = controller;
    for (Namespace* ns : controller->namespaces()) {
      if (!block::add_device(*ns)) break;
      added++;
      const block::DeviceInfo& info = ns->info();
      log("nvme: %s, %lu sectors, block %u, %s, discard %s\n", ns->name(), info.sector_count, info.logical_block_size,
          info.read_only ? "read-only" : "read-write", info.discard ? "yes" : "no");
    }
  }
  return added;
}

}  // namespace nimbus::nvme
