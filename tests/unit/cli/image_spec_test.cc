// Tests of the ImageSpec pieces: --add splitting, --env, guest paths, the default environment.
#include "image_spec.h"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace {

TEST(ImageSpec, AddSplitsAtTheLastColonBeforeASlash) {
  auto add = parse_add("/usr/lib/python3.11", "/cwd");
  ASSERT_TRUE(add.has_value());
  EXPECT_EQ(add->host, "/usr/lib/python3.11");
  EXPECT_FALSE(add->guest.has_value());

  add = parse_add("site:/srv/www/", "/cwd");
  ASSERT_TRUE(add.has_value());
  EXPECT_EQ(add->host, "/cwd/site");
  EXPECT_EQ(add->guest, "/srv/www");

  // A colon not followed by '/' belongs to the host path.
  add = parse_add("data:v2", "/cwd");
  EXPECT_EQ(add->host, "/cwd/data:v2");
  EXPECT_FALSE(add->guest.has_value());
  add = parse_add("a:b:/guest", "/cwd");
  EXPECT_EQ(add->host, "/cwd/a:b");
  EXPECT_EQ(add->guest, "/guest");

  add = parse_add("../up/./dir/", "/cwd/sub");
  EXPECT_EQ(add->host, "/cwd/up/dir");
  EXPECT_FALSE(parse_add("", "/cwd").has_value());
}

TEST(ImageSpec, GuestPathsAreAbsoluteAndNormalized) {
  EXPECT_EQ(parse_guest_path("/", "x"), "/");
  EXPECT_EQ(parse_guest_path("/a/./b//c/", "x"), "/a/b/c");
  EXPECT_EQ(parse_guest_path("/a/../../b", "x"), "/b");
  auto relative = parse_guest_path("srv", "--workdir");
  ASSERT_FALSE(relative.has_value());
  EXPECT_EQ(relative.error().exit_status, exit_status::kUsage);
  EXPECT_NE(relative.error().message.find("--workdir must be an absolute path"), std::string::npos);
}

TEST(ImageSpec, EnvNeedsAKey) {
  EXPECT_EQ(parse_env("A=1"), "A=1");
  EXPECT_EQ(parse_env("EMPTY="), "EMPTY=");
  EXPECT_EQ(parse_env("URL=a=b"), "URL=a=b");
  EXPECT_FALSE(parse_env("NOVALUE").has_value());
  EXPECT_FALSE(parse_env("=x").has_value());
}

TEST(ImageSpec, DefaultEnvironmentAndOverrides) {
  ::setenv("TERM", "xterm-test", 1);
  ::unsetenv("LANG");
  for (const char* name : {"LC_ALL", "LC_CTYPE", "LC_COLLATE", "LC_MESSAGES", "LC_NUMERIC", "LC_TIME"})
    ::unsetenv(name);
  ImageSpec spec;
  EXPECT_EQ(guest_environment(spec),
            (std::vector<std::string>{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/",
                                      "TERM=xterm-test", "LANG=C.UTF-8"}));
  spec.env = {"HOME=/root", "EXTRA=1", "LANG=de_DE.UTF-8"};
  EXPECT_EQ(guest_environment(spec),
            (std::vector<std::string>{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/root",
                                      "TERM=xterm-test", "LANG=de_DE.UTF-8", "EXTRA=1"}));
  ::unsetenv("TERM");
  EXPECT_EQ(guest_environment(ImageSpec{}).size(), 3u);
}

TEST(ImageSpec, TheHostsLocaleIsTheGuestsByDefault) {
  ::unsetenv("TERM");
  ::setenv("LANG", "de_DE.UTF-8", 1);
  ::setenv("LC_COLLATE", "C", 1);
  ::setenv("LC_TIME", "", 1);  // empty: as if unset
  EXPECT_EQ(guest_environment(ImageSpec{}),
            (std::vector<std::string>{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/",
                                      "LANG=de_DE.UTF-8", "LC_COLLATE=C"}));
  ::setenv("LANG", "", 1);
  ::unsetenv("LC_COLLATE");
  ::unsetenv("LC_TIME");
  EXPECT_EQ(guest_environment(ImageSpec{}).back(), "LANG=C.UTF-8");
  ::unsetenv("LANG");
}

TEST(ImageSpec, ProgramReferences) {
  EXPECT_EQ(program_reference("python3", "/base"), "python3");
  EXPECT_EQ(program_reference("bin/tool", "/base"), "/base/bin/tool");
  EXPECT_EQ(program_reference("/usr/bin/env", "/base"), "/usr/bin/env");
}

}  // namespace
