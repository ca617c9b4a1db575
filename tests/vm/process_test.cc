// VM tests of processes through real shells: busybox and dash pipelines, $(...), exit
// statuses and deaths by signal propagated to the VM's status.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "nimbus_runner.h"

namespace {

using Args = std::vector<std::string>;

NimbusRun run(const Args& program_and_args) {
  Args args{"run", "--timeout", "120", "--net", "none", "--cpus", "2"};
  args.insert(args.end(), program_and_args.begin(), program_and_args.end());
  return run_nimbus(args, RunLimits{std::chrono::seconds(180)});
}

TEST(Processes, BusyboxPipeline) {
  NimbusRun r = run({"/bin/busybox", "sh", "-c", "echo a | wc -c"});
  EXPECT_EQ(r.status, 0) << r.output();
  EXPECT_EQ(r.out, "2\n") << r.output();
}

TEST(Processes, BusyboxCommandSubstitutionSubshellsAndStatuses) {
  NimbusRun r = run({"/bin/busybox", "sh", "-c",
                     "x=$(echo hello | tr a-z A-Z); echo $x; (exit 7); echo sub $?; busybox sh -c 'exit 3'; "
                     "echo nested $?; for i in 1 2 3; do echo $i | cat; done; exit 5"});
  EXPECT_EQ(r.status, 5) << r.output();
  EXPECT_EQ(r.out, "HELLO\nsub 7\nnested 3\n1\n2\n3\n") << r.output();
}

TEST(Processes, DeathBySignalIsTheVmStatus) {
  NimbusRun r = run({"/bin/busybox", "sh", "-c", "kill -9 $$; echo not reached"});
  EXPECT_EQ(r.status, 137) << r.output();
  EXPECT_EQ(r.out, "") << r.output();
}

TEST(Processes, DashPipelineWithExternalCommands) {
  if (!std::filesystem::exists("/usr/bin/dash")) GTEST_SKIP() << "dash is not installed";
  NimbusRun r = run({"--add", "/usr/bin/wc", "--add", "/usr/bin/seq", "--add", "/usr/bin/cat", "/usr/bin/dash", "-c",
                     "echo a | wc -c; x=$(seq 3 | cat); echo $x; /usr/bin/cat /nonexistent 2>/dev/null; echo st $?"});
  EXPECT_EQ(r.status, 0) << r.output();
  EXPECT_EQ(r.out, "2\n1 2 3\nst 1\n") << r.output();
}

}  // namespace
