// VM tests of real programs that start processes: Python's multiprocessing (fork and spawn),
// a static Go program's os/exec, bash scripts, make driving gcc (cc1, as, collect2 and ld are
// all exec'd), a C program that forks and reaps 1,000 children, and one that looks for stale
// TLB entries after fork, mprotect and munmap.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "nimbus_runner.h"
#include "temp_dir.h"

namespace {

using Args = std::vector<std::string>;

NimbusRun run(const Args& program_and_args, int timeout_seconds = 240) {
  Args args{"run", "--timeout", std::to_string(timeout_seconds), "--net", "none", "--cpus", "2"};
  args.insert(args.end(), program_and_args.begin(), program_and_args.end());
  return run_nimbus(args, RunLimits{std::chrono::seconds(timeout_seconds + 60)});
}

TEST(ProcessPrograms, AThousandChildrenForkedAndReaped) {
  TempDir dir;
  std::string source = dir.write_file("fork1000.c", R"c(
#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>
int main(void) {
  int reaped = 0;
  long sum = 0;
  for (int i = 0; i < 1000; i++) {
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 1; }
    if (pid == 0) _exit(i % 256);
  }
  int status;
  while (wait(&status) > 0) { reaped++; sum += WEXITSTATUS(status); }
  printf("reaped %d sum %ld\n", reaped, sum);
  return 0;
}
)c");
  std::string program = (dir.path() / "fork1000").string();
  ASSERT_EQ(std::system(("cc -O2 -static -o " + program + " " + source).c_str()), 0);
  NimbusRun r = run({program});
  EXPECT_EQ(r.status, 0) << r.output();
  EXPECT_EQ(r.out, "reaped 1000 sum 124716\n") << r.output();
}

// tests/apps/tlb_stress.c on two CPUs, with PCIDs where the CPU has them and without
// (`nopcid`); the boot log says which. QEMU 7.2's TCG has no PCIDs (`-cpu max,+pcid` warns
// that TCG does not support it), and under TCG every CR3 load empties QEMU's own TLB anyway:
// what this catches here is a shootdown that misses a CPU which has the space loaded. The
// PCID path itself runs on KVM (and a QEMU whose TCG has PCIDs); its slot logic has unit
// tests (tests/unit/pcid_slots_test.cc).
class TlbStress : public testing::TestWithParam<bool> {};

TEST_P(TlbStress, ForkMprotectAndManyProcessesSeeNoStaleEntries) {
  bool allow_pcids = GetParam();
  Args args{"--kernel-arg", "verbose"};
  if (!allow_pcids) args.insert(args.end(), {"--kernel-arg", "nopcid"});
  args.push_back(build_dir() + "/apps/tlb_stress-static");
  NimbusRun r = run(args);
  EXPECT_EQ(r.status, 0) << r.output();
  std::string log = r.output();
  if (allow_pcids) {
    EXPECT_TRUE(log.find("tlb: PCIDs on") != std::string::npos ||
                log.find("tlb: PCIDs off (the CPU has none)") != std::string::npos)
        << log;
  } else {
    EXPECT_NE(log.find("tlb: PCIDs off (nopcid)"), std::string::npos) << log;
  }
  EXPECT_NE(r.out.find("copy-on-write after fork: 100 rounds, 0 bad\n"
                       "mprotect under a running thread: 300 rounds, 300 faults, 0 writes to a read-only page\n"
                       "processes mapping and unmapping: 9 of 9 saw only their own data\n"),
            std::string::npos)
      << log;
}

INSTANTIATE_TEST_SUITE_P(ProcessPrograms, TlbStress, testing::Bool(),
                         [](const testing::TestParamInfo<bool>& info) {
                           return info.param ? "PcidsWhereTheCpuHasThem" : "Nopcid";
                         });

TEST(ProcessPrograms, GoOsExec) {
  NimbusRun r = run({"--add", "/bin/busybox", build_dir() + "/apps/go-exec"});
  EXPECT_EQ(r.status, 0) << r.output();
  EXPECT_EQ(r.out,
            "output \"from the child\\n\" <nil>\n"
            "exit status 3\n"
            "filter \"THROUGH TWO PIPES\" <nil>\n"
            "missing: true\n"
            "environment \"inherited\\n\" <nil>\n"
            "sequential children 20\n")
      << r.output();
}

class PythonMultiprocessing : public testing::TestWithParam<const char*> {};

TEST_P(PythonMultiprocessing, PoolMapAndProcessWithQueue) {
  if (!std::filesystem::exists("/usr/bin/python3")) GTEST_FAIL() << "python3 is not installed (scripts/install-deps)";
  TempDir dir;
  std::string script = dir.write_file("pool.py", R"py(
import multiprocessing as mp, os, sys
def square(x): return x * x
if __name__ == "__main__":
    method = sys.argv[1]
    context = mp.get_context(method)
    with context.Pool(2) as pool:
        print(method, sum(pool.map(square, range(100))))
    queue = context.Queue()
    child = context.Process(target=queue.put, args=(os.getpid(),))
    child.start()
    print(method, "queue", queue.get() == os.getpid())
    child.join()
    print(method, "exit code", child.exitcode)
)py");
  std::string method = GetParam();
  NimbusRun r = run({"--memory", "384M", "--add", script + ":/pool.py", "/usr/bin/python3", "/pool.py", method}, 400);
  EXPECT_EQ(r.status, 0) << r.output();
  EXPECT_EQ(r.out, method + " 328350\n" + method + " queue True\n" + method + " exit code 0\n") << r.output();
}

INSTANTIATE_TEST_SUITE_P(StartMethods, PythonMultiprocessing, testing::Values("fork", "spawn"));

TEST(ProcessPrograms, BashScript) {
  if (!std::filesystem::exists("/usr/bin/bash")) GTEST_FAIL() << "bash is not installed";
  TempDir dir;
  std::string script = dir.write_file("script.sh", R"sh(#!/usr/bin/bash
set -u
f() { local n=$1; (( n <= 1 )) && { echo 1; return; }; echo $(( n * $(f $((n - 1))) )); }
echo "factorial $(f 6)"
words=$(printf '%s\n' cherry apple banana | /bin/busybox sort | /bin/busybox tr '\n' ' ')
echo "sorted $words"
/bin/busybox sh -c 'exit 4' || echo "status $?"
count=0
while read -r line; do count=$((count + ${#line})); done < <(printf 'ab\ncde\n')
echo "process substitution $count"
/bin/busybox sh -c 'exit 2' &
wait $!; echo "background $?"
trap 'echo trapped' EXIT
/bin/busybox true | /bin/busybox false; echo "pipestatus ${PIPESTATUS[*]}"
exit 6
)sh", 0755);
  NimbusRun r = run({"--add", "/bin/busybox", "--add", script + ":/script.sh", "/usr/bin/bash", "/script.sh"});
  EXPECT_EQ(r.status, 6) << r.output();
  EXPECT_EQ(r.out,
            "factorial 720\nsorted apple banana cherry \nstatus 4\nprocess substitution 5\nbackground 2\n"
            "pipestatus 0 1\ntrapped\n")
      << r.output();
}

// make runs gcc, which execs cc1, as and collect2, which execs ld; then make runs the result.
// The image packs gcc's own programs and the C run-time objects (about 40 MB).
TEST(ProcessPrograms, MakeBuildsACFileWithGcc) {
  const std::string gcc_dir = "/usr/lib/gcc/x86_64-linux-gnu/12";
  if (!std::filesystem::exists("/usr/bin/make") || !std::filesystem::exists(gcc_dir + "/cc1"))
    GTEST_FAIL() << "make and gcc are not installed";
  TempDir dir;
  std::filesystem::create_directory(dir.path() / "src");
  dir.write_file("src/Makefile",
                 "run: hello\n\t./hello\nhello: hello.o\n\tgcc -o hello hello.o\nhello.o: hello.c\n\tgcc -c -O2 hello.c\n");
  // No headers but the one cc1 always reads: the image holds no more of /usr/include.
  dir.write_file("src/hello.c", "int puts(const char*);\nint main(void) { puts(\"built by make\"); return 0; }\n");
  Args args{"--memory", "512M", "--add", (dir.path() / "src").string() + ":/src",
            "--add", "/usr/bin/x86_64-linux-gnu-gcc-12:/usr/bin/gcc",
            "--add", "/usr/bin/x86_64-linux-gnu-as:/usr/bin/as",
            "--add", "/usr/bin/x86_64-linux-gnu-ld.bfd:/usr/bin/ld", "--add", "/usr/include/stdc-predef.h"};
  for (const char* file : {"cc1", "collect2", "liblto_plugin.so", "crtbeginS.o", "crtendS.o", "libgcc.a", "libgcc_s.so"})
    args.insert(args.end(), {"--add", gcc_dir + "/" + file});
  for (const char* file : {"Scrt1.o", "crti.o", "crtn.o", "libc.so", "libc_nonshared.a", "libgcc_s.so.1"}) {
    std::string path = std::string("/usr/lib/x86_64-linux-gnu/") + file;
    if (std::filesystem::exists(path)) args.insert(args.end(), {"--add", path});
  }
  // The image is a disk image (over 16 MiB of files): /src is writable because it is the
  // working directory, which the guest keeps in RAM over the read-only disk.
  args.insert(args.end(), {"--workdir", "/src", "/usr/bin/make"});
  NimbusRun r = run(args, 500);
  EXPECT_EQ(r.status, 0) << r.output();
  EXPECT_EQ(r.out, "gcc -c -O2 hello.c\ngcc -o hello hello.o\n./hello\nbuilt by make\n")
      << r.output();
}

}  // namespace
