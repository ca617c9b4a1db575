// VM tests of language runtimes run as people type them: no --add, no --memory, scripts named
// relative to the current directory, locales, the CA bundle, and the memory refusal.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "nimbus_runner.h"
#include "temp_dir.h"

namespace {

using Args = std::vector<std::string>;
constexpr const char* kTimeout = "240";

// PATH as a fresh Debian has it: this host's may start with version-manager shims (pyenv),
// which are bash scripts that a one-process VM cannot run.
const std::map<std::string, std::string> kEnvironment{{"PATH", "/usr/local/bin:/usr/bin:/bin"}};

NimbusRun run_program(const Args& program_and_args, const std::string& directory = "") {
  Args args{"run", "--timeout", kTimeout};
  args.insert(args.end(), program_and_args.begin(), program_and_args.end());
  RunLimits limits{std::chrono::seconds(300), kEnvironment};
  limits.working_directory = directory;
  return run_nimbus(args, limits);
}

// The program's stdout on the host, with the same PATH.
std::string on_host(const std::string& command) {
  std::string output;
  FILE* pipe = popen(("PATH=/usr/local/bin:/usr/bin:/bin " + command + " 2>/dev/null").c_str(), "r");
  if (!pipe) return "popen failed";
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), n);
  pclose(pipe);
  return output;
}

#define SKIP_UNLESS_INSTALLED(path, package) \
  if (!std::filesystem::exists(path))        \
  GTEST_SKIP() << path << " is not installed (Debian package " << package << ")"

TEST(Runtimes, PythonPrintsWithNoOptions) {
  SKIP_UNLESS_INSTALLED("/usr/bin/python3", "python3");
  NimbusRun run = run_program({"python3", "-c", "print(1)"});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, "1\n") << run.output();
}

TEST(Runtimes, PythonScriptFromAScratchDirectory) {
  SKIP_UNLESS_INSTALLED("/usr/bin/python3", "python3");
  TempDir dir;
  std::string here = std::filesystem::canonical(dir.path()).string();
  dir.write_file("data.txt", "from the host\n");
  dir.write_file("app.py", R"py(
import os, sys
print(sys.argv[0], os.getcwd() == sys.argv[1])
print(open("data.txt").read(), end="")
)py");
  NimbusRun run = run_program({"python3", "app.py", here, "data.txt"}, here);
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, "app.py True\nfrom the host\n") << run.output();
}

TEST(Runtimes, PerlWithAStandardModule) {
  SKIP_UNLESS_INSTALLED("/usr/bin/perl", "perl");
  std::string code = R"(print JSON::PP->new->canonical->encode({b => [1, 2], a => "x"}), "\n")";
  NimbusRun run = run_program({"perl", "-MJSON::PP", "-e", code});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, "{\"a\":\"x\",\"b\":[1,2]}\n") << run.output();
}

TEST(Runtimes, TheDefaultLocaleIsPacked) {
  SKIP_UNLESS_INSTALLED("/usr/bin/python3", "python3");
  // setlocale(LC_ALL, "") fails when LANG names a locale that is not there.
  NimbusRun run = run_program(
      {"python3", "-c",
       "import locale; print(locale.setlocale(locale.LC_ALL, ''), locale.getpreferredencoding())"});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, "C.UTF-8 UTF-8\n") << run.output();
}

TEST(Runtimes, CoreutilsCountAndSortInTheUtf8Locale) {
  TempDir dir;
  RunLimits limits{std::chrono::seconds(300), kEnvironment};
  limits.stdin_file = dir.write_file("text", "\xc3\xa9t\xc3\xa9\nb\na\n");
  // wc -m counts characters, which only a UTF-8 locale makes different from bytes.
  NimbusRun wc = run_nimbus({"run", "--timeout", kTimeout, "/usr/bin/wc", "-m"}, limits);
  EXPECT_EQ(wc.status, 0) << wc.output();
  EXPECT_EQ(wc.out, "8\n") << wc.output();
  NimbusRun sort = run_nimbus({"run", "--timeout", kTimeout, "/usr/bin/sort"}, limits);
  EXPECT_EQ(sort.status, 0) << sort.output();
  EXPECT_EQ(sort.out, on_host("LANG=C.UTF-8 sort <" + limits.stdin_file)) << sort.output();
}

TEST(Runtimes, TlsVerificationFindsTheCaBundle) {
  SKIP_UNLESS_INSTALLED("/usr/bin/python3", "python3");
  std::string code =
      "import ssl; print(ssl.create_default_context().cert_store_stats()['x509_ca'])";
  std::string expected = on_host("python3 -c \"" + code + "\"");
  ASSERT_NE(expected, "0\n");
  NimbusRun run = run_program({"python3", "-c", code});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, expected) << run.output();
}

TEST(Runtimes, MemoryThatCannotHoldTheImageIsRefusedBeforeQemuStarts) {
  SKIP_UNLESS_INSTALLED("/usr/bin/python3", "python3");
  // A dry run prints the QEMU command line it would start; the refusal comes before it.
  // Python's image keeps its files on a disk: only the kernel and /etc must fit.
  NimbusRun run = run_program({"--dry-run", "--memory", "4M", "python3", "-c", "print(1)"});
  EXPECT_EQ(run.status, 2) << run.output();
  EXPECT_EQ(run.out, "") << run.output();
  EXPECT_NE(run.err.find("needs at least"), std::string::npos) << run.output();
  EXPECT_NE(run.err.find("use --memory"), std::string::npos) << run.output();
}

TEST(Runtimes, NoAutoLeavesTheStandardLibraryOut) {
  SKIP_UNLESS_INSTALLED("/usr/bin/python3", "python3");
  NimbusRun run = run_program({"--no-auto", "python3", "-c", "print(1)"});
  EXPECT_NE(run.status, 0) << run.output();
  EXPECT_NE(run.output().find("encodings"), std::string::npos) << run.output();
}

}  // namespace

namespace {

TEST(Runtimes, RubyPhpAndLuaPrintWithNoOptions) {
  struct Case {
    const char* program;
    const char* package;
    Args args;
    const char* expected;
  };
  for (const Case& c : {Case{"/usr/bin/ruby", "ruby", {"ruby", "-e", "p [1, 'x'].to_s"}, "\"[1, \\\"x\\\"]\"\n"},
                        Case{"/usr/bin/php", "php-cli", {"php", "-r", "echo json_encode([1, 'x']);"}, "[1,\"x\"]"},
                        Case{"/usr/bin/lua5.4", "lua5.4", {"lua5.4", "-e", "print(string.format('%d %s', 1, 'x'))"}, "1 x\n"}}) {
    if (!std::filesystem::exists(c.program)) {
      std::printf("skipping %s: not installed (Debian package %s)\n", c.program, c.package);
      continue;
    }
    NimbusRun run = run_program(c.args);
    EXPECT_EQ(run.status, 0) << c.program << "\n" << run.output();
    EXPECT_EQ(run.out, c.expected) << c.program << "\n" << run.output();
  }
}

TEST(Runtimes, NodePrintsWithNoOptions) {
  SKIP_UNLESS_INSTALLED("/usr/bin/node", "nodejs");
  // The program's stdout is a terminal in the guest, so node would colour the number.
  NimbusRun run = run_program({"--env", "NODE_DISABLE_COLORS=1", "node", "-e", "console.log(1 + 1)"});
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, "2\n") << run.output();
}

TEST(Runtimes, JavaRunsAJarFromTheCurrentDirectory) {
  SKIP_UNLESS_INSTALLED("/usr/bin/java", "openjdk-17-jre-headless");
  NimbusRun version = run_program({"java", "-version"});
  EXPECT_EQ(version.status, 0) << version.output();
  EXPECT_NE(version.err.find("openjdk version"), std::string::npos) << version.output();
  if (!std::filesystem::exists("/usr/bin/javac") || !std::filesystem::exists("/usr/bin/jar"))
    GTEST_SKIP() << "javac and jar are not installed (openjdk-17-jdk-headless): no jar to run";
  TempDir dir;
  std::string here = std::filesystem::canonical(dir.path()).string();
  dir.write_file("Hello.java",
                 "public class Hello { public static void main(String[] a) {"
                 " System.out.println(\"hello \" + a[0] + \" \" + (6 * 7)); } }\n");
  ASSERT_EQ(std::system(("cd " + here + " && javac Hello.java && jar cfe app.jar Hello Hello.class")
                            .c_str()),
            0);
  // The JVM's shared-memory statistics file needs flock(2), which the guest lacks.
  NimbusRun run = run_program({"java", "-XX:-UsePerfData", "-jar", "app.jar", "x"}, here);
  EXPECT_EQ(run.status, 0) << run.output();
  EXPECT_EQ(run.out, "hello x 42\n") << run.output();
}

}  // namespace
