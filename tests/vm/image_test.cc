// Tests of `nimbus build` and of `nimbus run` with a PROGRAM or an IMAGE, through the CLI: the
// image's contents, the build cache, and the refusals of bad images and programs. Nothing here
// needs the kernel to run the program (every run is a --dry-run).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "nimbus_runner.h"
#include "temp_dir.h"

namespace {

using Args = std::vector<std::string>;

// The CLI's documented statuses (see nimbus --help).
constexpr int kUsage = 2;
constexpr int kBadImage = 65;
constexpr int kBadInput = 66;

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// What a shell command prints on stdout.
std::string command_output(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return output;
  std::array<char, 4096> buffer;
  while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe))
    output.append(buffer.data(), n);
  ::pclose(pipe);
  return output;
}

std::string nul_joined(const std::vector<std::string>& strings) {
  std::string out;
  for (const std::string& s : strings) out += s + '\0';
  return out;
}

bool have_cpio() {
  return std::system("command -v cpio >/dev/null 2>&1") == 0;
}

// The word after `option` in a --dry-run command line.
std::string word_after(const std::string& line, const std::string& option) {
  std::istringstream words(line);
  for (std::string word; words >> word;)
    if (word == option && words >> word) return word;
  return {};
}

// Each test gets its own cache, so builds and unpacked images start from nothing.
class ImageTest : public ::testing::Test {
 protected:
  NimbusRun nimbus(const Args& args) {
    return run_nimbus(args,
                      {.environment = {{"XDG_CACHE_HOME", (m_dir.path() / "cache").string()}}});
  }
  // `nimbus run --dry-run` under TCG (no KVM probe); returns the QEMU command line.
  NimbusRun dry_run(Args args) {
    args.insert(args.begin(), {"run", "--accel", "tcg", "--dry-run"});
    return nimbus(args);
  }
  std::string build(const Args& extra, const std::string& name = "out.nimbus") {
    std::string image = (m_dir.path() / name).string();
    Args args{"build", "-o", image};
    args.insert(args.end(), extra.begin(), extra.end());
    NimbusRun run = nimbus(args);
    EXPECT_EQ(run.status, 0) << describe(args, run);
    return image;
  }
  // The initrd a dry run of `args` would boot.
  std::string initrd_of(const Args& args) {
    NimbusRun run = dry_run(args);
    EXPECT_EQ(run.status, 0) << describe(args, run);
    return word_after(run.out, "-initrd");
  }
  std::vector<std::string> archive_names(const std::string& initrd) {
    std::vector<std::string> names;
    std::istringstream lines(command_output("cpio -it --quiet < '" + initrd + "'"));
    for (std::string line; std::getline(lines, line);) names.push_back(line);
    return names;
  }
  std::string archive_file(const std::string& initrd, const std::string& name) {
    return command_output("cpio -i --quiet --to-stdout '" + name + "' < '" + initrd + "'");
  }
  // Images of more than 16 MiB of files keep them on an ext4 disk: the drive with id nimbus-root
  // in a dry run's QEMU command line, read with debugfs (e2fsprogs).
  std::string root_disk_of(const Args& args) {
    NimbusRun run = dry_run(args);
    EXPECT_EQ(run.status, 0) << describe(args, run);
    std::istringstream words(run.out);
    for (std::string word; words >> word;) {
      if (word.find("id=nimbus-root") == std::string::npos || word.find("file=") == std::string::npos) continue;
      std::size_t begin = word.find("file=") + 5;
      return word.substr(begin, word.find(",format=raw") - begin);
    }
    return {};
  }
  bool disk_has(const std::string& disk, const std::string& path) {
    return command_output("debugfs -R \"stat /" + path + "\" '" + disk + "' 2>&1").find("Inode:") != std::string::npos;
  }
  std::string disk_file(const std::string& disk, const std::string& path) {
    return command_output("debugfs -R \"cat /" + path + "\" '" + disk + "' 2>/dev/null");
  }

  TempDir m_dir;
};

bool has(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

TEST_F(ImageTest, BuildWritesAnImageWithTheProgramItsLoaderAndTheLaunchDescription) {
  std::string image = build({"--env", "GREETING=hi", "--workdir", "/tmp", "/bin/ls", "-l", "/"});
  EXPECT_TRUE(read_file(image).starts_with("NIMBUS-IMAGE\n"));
  if (!have_cpio()) GTEST_SKIP() << "cpio is not installed (scripts/install-deps adds it)";

  std::string initrd = initrd_of({image});
  ASSERT_FALSE(initrd.empty());
  std::vector<std::string> names = archive_names(initrd);
  for (const char* name : {".nimbus", ".nimbus/argv", ".nimbus/env", ".nimbus/exe",
                           ".nimbus/workdir", "lib64", "etc/ld.so.cache", "tmp"})
    EXPECT_TRUE(has(names, name)) << name;
  EXPECT_EQ(archive_file(initrd, ".nimbus/argv"), nul_joined({"/bin/ls", "-l", "/"}));
  EXPECT_EQ(archive_file(initrd, ".nimbus/exe"), "/bin/ls");
  EXPECT_EQ(archive_file(initrd, ".nimbus/workdir"), "/tmp");
  EXPECT_TRUE(contains(archive_file(initrd, ".nimbus/env"), std::string("\0GREETING=hi\0", 13)));
  bool has_libc = false;
  for (const std::string& name : names) has_libc |= name.ends_with("/libc.so.6");
  EXPECT_TRUE(has_libc);
}

TEST_F(ImageTest, DebianPython3IsPackedThroughItsSymlink) {
  if (!std::filesystem::exists("/usr/bin/python3")) GTEST_SKIP() << "no /usr/bin/python3";
  if (!have_cpio()) GTEST_SKIP() << "cpio is not installed";
  std::string manifest = m_dir.write_file("py.manifest",
                                          "# Debian's interpreter, not a pyenv shim\n"
                                          "program /usr/bin/python3\n"
                                          "arg -c\n"
                                          "arg \"print('hello, world')\"\n"
                                          "env PYTHONDONTWRITEBYTECODE=1\n");
  std::string image = build({"--manifest", manifest});
  std::string disk = root_disk_of({image});
  ASSERT_FALSE(disk.empty());
  EXPECT_TRUE(disk_has(disk, "usr/bin/python3"));
  std::string target = std::filesystem::read_symlink("/usr/bin/python3").string();
  EXPECT_TRUE(disk_has(disk, "usr/bin/" + target)) << target;
  EXPECT_EQ(disk_file(disk, ".nimbus/argv"), nul_joined({"/usr/bin/python3", "-c", "print('hello, world')"}));
}

TEST_F(ImageTest, AScriptRunsThroughItsInterpreter) {
  if (!have_cpio()) GTEST_SKIP() << "cpio is not installed";
  // Shaped like a pyenv shim found on PATH: "#!/usr/bin/env bash".
  std::string bin = (m_dir.path() / "shims").string();
  std::filesystem::create_directory(bin);
  m_dir.write_file("shims/tool", "#!/usr/bin/env bash\necho from the shim\n", 0755);
  std::string image = (m_dir.path() / "tool.nimbus").string();
  Args args{"build", "-o", image, "tool", "x"};
  NimbusRun run =
      run_nimbus(args, {.environment = {{"PATH", bin + ":/usr/bin:/bin"},
                                        {"XDG_CACHE_HOME", (m_dir.path() / "cache").string()}}});
  ASSERT_EQ(run.status, 0) << describe(args, run);
  std::string initrd = initrd_of({image});
  // env cannot start bash in the guest, so bash is found on the guest's PATH and runs directly.
  std::string bash = std::filesystem::exists("/usr/local/bin/bash") ? "/usr/local/bin/bash"
                     : std::filesystem::exists("/usr/bin/bash")     ? "/usr/bin/bash"
                                                                    : "/bin/bash";
  EXPECT_EQ(archive_file(initrd, ".nimbus/exe"), bash);
  EXPECT_EQ(archive_file(initrd, ".nimbus/argv"), nul_joined({bash, bin + "/tool", "x"}));
  EXPECT_TRUE(has(archive_names(initrd), (bin + "/tool").substr(1)));
}

TEST_F(ImageTest, DryRunOfAProgramBootsItsInitrd) {
  NimbusRun run = dry_run({"/bin/true"});
  ASSERT_EQ(run.status, 0) << describe({"/bin/true"}, run);
  std::string initrd = word_after(run.out, "-initrd");
  std::string kernel = word_after(run.out, "-kernel");
  EXPECT_TRUE(initrd.ends_with("/initrd.cpio")) << run.out;
  EXPECT_TRUE(std::filesystem::exists(initrd)) << run.out;
  EXPECT_TRUE(std::filesystem::exists(kernel)) << run.out;
  EXPECT_TRUE(initrd.starts_with((m_dir.path() / "cache/nimbus/images/").string())) << run.out;
}

TEST_F(ImageTest, SecondRunOfAProgramReusesTheBuild) {
  std::string script = m_dir.write_file("hello.sh", "#!/bin/sh\necho one\n", 0755);
  Args args{"--verbose", script, "arg"};
  NimbusRun first = dry_run(args);
  ASSERT_EQ(first.status, 0) << describe(args, first);
  EXPECT_TRUE(contains(first.err, "nimbus: built image ")) << describe(args, first);
  std::string initrd = word_after(first.out, "-initrd");
  auto built_at = std::filesystem::last_write_time(initrd);

  NimbusRun second = dry_run(args);
  ASSERT_EQ(second.status, 0) << describe(args, second);
  EXPECT_TRUE(contains(second.err, "nimbus: using the cached build ")) << describe(args, second);
  EXPECT_FALSE(contains(second.err, "built image")) << describe(args, second);
  EXPECT_EQ(word_after(second.out, "-initrd"), initrd);
  EXPECT_EQ(std::filesystem::last_write_time(initrd), built_at);

  // Other arguments, or a changed file, are another build.
  NimbusRun other_args = dry_run({"--verbose", script, "other"});
  EXPECT_TRUE(contains(other_args.err, "nimbus: built image ")) << describe(args, other_args);
  m_dir.write_file("hello.sh", "#!/bin/sh\necho two, longer\n", 0755);
  NimbusRun changed = dry_run(args);
  EXPECT_TRUE(contains(changed.err, "nimbus: built image ")) << describe(args, changed);
  EXPECT_NE(word_after(changed.out, "-initrd"), initrd);
}

TEST_F(ImageTest, ImageKernelWordsReachTheCommandLine) {
  std::string image = build({"--kernel-arg", "nimbus-test-word", "/bin/true"});
  NimbusRun run = dry_run({"--kernel-arg", "after", image});
  ASSERT_EQ(run.status, 0) << describe({image}, run);
  EXPECT_TRUE(contains(run.out, " nimbus-test-word after'")) << run.out;
  EXPECT_TRUE(contains(run.out, " -initrd ")) << run.out;
}

TEST_F(ImageTest, ABadImageIsRefusedWithStatus65) {
  std::string image = build({"/bin/true"});
  std::string good = read_file(image);
  struct Damage {
    const char* what;
    std::string bytes;
    const char* says;
  };
  std::string flipped = good;
  flipped[good.size() / 2] ^= 0x40;
  std::string newer = good;
  newer[16] = 9;
  std::vector<Damage> damages = {
      {"truncated", good.substr(0, good.size() - 100), "truncated"},
      {"header only", good.substr(0, 200), "truncated"},
      {"magic only", good.substr(0, 13), "truncated"},
      {"flipped byte", flipped, "SHA-256"},
      {"newer version", newer, "format version 9"},
      {"trailing junk", good + "junk", "unexpected bytes"},
  };
  for (const Damage& damage : damages) {
    std::string bad = m_dir.write_file("bad.nimbus", damage.bytes);
    NimbusRun run = dry_run({bad});
    EXPECT_EQ(run.status, kBadImage) << damage.what << "\n" << describe({bad}, run);
    EXPECT_TRUE(contains(run.err, "nimbus: " + bad + ": not a usable Nimbus image ("))
        << damage.what << "\n"
        << run.err;
    EXPECT_TRUE(contains(run.err, damage.says)) << damage.what << "\n" << run.err;
    EXPECT_EQ(run.out, "") << damage.what;
  }
}

TEST_F(ImageTest, MalformedProgramsAreRefusedWithStatus66) {
  std::string text = m_dir.write_file("x", "hello\n", 0755);
  std::ifstream ls("/bin/ls", std::ios::binary);
  std::string ls_start(1000, '\0');
  ls.read(ls_start.data(), static_cast<std::streamsize>(ls_start.size()));
  std::string truncated = m_dir.write_file("ls-truncated", ls_start, 0755);
  // ELF headers written by hand: identification, then e_type and e_machine.
  auto header = [](char elf_class, std::uint16_t machine) {
    std::string bytes = std::string(
                            "\x7f"
                            "ELF",
                            4) +
                        elf_class + std::string("\x01\x01", 2);
    bytes.resize(16, '\0');
    bytes += std::string("\x02\x00", 2);
    bytes += static_cast<char>(machine & 0xff);
    bytes += static_cast<char>(machine >> 8);
    bytes.resize(128, '\0');
    return bytes;
  };
  std::string i386 = m_dir.write_file("i386", header(1, 3), 0755);
  std::string arm = m_dir.write_file("arm", header(2, 40), 0755);

  struct Case {
    std::string program;
    const char* reason;
  };
  for (const Case& c :
       {Case{text, "(not an ELF file, and no #! line)"}, Case{truncated, "(truncated: "},
        Case{i386, "(32-bit ELF)"}, Case{arm, "(machine is ARM)"}}) {
    for (Args args : {Args{"build", "-o", (m_dir.path() / "o.nimbus").string(), c.program},
                      Args{"run", "--accel", "tcg", "--dry-run", c.program}}) {
      NimbusRun run = nimbus(args);
      EXPECT_EQ(run.status, kBadInput) << describe(args, run);
      EXPECT_TRUE(
          contains(run.err, "nimbus: " + c.program + ": not an x86-64 ELF executable " + c.reason))
          << describe(args, run);
    }
  }
  EXPECT_FALSE(std::filesystem::exists(m_dir.path() / "o.nimbus"));

  Args missing{"build", "nimbus-no-such-program"};
  NimbusRun run = nimbus(missing);
  EXPECT_EQ(run.status, kBadInput) << describe(missing, run);
  EXPECT_TRUE(contains(run.err, "nimbus: nimbus-no-such-program: not found on PATH")) << run.err;
}

TEST_F(ImageTest, UsageMistakes) {
  std::string image = build({"/bin/true"});
  for (const Args& args : {Args{image, "extra-argument"}, Args{"--env", "A=1", image},
                           Args{"--env", "A=1"}, Args{"--add", "/etc/hostname"}}) {
    NimbusRun run = dry_run(args);
    EXPECT_EQ(run.status, kUsage) << describe(args, run);
  }
  Args no_program{"build"};
  NimbusRun run = nimbus(no_program);
  EXPECT_EQ(run.status, kUsage) << describe(no_program, run);
  EXPECT_TRUE(contains(run.err, "no program to pack")) << run.err;
}

TEST_F(ImageTest, HelpDescribesBuildAndTheStatuses) {
  for (const Args& args :
       {Args{"--help"}, Args{"build", "--help"}, Args{"run", "--verbose", "--help"}}) {
    NimbusRun run = nimbus(args);
    EXPECT_EQ(run.status, 0) << describe(args, run);
    EXPECT_TRUE(contains(run.out, "build [options] PROGRAM")) << describe(args, run);
    EXPECT_TRUE(contains(run.out, "65 IMAGE is")) << describe(args, run);
  }
}

}  // namespace
