// The runtime table: for each language runtime Nimbus knows (and for glibc itself), the host
// files it loads at run time besides its ELF libraries, as data. runtime_files.h applies it.
//
// The directories are the ones each runtime searches by default (its sys.path, @INC,
// $LOAD_PATH, include_path and extension_dir, package.path and package.cpath, $JAVA_HOME), as
// Debian 12 lays them out; upstream builds under /usr/local or /opt are covered through {prefix}.
#include "runtime_table.h"

#include <array>

namespace {

using From = VersionSource::From;
using Applies = Runtime::Applies;

constexpr std::array kPythonVersions = {
    VersionSource{From::Executable, R"(/python(3\.[0-9]+)$)"},
    VersionSource{From::NeededLibrary, R"(^libpython(3\.[0-9]+))"},
    VersionSource{From::ExistingPath, R"({prefix}/lib/python(3\.[0-9]+))"},
};
constexpr std::array kPythonPaths = {
    RuntimePath{"{prefix}/lib/python{version}",
                "the standard library, with lib-dynload and site-packages",
                // libpython's static archive and build files, for embedding (python3-dev).
                "config-*"},
    RuntimePath{"{prefix}/lib/python3/dist-packages", "Debian's packaged modules"},
    RuntimePath{"{prefix}/local/lib/python{version}/dist-packages",
                "modules installed with pip (Debian's site directory)"},
    RuntimePath{"/etc/python{version}", "sitecustomize.py (Debian)"},
};

constexpr std::array kPerlVersions = {
    VersionSource{From::Executable, R"(/perl(5\.[0-9]+\.[0-9]+)$)"},
    VersionSource{From::NeededLibrary, R"(^libperl\.so\.(5\.[0-9]+(\.[0-9]+)?))"},
    VersionSource{From::ExistingPath, R"({prefix}/share/perl/(5\.[0-9]+\.[0-9]+))"},
};
// @INC as Debian's perl has it built in (Config.pm's privlib, archlib, site and vendor
// directories, and perl-base), then the layout of a perl built from source.
constexpr std::array kPerlPaths = {
    RuntimePath{"/etc/perl", "@INC: configuration modules"},
    RuntimePath{"{prefix}/local/lib/x86_64-linux-gnu/perl/{version}", "@INC: sitearch"},
    RuntimePath{"{prefix}/local/share/perl/{version}", "@INC: sitelib"},
    RuntimePath{"{prefix}/lib/x86_64-linux-gnu/perl5/{major_minor}", "@INC: vendorarch"},
    RuntimePath{"{prefix}/share/perl5", "@INC: vendorlib"},
    RuntimePath{"{prefix}/lib/x86_64-linux-gnu/perl-base", "@INC: perl-base (strict, warnings)"},
    RuntimePath{"{prefix}/lib/x86_64-linux-gnu/perl/{major_minor}", "@INC: archlib (Config.pm)"},
    RuntimePath{"{prefix}/share/perl/{major_minor}", "@INC: privlib (the standard modules)"},
    RuntimePath{"{prefix}/local/lib/site_perl", "@INC: site_perl"},
    RuntimePath{"{prefix}/lib/perl5", "@INC of a perl built from source"},
};

constexpr std::array kRubyVersions = {
    VersionSource{From::NeededLibrary, R"(^libruby-([0-9]+\.[0-9]+))"},
    VersionSource{From::Executable, R"(/ruby([0-9]+\.[0-9]+)$)"},
};
constexpr std::array kRubyPaths = {
    RuntimePath{"{prefix}/lib/ruby", "$LOAD_PATH: the standard library, vendor_ruby and gems"},
    RuntimePath{"{prefix}/lib/x86_64-linux-gnu/ruby", "$LOAD_PATH: extensions and encodings"},
    RuntimePath{"{prefix}/share/rubygems-integration", "gems packaged by Debian"},
    RuntimePath{"{prefix}/lib/x86_64-linux-gnu/rubygems-integration", "gems packaged by Debian"},
    RuntimePath{"/var/lib/gems/{major_minor}*", "gems installed with gem install"},
    RuntimePath{"{prefix}/local/lib/site_ruby", "$LOAD_PATH: site_ruby"},
};

constexpr std::array kPhpVersions = {
    VersionSource{From::Executable, R"(/php([0-9]+\.[0-9]+)$)"},
    VersionSource{From::ExistingPath, R"(/etc/php/([0-9]+\.[0-9]+))"},
};
constexpr std::array kPhpPaths = {
    RuntimePath{"/etc/php/{version}/cli", "php.ini and the conf.d files that load extensions"},
    RuntimePath{"/etc/php/{version}/mods-available", "the extension ini files conf.d links to"},
    RuntimePath{"{prefix}/lib/php/[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]",
                "extension_dir (by API date)"},
    RuntimePath{"{prefix}/share/php", "include_path"},
};

constexpr std::array kLuaVersions = {
    VersionSource{From::Executable, R"(/lua([0-9]+\.[0-9]+)$)"},
    VersionSource{From::NeededLibrary, R"(^liblua([0-9]+\.[0-9]+))"},
};
constexpr std::array kLuaPaths = {
    RuntimePath{"{prefix}/local/share/lua/{version}", "package.path"},
    RuntimePath{"{prefix}/local/lib/lua/{version}", "package.path and package.cpath"},
    RuntimePath{"{prefix}/share/lua/{version}", "package.path"},
    RuntimePath{"{prefix}/lib/x86_64-linux-gnu/lua/{version}", "package.cpath"},
    RuntimePath{"{prefix}/lib/lua/{version}", "package.cpath"},
};

// Debian's and nodesource's node use the system ICU or carry their data inside; only an external
// ICU data directory and the global module directory node searches ($PREFIX/lib/node) remain.
constexpr std::array kNodePaths = {
    RuntimePath{"{prefix}/share/icu", "ICU data kept outside the binary"},
    RuntimePath{"{prefix}/lib/node", "global modules ($PREFIX/lib/node)"},
};

constexpr std::array kJavaVersions = {
    VersionSource{From::Executable, R"(/java-([0-9]+)-[^/]*/bin/java$)"},
    VersionSource{From::Executable, R"(/jdk-?([0-9]+)[^/]*/bin/java$)"},
};
constexpr std::array kJavaPaths = {
    RuntimePath{"{prefix}/lib", "$JAVA_HOME/lib: the JVM, its class modules and libraries"},
    RuntimePath{"{prefix}/conf", "$JAVA_HOME/conf: security and logging configuration"},
    RuntimePath{"{prefix}/release", "$JAVA_HOME/release"},
    RuntimePath{"/etc/java-{version}-openjdk", "the configuration $JAVA_HOME/conf links to"},
    RuntimePath{"/etc/ssl/certs/java", "the Java CA store (lib/security/cacerts links to it)"},
};

// What glibc (and programs without glibc that follow its conventions, like Go's) may read in
// any program: locales, name-service modules and files, CA certificates, time zones.
constexpr std::array kSystemPaths = {
    RuntimePath{"/usr/lib/locale/{locale}", "the locale named by LANG or LC_*"},
    RuntimePath{"/usr/lib/locale/locale-archive{locale_archive}",
                "the compiled locales (LANG or LC_* names one without a directory of its own)"},
    RuntimePath{"/etc/nsswitch.conf", "name-service configuration"},
    RuntimePath{"/usr/lib/x86_64-linux-gnu/libnss_{nss}.so.2",
                "a name-service module /etc/nsswitch.conf names"},
    RuntimePath{"/etc/host.conf", "resolver configuration"},
    RuntimePath{"/etc/gai.conf", "getaddrinfo's address order"},
    RuntimePath{"/etc/services", "service names (getservbyname)"},
    RuntimePath{"/etc/protocols", "protocol names (getprotobyname)"},
    RuntimePath{"/etc/ssl/certs", "the CA certificates (TLS verification)"},
    RuntimePath{"/usr/lib/ssl", "OpenSSL's directory (cert.pem, certs)"},
    RuntimePath{"/etc/ssl/openssl.cnf", "OpenSSL's configuration"},
    RuntimePath{"/usr/share/zoneinfo/{tz}", "the time zone named by TZ"},
    RuntimePath{"/usr/share/zoneinfo/UTC", "the guest's time zone"},
};

// iconv's converters for character sets other than the built-in UTF-8, UCS and ASCII: 8 MiB,
// so they come with the runtimes (whose programs are the ones that convert text), not with
// every program.
constexpr std::array kCharsetPaths = {
    RuntimePath{"/usr/lib/x86_64-linux-gnu/gconv", "iconv's character-set converters (gconv)"},
};

constexpr std::array kRuntimes = {
    Runtime{"CPython", Applies::Executable, R"(python3(\.[0-9]+)?)", kPythonVersions,
            kPythonPaths},
    Runtime{"Perl", Applies::Executable, R"(perl(5[.0-9]*)?)", kPerlVersions, kPerlPaths},
    Runtime{"Ruby", Applies::Executable, R"(ruby([0-9.]+)?)", kRubyVersions, kRubyPaths},
    Runtime{"PHP", Applies::Executable, R"(php([0-9.]+)?)", kPhpVersions, kPhpPaths},
    Runtime{"Lua", Applies::Executable, R"(lua([0-9.]+)?)", kLuaVersions, kLuaPaths},
    Runtime{"Node.js", Applies::Executable, R"(node(js)?)", {}, kNodePaths},
    Runtime{"JVM", Applies::Executable, R"(java)", kJavaVersions, kJavaPaths, true},
    Runtime{"glibc", Applies::EveryProgram, "", {}, kSystemPaths},
    Runtime{"glibc iconv", Applies::AnyRuntime, "", {}, kCharsetPaths},
};

}  // namespace

std::span<const Runtime> runtime_table() {
  return kRuntimes;
}
