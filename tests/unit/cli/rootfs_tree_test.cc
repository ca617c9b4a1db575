// Tests of RootfsTree: parent directories, symlinks followed as the guest will follow them,
// conflicts, and the archive it writes.
#include "rootfs_tree.h"

#include <gtest/gtest.h>

#include <sstream>

#include "cpio_reader.h"
#include "scratch_dir.h"

namespace {

std::vector<std::string> names(const RootfsTree& tree) {
  std::vector<std::string> result;
  for (const auto& [path, entry] : tree.entries()) result.push_back(path);
  return result;
}

TEST(RootfsTree, ParentsAreCreatedAndComeFirst) {
  RootfsTree tree;
  ASSERT_TRUE(tree.add_generated_file("/usr/share/doc/x", "x", 0644).has_value());
  ASSERT_TRUE(tree.add_generated_file("/usr-local", "y", 0644).has_value());
  EXPECT_EQ(names(tree), (std::vector<std::string>{"usr", "usr-local", "usr/share", "usr/share/doc",
                                                   "usr/share/doc/x"}));
  EXPECT_EQ(tree.entries().at("usr/share").type, RootfsEntry::Type::Directory);
  EXPECT_EQ(tree.entries().at("usr/share").permissions, 0755u);
}

TEST(RootfsTree, TheRamPartIsEtcTmpAndTheWorkingDirectoryWithItsParents) {
  RootfsTree tree;
  for (const char* file : {"/etc/hosts", "/tmp/t", "/home/me/src/a.c", "/home/me/.profile", "/home/other/x",
                           "/usr/bin/make", "/etcetera/no"})
    ASSERT_TRUE(tree.add_generated_file(file, "x", 0644).has_value()) << file;
  EXPECT_EQ(names(tree.ram_part("/home/me/src")),
            (std::vector<std::string>{"etc", "etc/hosts", "home", "home/me", "home/me/src", "home/me/src/a.c",
                                      "tmp", "tmp/t"}));
  // The root as the working directory keeps only etc/ and tmp/ in RAM.
  EXPECT_EQ(names(tree.ram_part("/")), (std::vector<std::string>{"etc", "etc/hosts", "tmp", "tmp/t"}));
}

TEST(RootfsTree, ParentSymlinksAreFollowed) {
  RootfsTree tree;
  ASSERT_TRUE(tree.add_symlink("/lib", "usr/lib", 0).has_value());
  ASSERT_TRUE(tree.add_symlink("/usr/lib64", "/lib/x86_64", 0).has_value());
  ASSERT_TRUE(tree.add_generated_file("/lib/a", "a", 0644).has_value());
  ASSERT_TRUE(tree.add_generated_file("/usr/lib64/b", "b", 0644).has_value());
  ASSERT_TRUE(tree.add_generated_file("/usr/./lib/../lib/c", "c", 0644).has_value());
  EXPECT_TRUE(tree.contains("/usr/lib/a"));
  EXPECT_TRUE(tree.contains("/usr/lib/x86_64/b"));
  EXPECT_TRUE(tree.contains("/usr/lib/c"));
  EXPECT_EQ(tree.entries().at("lib").type, RootfsEntry::Type::Symlink);
  // A directory added at a symlink's path lands where the symlink points.
  ASSERT_TRUE(tree.add_directory("/lib", 0700).has_value());
  EXPECT_EQ(tree.entries().at("lib").type, RootfsEntry::Type::Symlink);
}

TEST(RootfsTree, SymlinkLoopsAreRefused) {
  RootfsTree tree;
  ASSERT_TRUE(tree.add_symlink("/a", "b", 0).has_value());
  ASSERT_TRUE(tree.add_symlink("/b", "a", 0).has_value());
  auto result = tree.add_generated_file("/a/file", "x", 0644);
  ASSERT_FALSE(result.has_value());
  EXPECT_NE(result.error().message.find("too many levels"), std::string::npos);
}

TEST(RootfsTree, Conflicts) {
  RootfsTree tree;
  ASSERT_TRUE(tree.add_generated_file("/etc/hosts", "one", 0644).has_value());
  // A later file replaces an earlier one.
  ASSERT_TRUE(tree.add_generated_file("/etc/hosts", "two", 0600).has_value());
  EXPECT_EQ(tree.entries().at("etc/hosts").data, "two");
  EXPECT_EQ(tree.entries().at("etc/hosts").permissions, 0600u);
  // Directories merge and keep their first mode.
  ASSERT_TRUE(tree.add_directory("/etc", 0700).has_value());
  EXPECT_EQ(tree.entries().at("etc").permissions, 0755u);

  auto file_on_dir = tree.add_generated_file("/etc", "x", 0644);
  ASSERT_FALSE(file_on_dir.has_value());
  EXPECT_EQ(file_on_dir.error().exit_status, exit_status::kBadInput);
  EXPECT_NE(file_on_dir.error().message.find("/etc would be both a directory and a file"),
            std::string::npos)
      << file_on_dir.error().message;
  auto dir_on_file = tree.add_directory("/etc/hosts", 0755);
  ASSERT_FALSE(dir_on_file.has_value());
  auto through_file = tree.add_generated_file("/etc/hosts/x", "x", 0644);
  ASSERT_FALSE(through_file.has_value());
  EXPECT_NE(through_file.error().message.find("is a file, not a directory"), std::string::npos);
  EXPECT_FALSE(tree.add_symlink("/", "x", 0).has_value());
}

TEST(RootfsTree, WritesEveryEntryWithHostContents) {
  ScratchDir dir;
  std::string host = dir.write("tool", "#!/bin/sh\n", 0750);
  struct stat st {};
  ASSERT_EQ(::stat(host.c_str(), &st), 0);
  RootfsTree tree;
  ASSERT_TRUE(tree.add_host_file("/opt/tool", host, st).has_value());
  ASSERT_TRUE(tree.add_symlink("/bin", "opt", 7).has_value());
  ASSERT_TRUE(tree.add_generated_file("/.nimbus/exe", "/opt/tool", 0644).has_value());
  std::ostringstream out;
  ASSERT_TRUE(tree.write_cpio(out).has_value());
  std::vector<CpioEntry> entries = read_cpio(out.str());
  ASSERT_EQ(entries.size(), 5u);
  EXPECT_EQ(entries[0].name, ".nimbus");
  EXPECT_EQ(find_entry(entries, "opt/tool")->data, "#!/bin/sh\n");
  EXPECT_EQ(find_entry(entries, "opt/tool")->mode, S_IFREG | 0750u);
  EXPECT_EQ(find_entry(entries, "opt/tool")->mtime, static_cast<std::uint32_t>(st.st_mtime));
  EXPECT_EQ(find_entry(entries, "bin")->data, "opt");
  EXPECT_EQ(find_entry(entries, ".nimbus/exe")->data, "/opt/tool");
  EXPECT_EQ(tree.file_bytes(), 10u + 9u);
}

TEST(RootfsTree, HashChangesWithAnyEntry) {
  auto digest = [](const RootfsTree& tree) {
    Sha256 hash;
    tree.hash_into(hash);
    return Sha256::hex(hash.finish());
  };
  RootfsTree a;
  ASSERT_TRUE(a.add_generated_file("/x", "1", 0644).has_value());
  RootfsTree b;
  ASSERT_TRUE(b.add_generated_file("/x", "2", 0644).has_value());
  RootfsTree c;
  ASSERT_TRUE(c.add_generated_file("/x", "1", 0600).has_value());
  RootfsTree d;
  ASSERT_TRUE(d.add_symlink("/x", "1", 0).has_value());
  EXPECT_NE(digest(a), digest(b));
  EXPECT_NE(digest(a), digest(c));
  EXPECT_NE(digest(a), digest(d));
  RootfsTree a2;
  ASSERT_TRUE(a2.add_generated_file("/x", "1", 0644).has_value());
  EXPECT_EQ(digest(a), digest(a2));
}

}  // namespace
