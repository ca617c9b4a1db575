// --strace: system call names checked against the kernel's own list (syscall_list.h).
#include "strace_option.h"

#include <algorithm>
#include <array>

#include "text.h"

namespace {

constexpr std::string_view kSyscallNames[] = {
#define SYSCALL(number, name, handler, status, missing) #name,
#define MISSING(number, name) #name,
#include "kernel/linux/syscall_list.h"
#undef SYSCALL
#undef MISSING
};

}  // namespace

CliResult<std::string> parse_strace_filter(std::string_view list) {
  std::string_view rest = list;
  while (true) {
    std::string_view name = rest.substr(0, rest.find(','));
    if (name.empty())
      return usage_error(cat("--strace='", list, "' has an empty name (use --strace=open,read)"));
    if (std::ranges::find(kSyscallNames, name) == std::end(kSyscallNames))
      return usage_error(cat("--strace: no system call is named '", name, "'"));
    if (name.size() == rest.size()) break;
    rest.remove_prefix(name.size() + 1);
  }
  return std::string(list);
}

std::string strace_kernel_word(const std::string& filter) {
  return filter.empty() ? "strace" : "strace=" + filter;
}
