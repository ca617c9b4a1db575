// Test support for read-write ext4 tests over an image mke2fs made: mount and remount, e2fsck
// -fn and debugfs over the device's current bytes, and paths to vnodes.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>

#include "kernel/fs/ext4/ext4_fs.h"
#include "tests/unit/fakes/fake_block_device.h"
#include "tests/unit/storage/ext4_image.h"

namespace nimbus::testing {

inline int64_t g_rw_now = 1'700'000'000'000'000'000;
inline int64_t rw_test_clock() { return g_rw_now; }

inline std::string random_bytes(size_t size, unsigned seed) {
  std::mt19937 random(seed);
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(random());
  return bytes;
}

inline std::span<const std::byte> byte_span(const std::string& text) {
  return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

// Runs `command` through the shell and returns its exit status (-1: it did not exit) and
// output (stdout and stderr).
inline int run_command(const std::string& command, std::string* output) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) output->append(buffer, n);
  int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A fixture whose parameter is mke2fs's options ("-b 1024"); subclasses fill the tree.
class Ext4ReadWriteFixture : public ::testing::TestWithParam<const char*> {
 protected:
  // Makes the image from the tree (after fill_tree) and mounts it read-write.
  void make_and_mount(const std::string& size = "32M", const std::string& extra_options = "") {
    std::vector<std::byte> image = make_ext4_image(m_tree, size, std::string(GetParam()) + " " + extra_options);
    ASSERT_FALSE(image.empty()) << "mke2fs or e2fsck failed (e2fsprogs installed?)";
    m_device = std::make_unique<FakeBlockDevice>(std::move(image), false);
    mount();
  }
  void SetUp() override {
    m_tree = make_temp_dir();
    ASSERT_FALSE(m_tree.empty());
  }
  void TearDown() override {
    m_fs.reset();
    std::filesystem::remove_all(m_tree);
  }

  void mount() {
    const char* problem = nullptr;
    auto mounted = fs::ext4::Ext4Fs::try_mount(*m_device, rw_test_clock, &problem, fs::ext4::Ext4Fs::Access::read_write);
    ASSERT_TRUE(mounted) << (problem ? problem : "?");
    m_fs.reset(*mounted);
  }
  void remount() {
    m_fs.reset();
    mount();
  }

  // Syncs, then writes the device's bytes to a file for e2fsprogs and returns its path.
  std::filesystem::path image_file() {
    EXPECT_TRUE(m_fs->sync());
    std::filesystem::path image = m_tree.string() + ".check.img";
    std::ofstream(image, std::ios::binary)
        .write(reinterpret_cast<const char*>(m_device->bytes().data()), m_device->bytes().size());
    return image;
  }
  int fsck(std::string* output) {
    std::filesystem::path image = image_file();
    int status = run_command("e2fsck -fn '" + image.string() + "'", output);
    std::filesystem::remove(image);
    return status;
  }
  void expect_clean() {
    std::string output;
    EXPECT_EQ(fsck(&output), 0) << output;
  }
  // debugfs -R `request` over the current image: its output.
  std::string debugfs(const std::string& request) {
    std::filesystem::path image = image_file();
    std::string output;
    run_command("debugfs -R '" + request + "' '" + image.string() + "'", &output);
    std::filesystem::remove(image);
    return output;
  }

  // Unmounts, runs `requests` (one debugfs command a line) with debugfs -w on the image, and
  // mounts the result: a change made by e2fsprogs.
  std::string debugfs_write(const std::string& requests) {
    std::filesystem::path image = image_file();
    m_fs.reset();
    std::filesystem::path script = m_tree.string() + ".debugfs";
    std::ofstream(script) << requests;
    std::string output;
    run_command("debugfs -w -f '" + script.string() + "' '" + image.string() + "'", &output);
    std::vector<std::byte> bytes = read_bytes(image);
    std::filesystem::remove(image);
    std::filesystem::remove(script);
    m_device = std::make_unique<FakeBlockDevice>(std::move(bytes), false);
    mount();
    return output;
  }

  RefPtr<fs::Vnode> at(const std::string& path) {
    auto vnode = walk(m_fs->root(), path);
    EXPECT_TRUE(vnode) << path;
    return vnode ? *vnode : RefPtr<fs::Vnode>();
  }
  RefPtr<fs::Vnode> create(const std::string& directory, const std::string& name,
                           fs::VnodeType type = fs::VnodeType::regular) {
    fs::NewNode node;
    node.type = type;
    node.permissions = type == fs::VnodeType::directory ? 0755 : 0644;
    auto made = at(directory)->create(name, node);
    EXPECT_TRUE(made) << name << " " << (made ? 0 : static_cast<int>(made.error()));
    return made ? *made : RefPtr<fs::Vnode>();
  }
  static void write(fs::Vnode& file, uint64_t offset, const std::string& text) {
    auto written = file.write_at(&offset, byte_span(text), {});
    ASSERT_TRUE(written);
    EXPECT_EQ(*written, text.size());
  }

  std::filesystem::path m_tree;
  std::unique_ptr<FakeBlockDevice> m_device;
  std::unique_ptr<fs::ext4::Ext4Fs> m_fs;
};

}  // namespace nimbus::testing
