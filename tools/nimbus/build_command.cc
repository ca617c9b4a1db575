// build_command(): `nimbus build`, which packs a program, its libraries and files, the kernel and
// the launch description into one image file.
#include "build_command.h"

#include <filesystem>
#include <iostream>

#include "build_options.h"
#include "help.h"
#include "image_file.h"
#include "image_plan.h"
#include "manifest.h"
#include "reporter.h"
#include "text.h"

namespace {

// Without -o, the image is named after the program, in the current directory.
std::string default_output(const std::string& program) {
  return cat(std::filesystem::path(program).filename().string(), ".nimbus");
}

CliResult<int> build(std::span<const std::string_view> args) {
  BuildOptions options = TRY_CLI(parse_build_options(args));
  if (options.help) {
    print_help(std::cout);
    return 0;
  }
  ImageSpec spec = TRY_CLI(with_manifest(std::move(options.spec), options.manifest));
  Reporter reporter(options.verbose);
  ImagePlan plan = TRY_CLI(plan_image(spec, reporter));
  std::string output = options.output.value_or(default_output(*spec.program));
  ImageHeader header = TRY_CLI(write_image(plan, output));
  reporter.note(cat("wrote ", output, ": ", header.image_size, " bytes (kernel ",
                    header.kernel.size, ", initrd ", header.initrd.size, " with ",
                    plan.tree.entries().size(), " entries), sha256 ", Sha256::hex(header.digest)));
  return 0;
}

}  // namespace

int build_command(std::span<const std::string_view> args) {
  auto status = build(args);
  if (status) return *status;
  std::cerr << "nimbus: " << status.error().message << std::endl;
  return status.error().exit_status;
}
