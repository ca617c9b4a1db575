// Tests of parse_manifest(): every keyword, quoting, paths relative to the manifest, and the
// mistakes it must name with a line number.
#include "manifest.h"

#include <gtest/gtest.h>

#include "scratch_dir.h"

namespace {

const std::filesystem::path kManifest = "/srv/app/app.manifest";

ImageSpec parse_ok(std::string_view text) {
  auto spec = parse_manifest(text, kManifest);
  EXPECT_TRUE(spec.has_value()) << spec.error().message;
  return spec.value_or(ImageSpec{});
}

std::string parse_error(std::string_view text) {
  auto spec = parse_manifest(text, kManifest);
  EXPECT_FALSE(spec.has_value()) << text;
  if (spec) return {};
  EXPECT_EQ(spec.error().exit_status, exit_status::kUsage);
  return spec.error().message;
}

TEST(Manifest, EveryKeyword) {
  ImageSpec spec = parse_ok(
      "# Python, printing one line\n"
      "program /usr/bin/python3\n"
      "argv0 python3\n"
      "arg -c\n"
      "arg print('a # b')\n"
      "env PYTHONDONTWRITEBYTECODE=1\n"
      "env GREETING=hello world\n"
      "workdir /srv/./app/\n"
      "add /usr/lib/python3.11\n"
      "add data:/srv/data\n");
  EXPECT_EQ(spec.program, "/usr/bin/python3");
  EXPECT_EQ(spec.argv0, "python3");
  EXPECT_EQ(spec.args, (std::vector<std::string>{"-c", "print('a # b')"}));
  EXPECT_EQ(spec.env,
            (std::vector<std::string>{"PYTHONDONTWRITEBYTECODE=1", "GREETING=hello world"}));
  EXPECT_EQ(spec.workdir, "/srv/app");
  ASSERT_EQ(spec.adds.size(), 2u);
  EXPECT_EQ(spec.adds[0].host, "/usr/lib/python3.11");
  EXPECT_FALSE(spec.adds[0].guest.has_value());
  EXPECT_EQ(spec.adds[1].host, "/srv/app/data");
  EXPECT_EQ(spec.adds[1].guest, "/srv/data");
}

TEST(Manifest, RelativePathsAreTakenFromTheManifestsDirectory) {
  ImageSpec spec = parse_ok("program ./bin/server\nadd ../shared/config\n");
  EXPECT_EQ(spec.program, "/srv/app/./bin/server");
  EXPECT_EQ(spec.adds[0].host, "/srv/shared/config");
  // A bare name is looked up on PATH, not in the manifest's directory.
  EXPECT_EQ(parse_ok("program python3\n").program, "python3");
}

TEST(Manifest, BlanksCommentsAndLineEndings) {
  ImageSpec spec =
      parse_ok("\n   \n\t# indented comment\r\nprogram\t/bin/true  \r\n  arg   x y  \n");
  EXPECT_EQ(spec.program, "/bin/true");
  EXPECT_EQ(spec.args, (std::vector<std::string>{"x y"}));
  EXPECT_FALSE(parse_ok("").program.has_value());
  EXPECT_EQ(parse_ok("program /bin/true").program, "/bin/true");  // no final newline
}

TEST(Manifest, QuotedValues) {
  ImageSpec spec = parse_ok(
      "arg \"\"\n"
      "arg \"  padded  \"\n"
      "arg \"tab\\tnewline\\nquote\\\"backslash\\\\\"\n"
      "arg \"\\x41\\x7e\"\n"
      "arg plain \"quotes\" stay\n");
  EXPECT_EQ(spec.args,
            (std::vector<std::string>{"", "  padded  ", "tab\tnewline\nquote\"backslash\\", "A~",
                                      "plain \"quotes\" stay"}));
}

TEST(Manifest, MistakesNameTheLine) {
  EXPECT_EQ(parse_error("program /bin/true\nfrobnicate yes\n"),
            "/srv/app/app.manifest:2: unknown keyword 'frobnicate' (expected program, arg, argv0, "
            "env, workdir or add)");
  EXPECT_NE(
      parse_error("program /a\n\nprogram /b\n").find(":3: 'program' given twice (first on line 1)"),
      std::string::npos);
  EXPECT_NE(parse_error("workdir /a\nworkdir /b\n").find("given twice"), std::string::npos);
  EXPECT_NE(parse_error("argv0 a\nargv0 b\n").find("given twice"), std::string::npos);
  EXPECT_NE(parse_error("arg\n").find(":1: 'arg' needs a value"), std::string::npos);
  EXPECT_NE(parse_error("program   \n").find("needs a value"), std::string::npos);
  EXPECT_NE(parse_error("env NOEQUALS\n").find("KEY=VALUE"), std::string::npos);
  EXPECT_NE(parse_error("env =value\n").find("KEY=VALUE"), std::string::npos);
  EXPECT_NE(parse_error("workdir relative/dir\n").find("absolute path"), std::string::npos);
}

TEST(Manifest, BadQuotingIsRefused) {
  EXPECT_NE(parse_error("arg \"open\n").find("no closing"), std::string::npos);
  EXPECT_NE(parse_error("arg \"a\" b\n").find("after the closing"), std::string::npos);
  EXPECT_NE(parse_error("arg \"\\q\"\n").find("unknown escape"), std::string::npos);
  EXPECT_NE(parse_error("arg \"\\x4\"\n").find("two hex digits"), std::string::npos);
  EXPECT_NE(parse_error("arg \"\\x00\"\n").find("NUL"), std::string::npos);
  EXPECT_NE(parse_error("arg \"trailing\\").find("no closing"), std::string::npos);
}

TEST(Manifest, NulBytesAreRefused) {
  EXPECT_NE(parse_error(std::string_view("program /bin/true\0\n", 19)).find("NUL byte"),
            std::string::npos);
}

TEST(Manifest, LoadReadsTheFileAndReportsAMissingOne) {
  ScratchDir dir;
  std::string path = dir.write("m.manifest", "program ./tool\n");
  auto spec = load_manifest(path);
  ASSERT_TRUE(spec.has_value()) << spec.error().message;
  EXPECT_EQ(spec->program, (dir.path() / "./tool").string());

  auto missing = load_manifest(dir / "absent.manifest");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().exit_status, exit_status::kBadInput);
  auto directory = load_manifest(dir.path().string());
  ASSERT_FALSE(directory.has_value());
  EXPECT_EQ(directory.error().exit_status, exit_status::kBadInput);
}

TEST(Manifest, CommandLineGoesOverTheManifest) {
  ImageSpec manifest =
      parse_ok("program /bin/echo\narg one\nenv A=1\nworkdir /a\nadd /etc/hosts\n");
  ImageSpec command_line;
  command_line.env = {"B=2"};
  command_line.workdir = "/b";
  command_line.adds = {{"/etc/passwd", std::nullopt}};
  auto merged = merge_specs(manifest, command_line);
  ASSERT_TRUE(merged.has_value());
  EXPECT_EQ(merged->program, "/bin/echo");
  EXPECT_EQ(merged->args, (std::vector<std::string>{"one"}));
  EXPECT_EQ(merged->env, (std::vector<std::string>{"A=1", "B=2"}));
  EXPECT_EQ(merged->workdir, "/b");
  EXPECT_EQ(merged->adds.size(), 2u);

  command_line.program = "/bin/cat";
  auto both = merge_specs(manifest, command_line);
  ASSERT_FALSE(both.has_value());
  EXPECT_EQ(both.error().exit_status, exit_status::kUsage);
}

}  // namespace
