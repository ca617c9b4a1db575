// Tests of the run and build command lines: options before PROGRAM, the program's own arguments
// after it, "-o IMAGE" at the end for build, and "--" for kernel words.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "build_options.h"
#include "run_options.h"

namespace {

template <typename Parse>
auto parse(Parse parse_function, const std::vector<std::string>& words) {
  std::vector<std::string_view> views(words.begin(), words.end());
  return parse_function(views);
}

TEST(RunOptions, WordsAfterTheProgramAreItsArguments) {
  auto options = parse(parse_run_options, {"--memory", "64M", "--env", "A=1", "/usr/bin/python3",
                                           "-c", "print(1)", "--memory", "--", "x"});
  ASSERT_TRUE(options.has_value()) << options.error().message;
  EXPECT_EQ(options->memory_mib, 64u);
  EXPECT_TRUE(options->memory_given);
  EXPECT_TRUE(options->image.auto_pack);
  EXPECT_EQ(options->target, "/usr/bin/python3");
  EXPECT_EQ(options->target_args,
            (std::vector<std::string>{"-c", "print(1)", "--memory", "--", "x"}));
  EXPECT_EQ(options->image.env, (std::vector<std::string>{"A=1"}));
  EXPECT_TRUE(options->image_options_given);
  EXPECT_TRUE(options->kernel_args.empty());
}

TEST(RunOptions, NoAutoAndTheDefaultMemory) {
  auto options = parse(parse_run_options, {"--no-auto", "python3", "--no-auto"});
  ASSERT_TRUE(options.has_value()) << options.error().message;
  EXPECT_FALSE(options->image.auto_pack);
  EXPECT_FALSE(options->memory_given);  // fitted to the image when it is known
  EXPECT_EQ(options->target_args, (std::vector<std::string>{"--no-auto"}));
  EXPECT_FALSE(parse(parse_run_options, {"--no-auto=yes", "python3"}).has_value());
  auto build = parse(parse_build_options, {"--no-auto", "python3"});
  ASSERT_TRUE(build.has_value()) << build.error().message;
  EXPECT_FALSE(build->spec.auto_pack);
}

TEST(RunOptions, KernelWordsWithAndWithoutAProgram) {
  auto options = parse(parse_run_options, {"--kernel-arg", "verbose", "--", "test=threads", "ls"});
  ASSERT_TRUE(options.has_value());
  EXPECT_FALSE(options->target.has_value());
  EXPECT_EQ(options->kernel_args, (std::vector<std::string>{"verbose", "test=threads", "ls"}));

  options = parse(parse_run_options, {"--kernel-arg=strace", "/bin/true"});
  ASSERT_TRUE(options.has_value());
  EXPECT_EQ(options->kernel_args, (std::vector<std::string>{"strace"}));
  EXPECT_EQ(options->target, "/bin/true");

  EXPECT_FALSE(parse(parse_run_options, {"--kernel-arg", "two words"}).has_value());
}

TEST(RunOptions, InitrdBootsAnArchiveWithoutAProgram) {
  auto options = parse(parse_run_options, {"--initrd", "root.cpio", "--kernel", "k.elf"});
  ASSERT_TRUE(options.has_value()) << options.error().message;
  EXPECT_EQ(options->initrd_path, "root.cpio");
  for (const auto& words : {std::vector<std::string>{"--initrd", "root.cpio", "/bin/true"},
                            std::vector<std::string>{"--initrd", "root.cpio", "--env", "A=1"}}) {
    auto refused = parse(parse_run_options, words);
    ASSERT_FALSE(refused.has_value());
    EXPECT_NE(refused.error().message.find("--initrd boots an archive as it is"), std::string::npos);
  }
}

TEST(RunOptions, DiskBusNvmeImpliesQ35AndRefusesMicrovm) {
  auto options = parse(parse_run_options, {"--disk-bus", "nvme", "/bin/true"});
  ASSERT_TRUE(options.has_value()) << options.error().message;
  EXPECT_EQ(options->machine, Machine::Q35);
  EXPECT_EQ(disk_device(*options), DiskDevice::Nvme);
  options = parse(parse_run_options, {"--machine", "q35", "--disk-bus=nvme", "/bin/true"});
  ASSERT_TRUE(options.has_value()) << options.error().message;
  EXPECT_EQ(disk_device(*options), DiskDevice::Nvme);
  options = parse(parse_run_options, {"/bin/true"});
  ASSERT_TRUE(options.has_value());
  EXPECT_EQ(disk_device(*options), DiskDevice::VirtioMmio);
  options = parse(parse_run_options, {"--machine", "q35", "--disk-bus", "virtio", "/bin/true"});
  ASSERT_TRUE(options.has_value());
  EXPECT_EQ(disk_device(*options), DiskDevice::VirtioPci);

  auto refused = parse(parse_run_options, {"--machine", "microvm", "--disk-bus", "nvme", "/bin/true"});
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message.find("--disk-bus nvme needs --machine q35"), std::string::npos);
  refused = parse(parse_run_options, {"--disk-bus", "scsi", "/bin/true"});
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message.find("--disk-bus must be virtio or nvme, not 'scsi'"), std::string::npos);
}

TEST(RunOptions, HelpOnlyAmongTheOptions) {
  auto options = parse(parse_run_options, {"--cpus", "2", "--help"});
  ASSERT_TRUE(options.has_value());
  EXPECT_TRUE(options->help);
  options = parse(parse_run_options, {"/usr/bin/python3", "--help"});
  ASSERT_TRUE(options.has_value());
  EXPECT_FALSE(options->help);
  EXPECT_EQ(options->target_args, (std::vector<std::string>{"--help"}));
}

TEST(BuildOptions, OutputAtTheEndOrBeforeTheProgram) {
  auto options = parse(parse_build_options, {"--add", "/etc/hosts", "/usr/bin/python3", "-c",
                                             "print(1)", "-o", "py.nimbus"});
  ASSERT_TRUE(options.has_value()) << options.error().message;
  EXPECT_EQ(options->output, "py.nimbus");
  EXPECT_EQ(options->spec.program, "/usr/bin/python3");
  EXPECT_EQ(options->spec.args, (std::vector<std::string>{"-c", "print(1)"}));
  ASSERT_EQ(options->spec.adds.size(), 1u);

  // With -o given first, a trailing "-o X" is the program's.
  options = parse(parse_build_options, {"-o", "cc.nimbus", "/usr/bin/cc", "-o", "a.out"});
  ASSERT_TRUE(options.has_value());
  EXPECT_EQ(options->output, "cc.nimbus");
  EXPECT_EQ(options->spec.args, (std::vector<std::string>{"-o", "a.out"}));

  options = parse(parse_build_options,
                  {"--output=x.nimbus", "--workdir", "/srv", "--argv0", "srv", "--kernel", "k.elf",
                   "--kernel-arg", "verbose", "--verbose", "prog"});
  ASSERT_TRUE(options.has_value()) << options.error().message;
  EXPECT_EQ(options->output, "x.nimbus");
  EXPECT_EQ(options->spec.workdir, "/srv");
  EXPECT_EQ(options->spec.argv0, "srv");
  EXPECT_EQ(options->spec.kernel_path, "k.elf");
  EXPECT_EQ(options->spec.kernel_words, (std::vector<std::string>{"verbose"}));
  EXPECT_TRUE(options->verbose);
  EXPECT_EQ(options->spec.program, "prog");
}

TEST(BuildOptions, DoubleDashBeforeAProgramNamedLikeAnOption) {
  auto options = parse(parse_build_options, {"--", "-weird", "arg"});
  ASSERT_TRUE(options.has_value());
  EXPECT_EQ(options->spec.program, "-weird");
  EXPECT_EQ(options->spec.args, (std::vector<std::string>{"arg"}));
}

TEST(BuildOptions, Mistakes) {
  for (const std::vector<std::string>& words :
       std::vector<std::vector<std::string>>{{"--frobnicate", "prog"},
                                             {"-o"},
                                             {"--env", "NOEQUALS", "prog"},
                                             {"--workdir", "relative", "prog"},
                                             {"--verbose=yes", "prog"}}) {
    auto options = parse(parse_build_options, words);
    ASSERT_FALSE(options.has_value()) << words[0];
    EXPECT_EQ(options.error().exit_status, exit_status::kUsage) << words[0];
  }
  auto none = parse(parse_build_options, {"--verbose"});
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->spec.program.has_value());
}

}  // namespace
