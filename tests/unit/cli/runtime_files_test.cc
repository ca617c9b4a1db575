// Tests of the runtime table and find_runtime_files(): its rules on made-up trees, then each
// runtime against the Debian packages installed here (a runtime that is missing is skipped).
#include "runtime_files.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "elf_file.h"
#include "mapped_file.h"
#include "scratch_dir.h"

namespace {

std::vector<std::string> paths_of(const RuntimeFiles& found) {
  std::vector<std::string> paths;
  for (const RuntimeFile& file : found.files) paths.push_back(file.path);
  return paths;
}

bool has(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

std::string why(const RuntimeFiles& found, const std::string& path) {
  for (const RuntimeFile& file : found.files)
    if (file.path == path) return file.why;
  return "<not found>";
}

const std::vector<std::string> kEnvironment{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"};

TEST(RuntimeFiles, PythonInAMadeUpTree) {
  ScratchDir root;
  root.write("usr/bin/python3.12", "", 0755);
  root.symlink("usr/bin/python3", "python3.12");
  root.write("usr/lib/python3.12/os.py", "");
  root.write("usr/lib/python3.12/lib-dynload/_ssl.so", "");
  root.write("usr/lib/python3/dist-packages/yaml/__init__.py", "");
  root.write("usr/lib/locale/C.utf8/LC_CTYPE", "");
  root.write("usr/lib/x86_64-linux-gnu/gconv/gconv-modules", "");
  root.write("etc/ssl/certs/ca-certificates.crt", "");
  root.write("etc/nsswitch.conf", "passwd: files systemd\nhosts: files [NOTFOUND=return] dns\n");
  root.write("usr/lib/x86_64-linux-gnu/libnss_systemd.so.2", "");

  // The executable after symlinks, as plan_image gives it.
  RuntimeFiles found = find_runtime_files({root / "usr/bin/python3.12", {}, kEnvironment,
                                           root.path().string()});
  EXPECT_EQ(found.runtimes, (std::vector<std::string>{"CPython 3.12", "glibc", "glibc iconv"}));
  std::vector<std::string> paths = paths_of(found);
  EXPECT_TRUE(has(paths, root / "usr/lib/python3.12"));
  EXPECT_TRUE(has(paths, root / "usr/lib/python3/dist-packages"));
  EXPECT_TRUE(has(paths, root / "usr/lib/locale/C.utf8"));
  EXPECT_TRUE(has(paths, root / "usr/lib/x86_64-linux-gnu/gconv"));
  EXPECT_TRUE(has(paths, root / "etc/ssl/certs"));
  EXPECT_TRUE(has(paths, root / "etc/nsswitch.conf"));
  EXPECT_TRUE(has(paths, root / "usr/lib/x86_64-linux-gnu/libnss_systemd.so.2"));
  // Only what exists: no site directory under /usr/local, no /etc/python3.12.
  for (const std::string& path : paths) EXPECT_TRUE(std::filesystem::exists(path)) << path;
  EXPECT_EQ(why(found, root / "usr/lib/python3.12"),
            "CPython 3.12: the standard library, with lib-dynload and site-packages");
  EXPECT_EQ(found.files[0].leave_out, (std::vector<std::string>{root / "usr/lib/python3.12/config-*"}));
}

TEST(RuntimeFiles, VersionFromTheDirectoriesThatExistWhenTheNameHasNone) {
  ScratchDir root;
  root.write("opt/py/bin/python3", "", 0755);  // a copy, not a link: the name has no version
  root.write("opt/py/lib/python3.9/os.py", "");
  root.write("opt/py/lib/python3.11/os.py", "");
  root.write("opt/py/lib/python3.11-old/os.py", "");  // not a version directory
  RuntimeFiles found = find_runtime_files({root / "opt/py/bin/python3", {}, {}, root.path().string()});
  ASSERT_FALSE(found.runtimes.empty());
  EXPECT_EQ(found.runtimes[0], "CPython 3.11");  // the highest, compared as numbers
  EXPECT_TRUE(has(paths_of(found), root / "opt/py/lib/python3.11"));
  EXPECT_FALSE(has(paths_of(found), root / "opt/py/lib/python3.9"));
}

TEST(RuntimeFiles, VersionFromANeededLibrary) {
  ScratchDir root;
  root.write("usr/bin/ruby", "", 0755);
  root.write("usr/lib/ruby/3.1.0/set.rb", "");
  root.write("var/lib/gems/3.1.0/specifications/x.gemspec", "");
  RuntimeFiles found = find_runtime_files(
      {root / "usr/bin/ruby", {"libruby-3.1.so.3.1", "libc.so.6"}, {}, root.path().string()});
  ASSERT_FALSE(found.runtimes.empty());
  EXPECT_EQ(found.runtimes[0], "Ruby 3.1");
  EXPECT_TRUE(has(paths_of(found), root / "usr/lib/ruby"));
  EXPECT_TRUE(has(paths_of(found), root / "var/lib/gems/3.1.0"));  // a glob: {major_minor}*
}

TEST(RuntimeFiles, PathsThatNeedAMissingVersionAreSkipped) {
  ScratchDir root;
  root.write("usr/bin/php", "", 0755);
  root.write("usr/lib/php/20220829/opcache.so", "");
  root.write("usr/lib/php/8.2/php.ini-production", "");
  RuntimeFiles found = find_runtime_files({root / "usr/bin/php", {}, {}, root.path().string()});
  EXPECT_EQ(found.runtimes[0], "PHP");  // no /etc/php/X.Y: no version
  EXPECT_TRUE(has(paths_of(found), root / "usr/lib/php/20220829"));  // the glob matches dates only
  EXPECT_FALSE(has(paths_of(found), root / "usr/lib/php/8.2"));
}

TEST(RuntimeFiles, PlainProgramsGetTheGlibcPiecesOnly) {
  ScratchDir root;
  root.write("usr/bin/ls", "", 0755);
  root.write("usr/lib/x86_64-linux-gnu/gconv/gconv-modules", "");
  root.write("usr/lib/locale/C.utf8/LC_CTYPE", "");
  root.write("usr/lib/locale/de_DE.iso88591/LC_CTYPE", "");
  root.write("usr/share/zoneinfo/Europe/Paris", "");
  root.write("usr/share/zoneinfo/UTC", "");
  RuntimeFiles found = find_runtime_files(
      {root / "usr/bin/ls", {}, {"LANG=C.UTF-8", "LC_TIME=de_DE.ISO-8859-1", "TZ=:Europe/Paris"},
       root.path().string()});
  EXPECT_EQ(found.runtimes, (std::vector<std::string>{"glibc"}));
  std::vector<std::string> paths = paths_of(found);
  EXPECT_TRUE(has(paths, root / "usr/lib/locale/C.utf8"));
  EXPECT_TRUE(has(paths, root / "usr/lib/locale/de_DE.iso88591"));
  EXPECT_TRUE(has(paths, root / "usr/share/zoneinfo/Europe/Paris"));
  EXPECT_FALSE(has(paths, root / "usr/lib/x86_64-linux-gnu/gconv"));

  // A TZ that would leave the zoneinfo directory names nothing.
  found = find_runtime_files({root / "usr/bin/ls", {}, {"TZ=../../etc/shadow"}, root.path().string()});
  for (const std::string& path : paths_of(found)) EXPECT_EQ(path.find("shadow"), std::string::npos);
}

TEST(RuntimeFiles, ALocaleWithoutADirectoryBringsTheLocaleArchive) {
  ScratchDir root;
  root.write("usr/bin/ls", "", 0755);
  root.write("usr/lib/locale/C.utf8/LC_CTYPE", "");
  root.write("usr/lib/locale/locale-archive", "compiled locales");
  // C.UTF-8 has its directory: the archive is not needed.
  RuntimeFiles found =
      find_runtime_files({root / "usr/bin/ls", {}, {"LANG=C.UTF-8"}, root.path().string()});
  EXPECT_TRUE(has(paths_of(found), root / "usr/lib/locale/C.utf8"));
  EXPECT_FALSE(has(paths_of(found), root / "usr/lib/locale/locale-archive"));
  // en_US.UTF-8 as locale-gen makes it lives only in the archive.
  found = find_runtime_files(
      {root / "usr/bin/ls", {}, {"LANG=C.UTF-8", "LC_MESSAGES=en_US.UTF-8"}, root.path().string()});
  EXPECT_TRUE(has(paths_of(found), root / "usr/lib/locale/locale-archive"));
}

TEST(RuntimeFiles, LocaleNamesAsGlibcSpellsThem) {
  EXPECT_EQ(normalized_locale("C.UTF-8"), "C.utf8");
  EXPECT_EQ(normalized_locale("en_US.UTF-8"), "en_US.utf8");
  EXPECT_EQ(normalized_locale("de_DE.ISO-8859-15@euro"), "de_DE.iso885915@euro");
  EXPECT_EQ(normalized_locale("ja_JP.8859"), "ja_JP.iso8859");
  EXPECT_EQ(normalized_locale("fr_FR"), "fr_FR");
}

TEST(RuntimeFiles, NsswitchServices) {
  EXPECT_EQ(nsswitch_services("# comment: files\npasswd:   files systemd\n"
                              "hosts: files [NOTFOUND=return] mdns4_minimal [ !UNAVAIL=return ] dns\n"
                              "group: files\nbroken line\n"),
            (std::vector<std::string>{"files", "systemd", "mdns4_minimal", "dns"}));
}

TEST(RuntimeFiles, VersionsCompareAsNumbers) {
  EXPECT_TRUE(version_less("3.9", "3.11"));
  EXPECT_TRUE(version_less("5.36", "5.36.0"));
  EXPECT_FALSE(version_less("3.11", "3.11"));
  EXPECT_FALSE(version_less("17", "8"));
}

// The installed runtimes, read as plan_image reads them: the executable after symlinks and its
// DT_NEEDED names.
class InstalledRuntime : public ::testing::Test {
 protected:
  // Skips the test when `program` is not installed; otherwise applies the table to it.
  std::optional<RuntimeFiles> find(const std::string& program) {
    std::error_code ec;
    std::string executable = std::filesystem::canonical(program, ec).string();
    if (ec) return std::nullopt;
    ProgramFacts facts{executable, {}, kEnvironment, ""};
    if (auto file = MappedFile::open(executable))
      if (auto info = parse_elf(file->bytes())) facts.needed = info->needed;
    return find_runtime_files(facts);
  }
};

#define FIND_OR_SKIP(found, program, package)                                             \
  auto found = find(program);                                                             \
  if (!found) GTEST_SKIP() << program << " is not installed (Debian package " << package \
                           << ", in scripts/install-deps)"

// The file that proves a directory is the right one was packed: some packed path holds it.
bool covers(const RuntimeFiles& found, const std::string& file) {
  for (const RuntimeFile& packed : found.files)
    if (file == packed.path || file.starts_with(packed.path + "/")) return true;
  return false;
}

// A module file of the runtime, wherever this host keeps it (the canonical path, so a directory
// reached through a symlink counts too).
std::string canonical(const std::string& path) {
  std::error_code ec;
  auto result = std::filesystem::canonical(path, ec);
  return ec ? path : result.string();
}

bool covers_canonically(const RuntimeFiles& found, const std::string& file) {
  std::string target = canonical(file);
  for (const RuntimeFile& packed : found.files) {
    std::string dir = canonical(packed.path);
    if (target == dir || target.starts_with(dir + "/")) return true;
  }
  return false;
}

TEST_F(InstalledRuntime, Python) {
  FIND_OR_SKIP(found, "/usr/bin/python3", "python3");
  ASSERT_FALSE(found->runtimes.empty());
  EXPECT_TRUE(found->runtimes[0].starts_with("CPython 3.")) << found->runtimes[0];
  std::string version = found->runtimes[0].substr(std::string("CPython ").size());
  EXPECT_TRUE(covers(*found, "/usr/lib/python" + version + "/encodings/__init__.py"));
  EXPECT_TRUE(covers(*found, "/usr/lib/python" + version + "/lib-dynload"));
  EXPECT_TRUE(covers(*found, "/usr/lib/locale/C.utf8/LC_CTYPE"));
  EXPECT_TRUE(covers(*found, "/etc/ssl/certs/ca-certificates.crt"));
  EXPECT_TRUE(covers(*found, "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules"));
  EXPECT_FALSE(found->start_by_real_path);
}

TEST_F(InstalledRuntime, Perl) {
  FIND_OR_SKIP(found, "/usr/bin/perl", "perl");
  EXPECT_TRUE(found->runtimes[0].starts_with("Perl 5.")) << found->runtimes[0];
  EXPECT_TRUE(covers_canonically(*found, "/usr/lib/x86_64-linux-gnu/perl-base/strict.pm"));
  if (std::filesystem::exists("/usr/share/perl/5.36/JSON/PP.pm") ||
      std::filesystem::exists("/usr/lib/x86_64-linux-gnu/perl/5.36/Config.pm")) {
    EXPECT_TRUE(covers_canonically(*found, "/usr/share/perl/5.36/JSON/PP.pm"));
    EXPECT_TRUE(covers_canonically(*found, "/usr/lib/x86_64-linux-gnu/perl/5.36/Config.pm"));
  }
}

TEST_F(InstalledRuntime, Ruby) {
  FIND_OR_SKIP(found, "/usr/bin/ruby", "ruby");
  EXPECT_TRUE(found->runtimes[0].starts_with("Ruby 3.")) << found->runtimes[0];
  std::string version = found->runtimes[0].substr(std::string("Ruby ").size());
  EXPECT_TRUE(covers(*found, "/usr/lib/ruby/" + version + ".0/rubygems.rb"));
  EXPECT_TRUE(covers(*found, "/usr/lib/x86_64-linux-gnu/ruby/" + version + ".0/enc/encdb.so"));
}

TEST_F(InstalledRuntime, Php) {
  FIND_OR_SKIP(found, "/usr/bin/php", "php-cli");
  EXPECT_TRUE(found->runtimes[0].starts_with("PHP 8.")) << found->runtimes[0];
  std::string version = found->runtimes[0].substr(std::string("PHP ").size());
  EXPECT_TRUE(covers(*found, "/etc/php/" + version + "/cli/php.ini"));
  bool extension_dir = false;
  for (const RuntimeFile& file : found->files)
    extension_dir |= file.path.starts_with("/usr/lib/php/20") &&
                     std::filesystem::exists(file.path + "/opcache.so");
  EXPECT_TRUE(extension_dir);
}

TEST_F(InstalledRuntime, Lua) {
  FIND_OR_SKIP(found, "/usr/bin/lua5.4", "lua5.4");
  EXPECT_EQ(found->runtimes[0], "Lua 5.4");
  // Lua's own module directories exist only once a module package is installed.
  for (const RuntimeFile& file : found->files)
    if (file.why.starts_with("Lua")) {
      EXPECT_NE(file.path.find("/lua/5.4"), std::string::npos);
    }
}

TEST_F(InstalledRuntime, Node) {
  FIND_OR_SKIP(found, "/usr/bin/node", "nodejs");
  EXPECT_EQ(found->runtimes[0], "Node.js");
}

TEST_F(InstalledRuntime, Java) {
  FIND_OR_SKIP(found, "/usr/bin/java", "openjdk-17-jre-headless");
  EXPECT_TRUE(found->runtimes[0].starts_with("JVM")) << found->runtimes[0];
  std::string home = std::filesystem::path(canonical("/usr/bin/java")).parent_path().parent_path();
  EXPECT_TRUE(covers(*found, home + "/lib/modules"));
  EXPECT_TRUE(covers(*found, home + "/conf/security/java.security"));
  EXPECT_TRUE(covers(*found, home + "/lib/server/libjvm.so"));
  // Its launcher finds libjli.so through $ORIGIN, which is /proc/self/exe's directory.
  EXPECT_TRUE(found->start_by_real_path);
}

}  // namespace
