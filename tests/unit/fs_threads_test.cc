// Threads sharing the file layer (host threads over the fake Mutex): one File's offset is
// never handed out twice, and a directory survives concurrent create, rename, unlink,
// lookup and readdir.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kernel/fs/file.h"
#include "tests/unit/fakes/fs_test_support.h"

namespace nimbus::fs {
namespace {

using namespace testing;
using namespace linux_abi;

class FsThreadsTest : public RamFsTest {};

TEST_F(FsThreadsTest, SharedFileWritesNeverOverlap) {
  auto created = File::try_create(make_file("log"), o_rdwr);
  ASSERT_TRUE(created);
  RefPtr<File> file = *created;
  constexpr int kThreads = 4;
  constexpr int kRecords = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRecords; i++) {
        char record[8];
        snprintf(record, sizeof(record), "%d%06d", t, i);
        record[7] = '\n';
        ASSERT_EQ(file->write(std::as_bytes(std::span(record))), 8u);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(file->position(), kThreads * kRecords * 8u);
  std::string contents = read_string(*file->vnode(), 0, kThreads * kRecords * 8 + 1);
  ASSERT_EQ(contents.size(), kThreads * kRecords * 8u);
  std::set<std::string> records;
  for (size_t at = 0; at < contents.size(); at += 8) {
    ASSERT_EQ(contents[at + 7], '\n') << at;
    records.insert(contents.substr(at, 7));
  }
  EXPECT_EQ(records.size(), static_cast<size_t>(kThreads * kRecords));
}

TEST_F(FsThreadsTest, SharedFileReadsTakeEachByteOnce) {
  std::string data;
  for (int i = 0; i < 20000; i++) data += static_cast<char>(i % 251);
  auto created = File::try_create(make_file("data", data), o_rdonly);
  ASSERT_TRUE(created);
  RefPtr<File> file = *created;
  std::atomic<size_t> total{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&] {
      char buffer[37];
      while (true) {
        auto done = file->read(std::as_writable_bytes(std::span(buffer)));
        ASSERT_TRUE(done);
        if (*done == 0) break;
        total += *done;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(total.load(), data.size());
}

TEST_F(FsThreadsTest, DirectoryChurnFromManyThreads) {
  RefPtr<Vnode> directory = make_directory(*root, "churn");
  RefPtr<Vnode> other = make_directory(*root, "other");
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; i++) {
        std::string name = "f" + std::to_string(t) + "_" + std::to_string(i);
        ASSERT_TRUE(directory->create(name, NewNode{}));
        if (i % 3 == 0) {
          ASSERT_TRUE(directory->rename(name, *other, name, 0));
          ASSERT_TRUE(other->unlink(name));
        } else if (i % 3 == 1) {
          ASSERT_TRUE(directory->unlink(name));
        }
      }
    });
  }
  // Readers list and look up all the while; what they see must be consistent.
  for (int r = 0; r < 2; r++) {
    threads.emplace_back([&] {
      while (!stop) {
        CollectingSink sink;
        uint64_t position = 0;
        ASSERT_TRUE(directory->readdir(&position, sink));
        std::set<std::string> names;
        for (auto& entry : sink.entries) ASSERT_TRUE(names.insert(entry.name).second) << entry.name;
        (void)directory->lookup("f0_5");
      }
    });
  }
  for (int t = 0; t < 3; t++) threads[t].join();
  stop = true;
  for (size_t t = 3; t < threads.size(); t++) threads[t].join();
  // Left: the i % 3 == 2 files of each thread.
  EXPECT_EQ(list_directory(*directory).size(), 2 + 3 * 100u);
  EXPECT_EQ(list_directory(*other).size(), 2u);
}

}  // namespace
}  // namespace nimbus::fs
