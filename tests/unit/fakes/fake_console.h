// Host stand-ins for the Console and RandomSource the file layer takes.
#pragma once

#include <cstring>
#include <deque>
#include <span>
#include <string>

#include "kernel/fs/console.h"
#include "kernel/fs/random_source.h"

namespace nimbus::fs {

// Records output; input comes from `input`. An empty input is EAGAIN without blocking and
// end-of-input (0) with it, so tests never hang.
class FakeConsole final : public Console {
 public:
  Result<size_t> write(std::span<const std::byte> data) override {
    output.append(reinterpret_cast<const char*>(data.data()), data.size());
    return data.size();
  }
  Result<size_t> read(std::span<std::byte> buffer, bool nonblocking) override {
    if (input.empty()) {
      if (nonblocking) return error(Errno::eagain);
      return 0;
    }
    size_t n = std::min(buffer.size(), input.size());
    memcpy(buffer.data(), input.data(), n);
    input.erase(0, n);
    return n;
  }
  size_t readable_bytes() override { return input.size(); }

  std::string output;
  std::string input;
};

// Bytes counting up from 1: recognizable, not random.
class FakeRandom final : public RandomSource {
 public:
  void fill(std::span<std::byte> out) override {
    for (std::byte& b : out) b = static_cast<std::byte>(++m_next);
  }
  void add_entropy(std::span<const std::byte> bytes) override { entropy_bytes += bytes.size(); }
  size_t entropy_bytes = 0;

 private:
  uint8_t m_next = 0;
};

}  // namespace nimbus::fs
