// Tests of plan_image(): what lands in the root file system and the launch description for real
// programs, scripts and added directories, and the refusals, all without running anything.
#include "image_plan.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <deque>
#include <filesystem>

#include "image_cache.h"
#include "scratch_dir.h"

namespace {

std::string nul_joined(const std::vector<std::string>& strings) {
  std::string out;
  for (const std::string& s : strings) out += s + '\0';
  return out;
}

// Follows a guest path through the tree's symlinks as the guest kernel will; returns the entry
// it ends at, or null when it dangles.
const RootfsEntry* resolve(const RootfsTree& tree, const std::string& guest) {
  std::deque<std::string> pending;
  for (const auto& part : std::filesystem::path(guest))
    if (!part.empty() && part != "/") pending.push_back(part.string());
  std::string current;
  const RootfsEntry* entry = nullptr;
  for (int links = 0; !pending.empty() && links < 40;) {
    std::string name = pending.front();
    pending.pop_front();
    if (name == "..") {
      current = current.substr(0, current.rfind('/') == std::string::npos ? 0 : current.rfind('/'));
      continue;
    }
    if (name == ".") continue;
    std::string path = current.empty() ? name : current + "/" + name;
    auto it = tree.entries().find(path);
    if (it == tree.entries().end()) return nullptr;
    if (it->second.type == RootfsEntry::Type::Symlink) {
      ++links;
      std::deque<std::string> target;
      for (const auto& part : std::filesystem::path(it->second.data))
        if (!part.empty() && part != "/") target.push_back(part.string());
      if (it->second.data.starts_with('/')) current.clear();
      pending.insert(pending.begin(), target.begin(), target.end());
      continue;
    }
    entry = &it->second;
    current = path;
  }
  return entry;
}

std::string contents(const ImagePlan& plan, const std::string& archive_path) {
  auto it = plan.tree.entries().find(archive_path);
  return it == plan.tree.entries().end() ? std::string("<missing>") : it->second.data;
}

class ImagePlanTest : public ::testing::Test {
 protected:
  ImageSpec spec_for(const std::string& program, std::vector<std::string> args = {}) {
    ImageSpec spec;
    spec.program = program;
    spec.args = std::move(args);
    spec.kernel_path = m_kernel;
    return spec;
  }
  CliResult<ImagePlan> plan(const ImageSpec& spec) { return plan_image(spec, m_reporter); }
  CliError refusal(const ImageSpec& spec) {
    auto result = plan(spec);
    EXPECT_FALSE(result.has_value());
    return result ? CliError{} : result.error();
  }

  ScratchDir m_dir;
  std::string m_kernel = m_dir.write("kernel.elf", "not really a kernel");
  Reporter m_reporter{false};
};

TEST_F(ImagePlanTest, LsWithItsLoaderAndLibraries) {
  auto plan = this->plan(spec_for("/bin/ls", {"-l", "/"}));
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  const RootfsTree& tree = plan->tree;
  for (const char* path : {"/bin/ls", "/lib64/ld-linux-x86-64.so.2", "/etc/ld.so.cache"}) {
    const RootfsEntry* entry = resolve(tree, path);
    ASSERT_NE(entry, nullptr) << path;
    EXPECT_EQ(entry->type, RootfsEntry::Type::File) << path;
  }
  // libc, wherever this host keeps it, resolves in the guest at the path ld.so will open.
  bool has_libc = false;
  for (const auto& [path, entry] : tree.entries())
    has_libc |= path.ends_with("/libc.so.6") && resolve(tree, "/" + path) != nullptr;
  EXPECT_TRUE(has_libc);
  EXPECT_EQ(resolve(tree, "/bin/ls")->permissions & 0111, 0111u);

  EXPECT_EQ(plan->launch.exe, "/bin/ls");
  EXPECT_EQ(plan->launch.argv, (std::vector<std::string>{"/bin/ls", "-l", "/"}));
  EXPECT_EQ(plan->launch.workdir, "/");
  EXPECT_EQ(contents(*plan, ".nimbus/argv"), nul_joined({"/bin/ls", "-l", "/"}));
  EXPECT_EQ(contents(*plan, ".nimbus/exe"), "/bin/ls");
  EXPECT_EQ(contents(*plan, ".nimbus/workdir"), "/");
  EXPECT_EQ(contents(*plan, ".nimbus/env"), nul_joined(plan->launch.env));
  EXPECT_TRUE(contents(*plan, ".nimbus/env")
                  .starts_with(nul_joined({"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/"})));
  EXPECT_EQ(plan->kernel_path, m_kernel);
}

TEST_F(ImagePlanTest, ProgramFoundOnPathKeepsThePathItWasFoundAt) {
  ImageSpec spec = spec_for("true");
  spec.argv0 = "my-true";
  spec.workdir = "/srv/app";
  spec.env = {"HOME=/srv"};
  auto plan = this->plan(spec);
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  EXPECT_TRUE(plan->launch.exe.ends_with("/true")) << plan->launch.exe;
  EXPECT_EQ(plan->launch.argv, (std::vector<std::string>{"my-true"}));
  ASSERT_NE(resolve(plan->tree, "/srv/app"), nullptr);
  EXPECT_EQ(resolve(plan->tree, "/srv/app")->type, RootfsEntry::Type::Directory);
  EXPECT_NE(contents(*plan, ".nimbus/env").find(std::string("HOME=/srv\0", 10)), std::string::npos);
}

TEST_F(ImagePlanTest, StaticProgramComesAlone) {
  ImageSpec spec = spec_for(NIMBUS_TEST_STATIC_ELF);
  spec.auto_pack = false;  // no CA certificates, locale or time zone either
  auto plan = this->plan(spec);
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  EXPECT_EQ(resolve(plan->tree, "/etc/ld.so.cache"), nullptr);
  std::size_t files = 0;
  for (const auto& [path, entry] : plan->tree.entries())
    if (entry.type == RootfsEntry::Type::File && !path.starts_with(".nimbus/")) ++files;
  EXPECT_EQ(files, 1u);
}

TEST_F(ImagePlanTest, ScriptRunsThroughItsInterpreterAsLinuxDoes) {
  std::string script = m_dir.write("bin/hello.sh", "#!/bin/sh -e\necho hello\n", 0755);
  ImageSpec spec = spec_for(script, {"a", "b"});
  spec.argv0 = "ignored";  // binfmt_script replaces argv[0] with the script's path
  auto plan = this->plan(spec);
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  EXPECT_EQ(plan->launch.exe, "/bin/sh");
  EXPECT_EQ(plan->launch.argv, (std::vector<std::string>{"/bin/sh", "-e", script, "a", "b"}));
  ASSERT_NE(resolve(plan->tree, script), nullptr);
  EXPECT_EQ(resolve(plan->tree, script)->host_path, script);
  ASSERT_NE(resolve(plan->tree, "/bin/sh"), nullptr);
}

TEST_F(ImagePlanTest, NestedScriptsAndEnv) {
  std::string inner = m_dir.write("inner", "#!/bin/sh\n", 0755);
  std::string outer = m_dir.write("outer", "#!" + inner + " --flag  x \n", 0755);
  auto plan = this->plan(spec_for(outer, {"arg"}));
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  EXPECT_EQ(plan->launch.exe, "/bin/sh");
  EXPECT_EQ(plan->launch.argv,
            (std::vector<std::string>{"/bin/sh", inner, "--flag  x", outer, "arg"}));

  // The common "#!/usr/bin/env NAME": with --no-auto env is the ELF that runs, NAME its
  // argument, as on Linux.
  std::string shim = m_dir.write("shim", "#!/usr/bin/env bash\nexec true\n", 0755);
  ImageSpec literal = spec_for(shim, {"x"});
  literal.auto_pack = false;
  plan = this->plan(literal);
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  EXPECT_EQ(plan->launch.exe, "/usr/bin/env");
  EXPECT_EQ(plan->launch.argv, (std::vector<std::string>{"/usr/bin/env", "bash", shim, "x"}));

  // Otherwise NAME is found on the guest's PATH now, since env cannot start it in the guest.
  plan = this->plan(spec_for(shim, {"x"}));
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  EXPECT_TRUE(plan->launch.exe.ends_with("/bin/bash")) << plan->launch.exe;
  EXPECT_EQ(plan->launch.argv, (std::vector<std::string>{plan->launch.exe, shim, "x"}));
  // "env -S" and assignments stay env's business.
  std::string split = m_dir.write("split", "#!/usr/bin/env -S bash -e\n", 0755);
  plan = this->plan(spec_for(split));
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  EXPECT_EQ(plan->launch.exe, "/usr/bin/env");
}

TEST_F(ImagePlanTest, RefusalsSayWhatIsWrong) {
  std::string text = m_dir.write("text", "hello\n", 0755);
  CliError error = refusal(spec_for(text));
  EXPECT_EQ(error.exit_status, exit_status::kBadInput);
  EXPECT_EQ(error.message,
            text + ": not an x86-64 ELF executable (not an ELF file, and no #! line)");

  std::string arm =
      m_dir.write("arm",
                  std::string("\x7f"
                              "ELF\2\1\1",
                              7) +
                      std::string(11, '\0') + std::string("\xb7\0", 2) + std::string(100, '\0'),
                  0755);
  error = refusal(spec_for(arm));
  EXPECT_EQ(error.exit_status, exit_status::kBadInput);
  EXPECT_EQ(error.message, arm + ": not an x86-64 ELF executable (machine is AArch64)");

  std::string plain = m_dir.write("plain", "#!/bin/sh\n", 0644);
  EXPECT_NE(refusal(spec_for(plain)).message.find("not executable"), std::string::npos);
  EXPECT_NE(refusal(spec_for(m_dir.mkdir("adir"))).message.find("is a directory"),
            std::string::npos);
  EXPECT_EQ(refusal(spec_for("nimbus-no-such-program")).message,
            "nimbus-no-such-program: not found on PATH");
  EXPECT_EQ(refusal(spec_for(m_dir / "absent")).exit_status, exit_status::kBadInput);

  std::string relative = m_dir.write("relative", "#!sh\n", 0755);
  EXPECT_NE(refusal(spec_for(relative)).message.find("not an absolute path"), std::string::npos);
  std::string missing = m_dir.write("missing", "#!/nonexistent/interpreter\n", 0755);
  EXPECT_NE(refusal(spec_for(missing)).message.find("/nonexistent/interpreter"), std::string::npos);
  std::string via_text = m_dir.write("via-text", "#!" + text + "\n", 0755);
  EXPECT_EQ(refusal(spec_for(via_text)).message,
            text + " (the #! interpreter of " + via_text +
                "): not an x86-64 ELF executable (not an ELF file, and no #! line)");
  EXPECT_EQ(refusal(ImageSpec{}).exit_status, exit_status::kUsage);

  // Linux gives up after four levels of interpreters.
  std::string previous = "/bin/sh";
  for (int i = 0; i < 5; ++i)
    previous = m_dir.write("level" + std::to_string(i), "#!" + previous + "\n", 0755);
  EXPECT_NE(refusal(spec_for(previous)).message.find("more than 4 levels"), std::string::npos);
}

TEST_F(ImagePlanTest, AddedDirectoriesKeepTheirShapeAndBringLibraries) {
  std::string tree = m_dir.mkdir("app");
  m_dir.write("app/conf/settings.ini", "x=1\n", 0600);
  m_dir.write("app/run.sh", "#!/bin/sh\n", 0755);
  m_dir.symlink("app/current", "conf");
  std::string outside = m_dir.write("outside.txt", "outside\n");
  m_dir.symlink("app/linked.txt", outside);
  m_dir.mkdir("app/bin");
  std::filesystem::copy_file("/bin/true", m_dir / "app/bin/tool");
  ASSERT_EQ(::mkfifo((m_dir / "app/pipe").c_str(), 0644), 0);

  ImageSpec spec = spec_for(NIMBUS_TEST_STATIC_ELF);
  spec.adds = {
      {tree, std::nullopt}, {outside, std::string("/data/file.txt")}, {tree, std::string("/srv")}};
  auto plan = this->plan(spec);
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  const RootfsTree& rootfs = plan->tree;
  ASSERT_NE(resolve(rootfs, tree + "/conf/settings.ini"), nullptr);
  EXPECT_EQ(resolve(rootfs, tree + "/conf/settings.ini")->permissions, 0600u);
  ASSERT_NE(resolve(rootfs, tree + "/current/settings.ini"), nullptr);
  EXPECT_EQ(rootfs.entries().at(tree.substr(1) + "/current").data, "conf");
  ASSERT_NE(resolve(rootfs, tree + "/linked.txt"), nullptr);  // its absolute target came along
  EXPECT_EQ(resolve(rootfs, tree + "/pipe"), nullptr);        // FIFOs are skipped
  ASSERT_NE(resolve(rootfs, "/data/file.txt"), nullptr);
  EXPECT_EQ(resolve(rootfs, "/data/file.txt")->host_path, outside);
  ASSERT_NE(resolve(rootfs, "/srv/run.sh"), nullptr);
  EXPECT_EQ(resolve(rootfs, "/srv/run.sh")->permissions, 0755u);
  // The ELF inside brought its interpreter and libc, though the program is static.
  ASSERT_NE(resolve(rootfs, "/lib64/ld-linux-x86-64.so.2"), nullptr);
  bool has_libc = false;
  for (const auto& [path, entry] : rootfs.entries()) has_libc |= path.ends_with("/libc.so.6");
  EXPECT_TRUE(has_libc);
}

TEST_F(ImagePlanTest, AddMistakes) {
  ImageSpec spec = spec_for(NIMBUS_TEST_STATIC_ELF);
  spec.adds = {{m_dir / "absent", std::nullopt}};
  CliError error = refusal(spec);
  EXPECT_EQ(error.exit_status, exit_status::kBadInput);
  EXPECT_NE(error.message.find("--add " + (m_dir / "absent")), std::string::npos) << error.message;

  spec.adds = {{m_kernel, std::string("/.nimbus/argv")}};
  EXPECT_EQ(refusal(spec).exit_status, exit_status::kUsage);

  // A file where the program's path needs a directory.
  spec = spec_for("/bin/true");
  spec.adds = {{m_kernel, std::string("/usr")}};
  EXPECT_EQ(refusal(spec).exit_status, exit_status::kBadInput);
}

TEST_F(ImagePlanTest, BuildKeyFollowsTheInputsAndNothingElse) {
  std::string script = m_dir.write("tool.sh", "#!/bin/sh\necho one\n", 0755);
  auto key_of = [&](std::vector<std::string> args) {
    auto plan = this->plan(spec_for(script, std::move(args)));
    EXPECT_TRUE(plan.has_value()) << plan.error().message;
    auto key = build_key(*plan);
    EXPECT_TRUE(key.has_value());
    return key.value_or("");
  };
  std::string first = key_of({"a"});
  EXPECT_EQ(first.size(), 64u);
  // Files coming and going beside the program change its directory's time, not the image.
  m_dir.write("unrelated", "x");
  EXPECT_EQ(key_of({"a"}), first);
  auto plan = this->plan(spec_for(script));
  ASSERT_TRUE(plan.has_value());
  for (const auto& [path, entry] : plan->tree.entries()) {
    if (entry.type == RootfsEntry::Type::Directory) {
      EXPECT_EQ(entry.mtime, 0) << path;
    }
  }

  EXPECT_NE(key_of({"b"}), first);
  m_dir.write("tool.sh", "#!/bin/sh\necho two\n", 0755);
  EXPECT_NE(key_of({"a"}), first);
}

// Changes the current directory for one test.
class InDirectory {
 public:
  explicit InDirectory(const std::filesystem::path& dir) : m_old(std::filesystem::current_path()) {
    std::filesystem::current_path(dir);
  }
  ~InDirectory() { std::filesystem::current_path(m_old); }

 private:
  std::filesystem::path m_old;
};

TEST_F(ImagePlanTest, ArgumentsThatNameHostFilesComeAlongAndTheGuestStartsBesideThem) {
  std::string notes = m_dir.write("work/notes.txt", "hello\n");
  InDirectory here(m_dir.path() / "work");
  auto plan = this->plan(spec_for("/bin/cat", {"notes.txt", "-n", "absent.txt"}));
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  ASSERT_NE(resolve(plan->tree, notes), nullptr);
  EXPECT_EQ(resolve(plan->tree, notes)->host_path, notes);
  EXPECT_EQ(plan->launch.workdir, m_dir / "work");
  EXPECT_EQ(plan->launch.argv, (std::vector<std::string>{"/bin/cat", "notes.txt", "-n", "absent.txt"}));

  // --workdir wins; --no-auto packs nothing the user did not name and starts at the root.
  ImageSpec spec = spec_for("/bin/cat", {"notes.txt"});
  spec.workdir = "/srv";
  plan = this->plan(spec);
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  EXPECT_EQ(plan->launch.workdir, "/srv");
  spec = spec_for("/bin/cat", {"notes.txt"});
  spec.auto_pack = false;
  plan = this->plan(spec);
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  EXPECT_EQ(resolve(plan->tree, notes), nullptr);
  EXPECT_EQ(plan->launch.workdir, "/");
}

TEST_F(ImagePlanTest, EveryProgramGetsTheLocaleAndTheCaCertificates) {
  auto plan = this->plan(spec_for("/bin/true"));
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  if (std::filesystem::exists("/usr/lib/locale/C.utf8/LC_CTYPE")) {
    EXPECT_NE(resolve(plan->tree, "/usr/lib/locale/C.utf8/LC_CTYPE"), nullptr);
  }
  if (std::filesystem::exists("/etc/ssl/certs/ca-certificates.crt")) {
    EXPECT_NE(resolve(plan->tree, "/etc/ssl/certs/ca-certificates.crt"), nullptr);
  }
  // The private keys beside them never come along.
  for (const auto& [path, entry] : plan->tree.entries())
    EXPECT_FALSE(path.starts_with("etc/ssl/private/")) << path;
}

TEST_F(ImagePlanTest, PythonBringsItsStandardLibraryUnlessToldNotTo) {
  if (!std::filesystem::exists("/usr/bin/python3")) GTEST_SKIP() << "python3 is not installed";
  auto plan = this->plan(spec_for("/usr/bin/python3", {"-c", "print(1)"}));
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  std::string version = std::filesystem::canonical("/usr/bin/python3").filename().string().substr(6);
  std::string encodings = "/usr/lib/python" + version + "/encodings/__init__.py";
  ASSERT_NE(resolve(plan->tree, encodings), nullptr) << encodings;
  // Extension modules bring their libraries (_ssl needs libssl).
  bool libssl = false;
  for (const auto& [path, entry] : plan->tree.entries()) libssl |= path.find("/libssl.so") != std::string::npos;
  EXPECT_TRUE(libssl);
  // Python's static library and build files (python3-dev) are for embedding, never loaded.
  for (const auto& [path, entry] : plan->tree.entries())
    EXPECT_EQ(path.find("/config-" + version), std::string::npos) << path;

  ImageSpec spec = spec_for("/usr/bin/python3", {"-c", "print(1)"});
  spec.auto_pack = false;
  plan = this->plan(spec);
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  EXPECT_EQ(resolve(plan->tree, encodings), nullptr);
}

TEST(LocateProgram, PathsAndNames) {
  EXPECT_EQ(locate_program("/usr/bin/../bin/true").value(),
            std::filesystem::canonical("/usr/bin/true").string());
  EXPECT_EQ(locate_program("/bin/./true").value(), "/bin/true");
  auto found = locate_program("true");
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(found->starts_with("/")) << *found;
  EXPECT_FALSE(locate_program("").has_value());
}

}  // namespace
