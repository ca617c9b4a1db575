// Tests of `nimbus run --strace` (the option, its kernel word and trace port) and of what the
// kernel is told about our standard streams (a terminal only where we have one).
#include <fcntl.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "host_streams.h"
#include "qemu_command.h"
#include "run_options.h"

namespace {

CliResult<RunOptions> parse(const std::vector<std::string>& words) {
  std::vector<std::string_view> views(words.begin(), words.end());
  return parse_run_options(views);
}

bool contains(const std::vector<std::string>& words, const std::string& word) {
  return std::ranges::find(words, word) != words.end();
}

TEST(Strace, BareOptionTracesEveryCallAndLeavesTheProgramAlone) {
  auto options = parse({"--strace", "/bin/true", "--strace"});
  ASSERT_TRUE(options.has_value()) << options.error().message;
  EXPECT_EQ(options->strace, "");
  EXPECT_EQ(options->target, "/bin/true");
  EXPECT_EQ(options->target_args, (std::vector<std::string>{"--strace"}));
  EXPECT_NE(kernel_command_line(*options, QemuSetup{}).find("strace"), std::string::npos);
}

TEST(Strace, NamesFilterAndMustExist) {
  auto options = parse({"--strace=open,read,openat", "/bin/true"});
  ASSERT_TRUE(options.has_value()) << options.error().message;
  EXPECT_EQ(options->strace, "open,read,openat");
  EXPECT_EQ(kernel_command_line(*options, QemuSetup{}), "strace=open,read,openat");

  auto unknown = parse({"--strace=open,bogus", "/bin/true"});
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().message.find("no system call is named 'bogus'"), std::string::npos);
  EXPECT_FALSE(parse({"--strace=", "/bin/true"}).has_value());
  EXPECT_FALSE(parse({"--strace=open,,read", "/bin/true"}).has_value());
}

TEST(Strace, TheTraceHasAPortOfItsOwnOnStderr) {
  auto options = parse({"--strace", "/bin/true"});
  ASSERT_TRUE(options.has_value());
  QemuSetup setup;
  setup.console_fds = true;
  setup.initrd = "root.cpio";
  std::vector<std::string> argv = build_qemu_command(*options, setup);
  EXPECT_TRUE(contains(argv, "virtserialport,nr=4,name=nimbus.trace,chardev=nimbus-trace"));
  EXPECT_TRUE(contains(argv, "file,id=nimbus-trace,path=/dev/fdset/2,append=on"));
  EXPECT_TRUE(contains(argv, "virtio-serial-device,max_ports=5"));

  auto plain = parse({"/bin/true"});
  ASSERT_TRUE(plain.has_value());
  std::vector<std::string> untraced = build_qemu_command(*plain, setup);
  EXPECT_FALSE(contains(untraced, "virtserialport,nr=4,name=nimbus.trace,chardev=nimbus-trace"));
  // With a program, the kernel's log goes to stderr, never into the program's stdout; the
  // kernel's own job (no initrd) prints its results on stdout.
  EXPECT_TRUE(contains(untraced, "file,id=nimbus-kernel,path=/dev/fdset/2,append=on"));
  setup.initrd.reset();
  EXPECT_TRUE(contains(build_qemu_command(*plain, setup),
                       "file,id=nimbus-kernel,path=/dev/fdset/1,append=on"));
}

TEST(HostStreamWords, PipesAndFilesArePipes) {
  int ends[2];
  ASSERT_EQ(::pipe(ends), 0);
  int file = ::open("/dev/null", O_WRONLY);
  ASSERT_GE(file, 0);
  EXPECT_EQ(stream_kernel_words(ends[0], ends[1], file),
            (std::vector<std::string>{"nimbus.streams=pipe,pipe,pipe"}));
  ::close(ends[0]);
  ::close(ends[1]);
  ::close(file);
}

TEST(HostStreamWords, ATerminalIsATerminalWithItsSize) {
  int controller = -1, terminal = -1;
  winsize size{};
  size.ws_row = 37;
  size.ws_col = 101;
  ASSERT_EQ(::openpty(&controller, &terminal, nullptr, nullptr, &size), 0);
  int ends[2];
  ASSERT_EQ(::pipe(ends), 0);
  EXPECT_EQ(stream_kernel_words(ends[0], terminal, ends[1]),
            (std::vector<std::string>{"nimbus.streams=pipe,tty,pipe", "nimbus.winsize=37x101"}));
  EXPECT_EQ(stream_kernel_words(terminal, terminal, terminal),
            (std::vector<std::string>{"nimbus.streams=tty,tty,tty", "nimbus.winsize=37x101"}));
  ::close(ends[0]);
  ::close(ends[1]);
  ::close(controller);
  ::close(terminal);
}

}  // namespace
