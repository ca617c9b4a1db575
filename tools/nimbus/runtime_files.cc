// find_runtime_files(): applies the runtime table to a program: which rows apply, the values of
// their templates (version, prefix, locale, ...) read from file names and files, and the host
// paths that exist. Nothing is run.
#include "runtime_files.h"

#include <dirent.h>
#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include "text.h"

namespace {

using Values = std::map<std::string, std::vector<std::string>, std::less<>>;

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

std::vector<std::string> directory_names(const std::string& dir) {
  std::vector<std::string> names;
  DIR* handle = ::opendir(dir.empty() ? "/" : dir.c_str());
  if (!handle) return names;
  while (dirent* entry = ::readdir(handle)) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  ::closedir(handle);
  std::sort(names.begin(), names.end());
  return names;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string strip_root(const std::string& path, const std::string& root) {
  if (!root.empty() && path.starts_with(root) && (path.size() == root.size() || path[root.size()] == '/'))
    return path.size() == root.size() ? "/" : path.substr(root.size());
  return path;
}

// Every way to fill the template's {names}; none when a name has no value.
std::vector<std::string> substitute(std::string_view text, const Values& values) {
  std::vector<std::string> results{""};
  while (!text.empty()) {
    std::size_t open = text.find('{');
    std::size_t close = open == std::string_view::npos ? open : text.find('}', open);
    if (close == std::string_view::npos) {
      for (std::string& result : results) result += text;
      break;
    }
    for (std::string& result : results) result += text.substr(0, open);
    auto value = values.find(text.substr(open + 1, close - open - 1));
    if (value == values.end() || value->second.empty()) return {};
    std::vector<std::string> next;
    for (const std::string& result : results)
      for (const std::string& choice : value->second) next.push_back(result + choice);
    results = std::move(next);
    text.remove_prefix(close + 1);
  }
  return results;
}

bool has_glob(std::string_view component) {
  return component.find_first_of("*?[") != std::string_view::npos;
}

// The root-relative paths a template path with globs names, existing ones only.
std::vector<std::string> expand_globs(const std::string& path, const std::string& root) {
  std::vector<std::string> current{""};
  for (const auto& part : std::filesystem::path(path)) {
    std::string component = part.string();
    if (component.empty() || component == "/") continue;
    std::vector<std::string> next;
    for (const std::string& base : current) {
      if (!has_glob(component)) {
        next.push_back(cat(base, "/", component));
        continue;
      }
      for (const std::string& name : directory_names(root + base))
        if (::fnmatch(component.c_str(), name.c_str(), FNM_PERIOD) == 0)
          next.push_back(cat(base, "/", name));
    }
    current = std::move(next);
  }
  std::erase_if(current, [&](const std::string& p) { return p.empty() || !exists(root + p); });
  return current;
}

std::optional<std::string> highest(std::vector<std::string> versions) {
  if (versions.empty()) return std::nullopt;
  return *std::max_element(versions.begin(), versions.end(),
                           [](const std::string& a, const std::string& b) { return version_less(a, b); });
}

std::optional<std::string> find_version(const Runtime& runtime, const ProgramFacts& facts,
                                        const Values& values) {
  for (const VersionSource& source : runtime.versions) {
    std::regex pattern;
    std::smatch match;
    switch (source.from) {
      case VersionSource::From::Executable:
        pattern = std::regex(std::string(source.pattern));
        if (std::regex_search(facts.executable, match, pattern)) return match[1].str();
        break;
      case VersionSource::From::NeededLibrary:
        pattern = std::regex(std::string(source.pattern));
        for (const std::string& needed : facts.needed)
          if (std::regex_search(needed, match, pattern)) return match[1].str();
        break;
      case VersionSource::From::ExistingPath: {
        std::string_view text = source.pattern;
        std::size_t slash = text.rfind('/');
        pattern = std::regex(std::string(text.substr(slash + 1)));
        std::vector<std::string> found;
        for (const std::string& dir : substitute(text.substr(0, slash), values))
          for (const std::string& name : directory_names(facts.root + dir))
            if (std::regex_match(name, match, pattern)) found.push_back(match[1].str());
        if (auto version = highest(std::move(found))) return version;
        break;
      }
    }
  }
  return std::nullopt;
}

std::string major_minor(const std::string& version) {
  std::size_t first = version.find('.');
  if (first == std::string::npos) return version;
  return version.substr(0, version.find('.', first + 1));
}

// The locales the guest's environment names (LANG, LC_ALL, LC_*), as spelled, the built-in C and
// POSIX (and paths) left out.
std::vector<std::string> named_locales(const std::vector<std::string>& environment) {
  std::vector<std::string> values;
  for (const std::string& entry : environment) {
    std::size_t eq = entry.find('=');
    std::string_view key = std::string_view(entry).substr(0, eq);
    if (eq == std::string::npos || (key != "LANG" && !key.starts_with("LC_"))) continue;
    std::string value = entry.substr(eq + 1);
    if (value.empty() || value == "C" || value == "POSIX" || value.find('/') != std::string::npos)
      continue;
    values.push_back(std::move(value));
  }
  return values;
}

// The guest's locale names, as spelled and normalized.
std::vector<std::string> locale_names(const std::vector<std::string>& environment) {
  std::vector<std::string> names;
  for (const std::string& value : named_locales(environment))
    for (std::string name : {normalized_locale(value), value})
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  return names;
}

// {locale_archive}: one empty value (the path is used as it is) when a locale the guest names has
// no directory of its own under /usr/lib/locale: then glibc can only find it in the locale
// archive, where locale-gen and the locales package put every locale they compile.
std::vector<std::string> locale_archive(const std::vector<std::string>& environment,
                                        const std::string& root) {
  for (const std::string& value : named_locales(environment)) {
    std::error_code ec;
    bool has_directory = false;
    for (const std::string& name : {normalized_locale(value), value})
      has_directory |= std::filesystem::is_directory(root + "/usr/lib/locale/" + name, ec);
    if (!has_directory) return {""};
  }
  return {};
}

std::vector<std::string> time_zone(const std::vector<std::string>& environment) {
  for (const std::string& entry : environment) {
    if (!entry.starts_with("TZ=")) continue;
    std::string zone = entry.substr(3);
    if (zone.starts_with(':')) zone.erase(0, 1);
    // An absolute TZ names its own file; ".." would leave the zoneinfo directory.
    if (zone.empty() || zone.starts_with('/') || zone.find("..") != std::string::npos) return {};
    return {zone};
  }
  return {};
}

// {prefix}: the directory above the executable's bin/ (or its own directory), root-relative.
std::string prefix_of(const ProgramFacts& facts) {
  std::filesystem::path dir = std::filesystem::path(facts.executable).parent_path();
  if (dir.filename() == "bin" || dir.filename() == "sbin") dir = dir.parent_path();
  return strip_root(dir.string(), facts.root);
}

}  // namespace

bool version_less(std::string_view a, std::string_view b) {
  while (!a.empty() && !b.empty()) {
    unsigned long x = 0, y = 0;
    auto [a_end, a_error] = std::from_chars(a.data(), a.data() + a.size(), x);
    auto [b_end, b_error] = std::from_chars(b.data(), b.data() + b.size(), y);
    if (x != y) return x < y;
    a.remove_prefix(static_cast<std::size_t>(a_end - a.data()));
    b.remove_prefix(static_cast<std::size_t>(b_end - b.data()));
    // Skip the separator (or anything that is not a number) and go on.
    if (!a.empty()) a.remove_prefix(1);
    if (!b.empty()) b.remove_prefix(1);
  }
  return a.empty() && !b.empty();  // "5.36" before "5.36.0"
}

std::string normalized_locale(std::string_view name) {
  std::size_t dot = name.find('.');
  if (dot == std::string_view::npos) return std::string(name);
  std::size_t at = name.find('@', dot);
  std::string_view codeset = name.substr(dot + 1, at == std::string_view::npos ? at : at - dot - 1);
  std::string normal;
  bool only_digits = true;
  for (char c : codeset) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalpha(u)) {
      normal += static_cast<char>(std::tolower(u));
      only_digits = false;
    } else if (std::isdigit(u)) {
      normal += c;
    }
  }
  if (only_digits) normal = "iso" + normal;
  std::string result(name.substr(0, dot + 1));
  result += normal;
  if (at != std::string_view::npos) result += name.substr(at);
  return result;
}

std::vector<std::string> nsswitch_services(std::string_view text) {
  std::vector<std::string> services;
  std::istringstream lines{std::string(text)};
  for (std::string line; std::getline(lines, line);) {
    line = line.substr(0, line.find('#'));
    std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::istringstream words(line.substr(colon + 1));
    bool in_action = false;
    for (std::string word; words >> word;) {
      // "[NOTFOUND=return]" and "[ !UNAVAIL=return ]" are actions, not services.
      if (word.starts_with('[')) in_action = true;
      bool action = in_action;
      if (word.ends_with(']')) in_action = false;
      if (action) continue;
      bool valid = std::all_of(word.begin(), word.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
      });
      if (valid && std::find(services.begin(), services.end(), word) == services.end())
        services.push_back(word);
    }
  }
  return services;
}

RuntimeFiles find_runtime_files(const ProgramFacts& facts, std::span<const Runtime> table) {
  RuntimeFiles result;
  std::string file_name = std::filesystem::path(facts.executable).filename().string();

  Values shared;
  shared["prefix"] = {prefix_of(facts)};
  shared["locale"] = locale_names(facts.environment);
  shared["locale_archive"] = locale_archive(facts.environment, facts.root);
  shared["tz"] = time_zone(facts.environment);
  shared["nss"] = nsswitch_services(read_text(facts.root + "/etc/nsswitch.conf"));

  std::set<std::string> seen;
  bool runtime_matched = false;
  for (const Runtime& runtime : table) {
    switch (runtime.applies) {
      case Runtime::Applies::Executable:
        if (!std::regex_match(file_name, std::regex(std::string(runtime.executable)))) continue;
        runtime_matched = true;
        break;
      case Runtime::Applies::AnyRuntime:
        if (!runtime_matched) continue;
        break;
      case Runtime::Applies::EveryProgram:
        break;
    }
    Values values = shared;
    std::string label(runtime.name);
    if (auto version = find_version(runtime, facts, values)) {
      values["version"] = {*version};
      values["major_minor"] = {major_minor(*version)};
      label = cat(label, " ", *version);
    }
    result.runtimes.push_back(label);
    result.start_by_real_path |= runtime.start_by_real_path;
    for (const RuntimePath& path : runtime.paths) {
      for (const std::string& filled : substitute(path.path, values)) {
        for (const std::string& found : expand_globs(filled, facts.root)) {
          std::string host = facts.root + found;
          if (!seen.insert(host).second) continue;
          RuntimeFile file{host, cat(label, ": ", path.why), {}};
          if (!path.leave_out.empty()) file.leave_out.push_back(cat(host, "/", path.leave_out));
          result.files.push_back(std::move(file));
        }
      }
    }
  }
  return result;
}
