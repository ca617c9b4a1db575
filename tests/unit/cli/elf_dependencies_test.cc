// Tests of DependencyWalker: real binaries, and hand-made ELF files laid out in a scratch
// directory to pin down ld.so's search order (RPATH, RUNPATH, $ORIGIN, other classes skipped).
#include "elf_dependencies.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "elf_builder.h"
#include "mapped_file.h"
#include "scratch_dir.h"

namespace {

ElfInfo info_of(const std::string& path) {
  auto file = MappedFile::open(path);
  EXPECT_TRUE(file.has_value()) << path;
  auto info = parse_elf(file->bytes());
  EXPECT_TRUE(info.has_value()) << path << ": " << info.error().reason;
  return *info;
}

const LoadedObject* find_requested(const DependencyWalker& walker, const std::string& name) {
  for (const LoadedObject& object : walker.objects())
    if (object.requested == name) return &object;
  return nullptr;
}

// A program in <dir>/app/bin with libraries in <dir>/app/lib, none of them on the host's paths.
class Layout {
 public:
  Layout() { m_dir.mkdir("app/bin"); }
  std::string program(const ElfSpec& spec) {
    return m_dir.write("app/bin/prog", build_elf(spec), 0755);
  }
  void library(const std::string& name, ElfSpec spec, const std::string& subdir = "lib") {
    spec.type = 3;
    m_dir.write("app/" + subdir + "/" + name, build_elf(spec), 0644);
  }
  void raw(const std::string& name, const std::string& bytes) { m_dir.write(name, bytes); }
  std::string bin() const { return m_dir / "app/bin"; }
  std::string path(const std::string& name) const { return m_dir / name; }

 private:
  ScratchDir m_dir;
};

CliResult<std::vector<std::size_t>> walk(DependencyWalker& walker, const std::string& program,
                                         const std::string& dir) {
  return walker.add(program, info_of(program), dir);
}

TEST(ElfDependencies, LsGetsItsInterpreterAndLibc) {
  DependencyWalker walker(LdSoCache::load());
  auto added = walk(walker, "/bin/ls", "/usr/bin");
  ASSERT_TRUE(added.has_value()) << added.error().message;
  EXPECT_EQ(walker.objects()[0].path, "/bin/ls");
  const LoadedObject* interpreter = find_requested(walker, "/lib64/ld-linux-x86-64.so.2");
  ASSERT_NE(interpreter, nullptr);
  EXPECT_FALSE(interpreter->loader.has_value());
  const LoadedObject* libc = find_requested(walker, "libc.so.6");
  ASSERT_NE(libc, nullptr);
  EXPECT_TRUE(libc->path.ends_with("/libc.so.6")) << libc->path;
  // libc's own DT_NEEDED names the loader by its soname; it is the interpreter, not a second copy.
  EXPECT_EQ(find_requested(walker, "ld-linux-x86-64.so.2"), nullptr);
  EXPECT_EQ(added->size(), walker.objects().size());
}

TEST(ElfDependencies, StaticBinaryNeedsNothing) {
  DependencyWalker walker(LdSoCache::load());
  auto added = walk(walker, NIMBUS_TEST_STATIC_ELF, "/");
  ASSERT_TRUE(added.has_value()) << added.error().message;
  EXPECT_EQ(walker.objects().size(), 1u);
}

TEST(ElfDependencies, SecondProgramSharesWhatIsLoaded) {
  DependencyWalker walker(LdSoCache::load());
  ASSERT_TRUE(walk(walker, "/bin/ls", "/usr/bin").has_value());
  std::size_t before = walker.objects().size();
  auto added = walk(walker, "/bin/cat", "/usr/bin");
  ASSERT_TRUE(added.has_value()) << added.error().message;
  EXPECT_EQ(added->size(), 1u);  // cat itself; its interpreter and libc are already there
  EXPECT_EQ(walker.objects().size(), before + 1);
  EXPECT_TRUE(walk(walker, "/bin/cat", "/usr/bin")->empty());
}

TEST(ElfDependencies, RunpathWithOriginAppliesToTheObjectItselfOnly) {
  Layout layout;
  std::string program = layout.program({.needed = {"libfoo.so.1"}, .runpath = "$ORIGIN/../lib"});
  layout.library("libfoo.so.1", {.needed = {"libbar.so.2"}});
  layout.library("libbar.so.2", {});
  DependencyWalker walker(LdSoCache{});
  auto added = walk(walker, program, layout.bin());
  ASSERT_FALSE(added.has_value());
  EXPECT_EQ(added.error().exit_status, exit_status::kBadInput);
  // libfoo was found through the program's RUNPATH; libbar, needed by libfoo, was not.
  EXPECT_NE(added.error().message.find(layout.path("app/lib/libfoo.so.1") + " needs libbar.so.2"),
            std::string::npos)
      << added.error().message;
}

TEST(ElfDependencies, RpathIsInheritedDownTheLoaderChain) {
  Layout layout;
  std::string program = layout.program({.needed = {"libfoo.so.1"}, .rpath = "${ORIGIN}/../lib"});
  layout.library("libfoo.so.1", {.needed = {"libbar.so.2"}});
  layout.library("libbar.so.2", {});
  DependencyWalker walker(LdSoCache{});
  auto added = walk(walker, program, layout.bin());
  ASSERT_TRUE(added.has_value()) << added.error().message;
  const LoadedObject* bar = find_requested(walker, "libbar.so.2");
  ASSERT_NE(bar, nullptr);
  EXPECT_EQ(bar->path, layout.path("app/lib/libbar.so.2"));
  ASSERT_TRUE(bar->loader.has_value());
  EXPECT_EQ(walker.objects()[*bar->loader].requested, "libfoo.so.1");
}

TEST(ElfDependencies, RunpathMakesRpathIgnored) {
  Layout layout;
  layout.library("libfoo.so.1", {}, "wrong");
  layout.library("libfoo.so.1", {}, "lib");
  std::string program = layout.program(
      {.needed = {"libfoo.so.1"}, .rpath = "$ORIGIN/../wrong", .runpath = "$ORIGIN/../lib"});
  DependencyWalker walker(LdSoCache{});
  ASSERT_TRUE(walk(walker, program, layout.bin()).has_value());
  EXPECT_EQ(find_requested(walker, "libfoo.so.1")->path, layout.path("app/lib/libfoo.so.1"));
}

TEST(ElfDependencies, LibrariesForAnotherMachineAreSkipped) {
  Layout layout;
  layout.library("libfoo.so.1", {.machine = 183}, "arm");
  layout.library("libfoo.so.1", {.elf_class = 1}, "lib32");
  layout.library("libfoo.so.1", {}, "lib");
  std::string program = layout.program(
      {.needed = {"libfoo.so.1"}, .rpath = "$ORIGIN/../arm:$ORIGIN/../lib32::$ORIGIN/../lib"});
  DependencyWalker walker(LdSoCache{});
  ASSERT_TRUE(walk(walker, program, layout.bin()).has_value());
  EXPECT_EQ(find_requested(walker, "libfoo.so.1")->path, layout.path("app/lib/libfoo.so.1"));
}

TEST(ElfDependencies, MissingLibraryAndInterpreterAreClearErrors) {
  Layout layout;
  std::string program = layout.program({.needed = {"libnimbus-missing.so.7"}});
  DependencyWalker walker(LdSoCache::load());
  auto added = walk(walker, program, layout.bin());
  ASSERT_FALSE(added.has_value());
  EXPECT_EQ(added.error().exit_status, exit_status::kBadInput);
  EXPECT_NE(added.error().message.find(program + " needs libnimbus-missing.so.7"),
            std::string::npos)
      << added.error().message;

  Layout other;
  std::string musl = other.program({.interpreter = "/lib/ld-nimbus-missing.so.1"});
  DependencyWalker walker2(LdSoCache::load());
  added = walk(walker2, musl, other.bin());
  ASSERT_FALSE(added.has_value());
  EXPECT_NE(
      added.error().message.find("ELF interpreter /lib/ld-nimbus-missing.so.1 does not exist"),
      std::string::npos)
      << added.error().message;
}

TEST(ElfDependencies, NeededPathsAreTakenAsPaths) {
  Layout layout;
  layout.library("libfoo.so.1", {});
  std::string program = layout.program({.needed = {"$ORIGIN/../lib/libfoo.so.1"}});
  DependencyWalker walker(LdSoCache{});
  ASSERT_TRUE(walk(walker, program, layout.bin()).has_value());
  EXPECT_EQ(walker.objects().back().path, layout.path("app/lib/libfoo.so.1"));

  std::string relative = layout.program({.needed = {"lib/libfoo.so.1"}});
  DependencyWalker walker2(LdSoCache{});
  auto added = walk(walker2, relative, layout.bin());
  ASSERT_FALSE(added.has_value());
  EXPECT_NE(added.error().message.find("relative path"), std::string::npos);
}

TEST(ElfDependencies, AMalformedLibraryIsAnErrorAndALinkerScriptIsSkipped) {
  Layout layout;
  std::string program =
      layout.program({.needed = {"libfoo.so.1"}, .rpath = "$ORIGIN/../a:$ORIGIN/../b"});
  // A GNU ld script where a library is expected is not ELF at all: ld.so moves on.
  layout.raw("app/a/libfoo.so.1", "/* GNU ld script */\nGROUP ( libfoo.so.2 )\n");
  // An ELF64 x86-64 file whose program headers run past its end is broken, not someone else's.
  layout.raw("app/b/libfoo.so.1", build_elf({.type = 3}).substr(0, 100));
  DependencyWalker walker(LdSoCache{});
  auto added = walk(walker, program, layout.bin());
  ASSERT_FALSE(added.has_value());
  EXPECT_EQ(added.error().exit_status, exit_status::kBadInput);
  EXPECT_NE(added.error().message.find(layout.path("app/b/libfoo.so.1") + ": malformed ELF file"),
            std::string::npos)
      << added.error().message;
}

TEST(ElfDependencies, AFailedAddLeavesNothingBehind) {
  Layout layout;
  layout.library("libfoo.so.1", {.needed = {"libmissing.so.1"}});
  std::string program = layout.program({.needed = {"libfoo.so.1"}, .rpath = "$ORIGIN/../lib"});
  DependencyWalker walker(LdSoCache{});
  ASSERT_FALSE(walk(walker, program, layout.bin()).has_value());
  EXPECT_TRUE(walker.objects().empty());
}

}  // namespace
