// Tests for PathWalk: components, "." and "..", symlinks (relative, absolute, chains, loops),
// trailing slashes, length limits, mount crossings, and resolve_parent's last components.
#include "kernel/fs/path_walk.h"

#include <gtest/gtest.h>

#include <string>

#include "kernel/fs/mount_table.h"
#include "tests/unit/fakes/fs_test_support.h"

namespace nimbus::fs {
namespace {

using namespace testing;
using Follow = PathWalk::Follow;

// The tree:
//   /a/b/file ("data")        /a/up -> ..              /abs -> /a/b
//   /a/to_b -> b              /a/to_file -> b/file     /dangling -> nowhere
//   /loop1 -> loop2           /loop2 -> loop1          /self -> self
//   /to_to_b -> a/to_b        /trailing -> a/b/        /dot -> .
//   /mnt (a mount point for a second ramfs holding /mnt/inner and /mnt/back -> ..)
class PathWalkTest : public RamFsTest {
 protected:
  PathWalkTest() : other(other_pages, fake_clock) {}

  void SetUp() override {
    RamFsTest::SetUp();
    a = make_directory(*root, "a");
    b = make_directory(*a, "b");
    file = make(*b, "file", VnodeType::regular);
    write_string(*file, 0, "data");
    symlink(*a, "up", "..");
    symlink(*a, "to_b", "b");
    symlink(*a, "to_file", "b/file");
    symlink(*root, "abs", "/a/b");
    symlink(*root, "dangling", "nowhere");
    symlink(*root, "loop1", "loop2");
    symlink(*root, "loop2", "loop1");
    symlink(*root, "self", "self");
    symlink(*root, "to_to_b", "a/to_b");
    symlink(*root, "trailing", "a/b/");
    symlink(*root, "dot", ".");
    mnt = make_directory(*root, "mnt");
    ASSERT_TRUE(other.init());
    other_root = other.root();
    inner = make_directory(*other_root, "inner");
    symlink(*other_root, "back", "..");
    ASSERT_TRUE(mounts.mount(mnt, other_root));
  }

  void symlink(Vnode& directory, std::string_view name, std::string_view target) {
    ASSERT_TRUE(directory.symlink(name, target, 0, 0)) << name;
  }

  Result<RefPtr<Vnode>> resolve(std::string_view path, Follow follow = Follow::yes,
                                RefPtr<Vnode> start = nullptr, RefPtr<Vnode> walk_root = nullptr) {
    PathWalk walk(mounts, walk_root ? walk_root : root);
    return walk.resolve(start ? start : root, path, follow);
  }
  void expect_node(std::string_view path, const RefPtr<Vnode>& expected, Follow follow = Follow::yes,
                   RefPtr<Vnode> start = nullptr) {
    auto node = resolve(path, follow, start);
    ASSERT_TRUE(node) << path << ": errno " << static_cast<int>(node.error());
    EXPECT_EQ(*node, expected) << path;
  }
  void expect_error(std::string_view path, Errno expected, Follow follow = Follow::yes,
                    RefPtr<Vnode> start = nullptr) {
    auto node = resolve(path, follow, start);
    ASSERT_FALSE(node) << path;
    EXPECT_EQ(node.error(), expected) << path;
  }

  FakePageAllocator other_pages;
  RamFs other;
  MountTable mounts;
  RefPtr<Vnode> a, b, file, mnt, other_root, inner;
};

TEST_F(PathWalkTest, WalksComponentsDotsAndSlashes) {
  expect_node("/", root);
  expect_node("///", root);
  expect_node("/a/b/file", file);
  expect_node("a//b///file", file);
  expect_node("./a/./b/.", b);
  expect_node("/a/b/..", a);
  expect_node("/a/b/../../a", a);
  expect_node("b/file", file, Follow::yes, a);
  expect_node("..", root, Follow::yes, a);
  expect_node("/a/b/", b);
  expect_node("/a/b/.//", b);
}

TEST_F(PathWalkTest, DotDotStaysAtTheRoot) {
  expect_node("..", root);
  expect_node("/../../..", root);
  expect_node("/../a/../../a/b", b);
  // A chroot: the walk's root is /a, so ".." from it stays there, and "/" means /a.
  auto node = resolve("../../b", Follow::yes, a, a);
  ASSERT_TRUE(node);
  EXPECT_EQ(*node, b);
  node = resolve("/b/file", Follow::yes, b, a);
  ASSERT_TRUE(node);
  EXPECT_EQ(*node, file);
  node = resolve("/abs", Follow::yes, b, a);
  EXPECT_EQ(node.error(), Errno::enoent);  // "/abs" is /a/abs inside the chroot
}

TEST_F(PathWalkTest, FollowsSymlinks) {
  expect_node("/a/to_b", b);
  expect_node("/a/to_b/file", file);
  expect_node("/a/to_file", file);
  expect_node("/abs/file", file);
  expect_node("/to_to_b/file", file);
  expect_node("/a/up/a/up/a/b", b);
  expect_node("/dot/dot/a", a);
  // ".." after a symlink goes up from where the link led (physical, like Linux).
  expect_node("/abs/..", a);
  expect_node("/to_to_b/../..", root);
}

TEST_F(PathWalkTest, TheLastSymlinkIsFollowedOnlyWhenAskedOrBeforeASlash) {
  auto link = resolve("/a/to_b", Follow::no);
  ASSERT_TRUE(link);
  EXPECT_TRUE((*link)->is_symlink());
  expect_node("/a/to_b/", b, Follow::no);
  expect_node("/a/to_b/.", b, Follow::no);
  auto dangling = resolve("/dangling", Follow::no);
  ASSERT_TRUE(dangling);
  EXPECT_TRUE((*dangling)->is_symlink());
  expect_error("/dangling", Errno::enoent);
  expect_error("/dangling/", Errno::enoent, Follow::no);
}

TEST_F(PathWalkTest, TrailingSlashesNeedDirectories) {
  expect_error("/a/b/file/", Errno::enotdir);
  expect_error("/a/b/file/.", Errno::enotdir);
  expect_error("/a/b/file/..", Errno::enotdir);
  expect_error("/a/b/file/x", Errno::enotdir);
  expect_error("/a/to_file/", Errno::enotdir, Follow::no);
  expect_node("/trailing", b);
  expect_error("file", Errno::enotdir, Follow::yes, file);  // relative to a non-directory
}

TEST_F(PathWalkTest, MissingThingsAndEmptyPaths) {
  expect_error("", Errno::enoent);
  expect_error("/missing", Errno::enoent);
  expect_error("/missing/x", Errno::enoent);
  expect_error("/a/missing/..", Errno::enoent);
}

TEST_F(PathWalkTest, SymlinkLoopsEndInEloop) {
  expect_error("/loop1", Errno::eloop);
  expect_error("/self", Errno::eloop);
  expect_error("/self/x", Errno::eloop);
  auto not_followed = resolve("/self", Follow::no);
  EXPECT_TRUE(not_followed);
}

TEST_F(PathWalkTest, FortyLinksAreFineAndFortyOneAreNot) {
  // l1 -> l0 -> ... and l0 -> a: resolving lN follows N + 1 links.
  symlink(*root, "l0", "a");
  for (int i = 1; i <= 40; i++) symlink(*root, "l" + std::to_string(i), "l" + std::to_string(i - 1));
  expect_node("/l39", a);
  expect_error("/l40", Errno::eloop);
  // Nested rather than chained: each link's target continues through the next link.
  symlink(*root, "n0", "a/b");
  for (int i = 1; i <= 40; i++) symlink(*root, "n" + std::to_string(i), "n" + std::to_string(i - 1) + "/.");
  expect_node("/n39", b);
  expect_error("/n40/file", Errno::eloop);
}

TEST_F(PathWalkTest, LongNamesAndPaths) {
  std::string longest(255, 'n');
  ASSERT_TRUE(root->create(longest, NewNode{}));
  EXPECT_TRUE(resolve("/" + longest));
  expect_error("/" + std::string(256, 'n'), Errno::enametoolong);
  std::string path;
  while (path.size() < 4094) path += "./";
  path = path.substr(0, 4094) + "a";
  ASSERT_EQ(path.size(), 4095u);
  expect_node(path, a);
  expect_error(path + "/", Errno::enametoolong);
}

TEST_F(PathWalkTest, CrossesMountPointsBothWays) {
  expect_node("/mnt", other_root);
  expect_node("/mnt/inner", inner);
  expect_node("/mnt/..", root);
  expect_node("/mnt/inner/../..", root);
  expect_node("/mnt/inner/../../a", a);
  expect_node("/mnt/back", root);  // a symlink to ".." from the mounted root
  expect_node("..", root, Follow::yes, other_root);
  // The covered directory's own contents are hidden.
  ASSERT_TRUE(mnt->create("hidden", NewNode{}));
  expect_error("/mnt/hidden", Errno::enoent);
  // A chroot into the mounted file system stays inside it.
  auto node = resolve("../..", Follow::yes, inner, other_root);
  ASSERT_TRUE(node);
  EXPECT_EQ(*node, other_root);
}

TEST_F(PathWalkTest, MountTableRules) {
  EXPECT_EQ(mounts.mount(mnt, a).error(), Errno::ebusy);
  EXPECT_EQ(mounts.mount(a, other_root).error(), Errno::ebusy);
  EXPECT_EQ(mounts.mount(file, other_root).error(), Errno::enotdir);
  EXPECT_TRUE(mounts.is_mount_point(mnt.get()));
  EXPECT_EQ(mounts.covered_by(other_root.get()), mnt);
  EXPECT_EQ(mounts.size(), 1u);
}

TEST_F(PathWalkTest, ResolveParentStopsBeforeTheLastComponent) {
  PathWalk walk(mounts, root);
  auto parent = walk.resolve_parent(root, "/a/b/new");
  ASSERT_TRUE(parent);
  EXPECT_EQ(parent->parent, b);
  EXPECT_EQ(parent->name, "new");
  EXPECT_EQ(parent->kind, LastKind::normal);
  EXPECT_FALSE(parent->trailing_slash);

  parent = walk.resolve_parent(root, "a/to_b/new//");
  ASSERT_TRUE(parent);
  EXPECT_EQ(parent->parent, b);
  EXPECT_EQ(parent->name, "new");
  EXPECT_TRUE(parent->trailing_slash);

  // The last component is not followed, even when it is a symlink.
  parent = walk.resolve_parent(root, "/a/to_b");
  ASSERT_TRUE(parent);
  EXPECT_EQ(parent->parent, a);
  EXPECT_EQ(parent->name, "to_b");

  parent = walk.resolve_parent(root, "/a/b/.");
  ASSERT_TRUE(parent);
  EXPECT_EQ(parent->kind, LastKind::dot);
  EXPECT_EQ(parent->parent, b);
  parent = walk.resolve_parent(root, "/a/..");
  ASSERT_TRUE(parent);
  EXPECT_EQ(parent->kind, LastKind::dotdot);
  parent = walk.resolve_parent(root, "//");
  ASSERT_TRUE(parent);
  EXPECT_EQ(parent->kind, LastKind::root);
  EXPECT_EQ(parent->parent, root);
  parent = walk.resolve_parent(root, "/mnt/x");
  ASSERT_TRUE(parent);
  EXPECT_EQ(parent->parent, other_root);

  EXPECT_EQ(walk.resolve_parent(root, "/a/b/file/x").error(), Errno::enotdir);
  EXPECT_EQ(walk.resolve_parent(root, "/missing/x").error(), Errno::enoent);
  EXPECT_EQ(walk.resolve_parent(root, "").error(), Errno::enoent);
  EXPECT_EQ(walk.resolve_parent(root, "/" + std::string(256, 'x')).error(), Errno::enametoolong);
}

TEST_F(PathWalkTest, OneWalkSharesItsLinkBudget) {
  PathWalk walk(mounts, root);
  for (int i = 0; i < 40; i++) ASSERT_TRUE(walk.count_link());
  EXPECT_EQ(walk.resolve(root, "/a/to_b", Follow::yes).error(), Errno::eloop);
  EXPECT_TRUE(walk.resolve(root, "/a/b", Follow::yes));
}

}  // namespace
}  // namespace nimbus::fs
