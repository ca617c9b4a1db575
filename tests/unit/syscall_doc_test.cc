// docs/syscalls.md must say exactly what kernel/linux/syscall_list.h says. Run with
// NIMBUS_WRITE_SYSCALLS_DOC=1 to rewrite the document from the list.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Entry {
  int number;
  std::string name;
  std::string status;
  std::string missing;
};

std::vector<Entry> entries() {
  std::vector<Entry> list;
#define SYSCALL(number, name, handler, status, missing) list.push_back({number, #name, #status, missing});
#define MISSING(number, name) list.push_back({number, #name, "missing", ""});
#include "kernel/linux/syscall_list.h"
#undef SYSCALL
#undef MISSING
  return list;
}

std::string render() {
  auto list = entries();
  size_t done = 0, partial = 0, missing = 0;
  for (const Entry& e : list) (e.status == "done" ? done : e.status == "partial" ? partial : missing)++;
  std::ostringstream out;
  out << "# Linux system calls in Nimbus\n\n"
      << "Every Linux x86-64 system call by number, and what Nimbus does with it. Generated from\n"
      << "`kernel/linux/syscall_list.h` (a unit test fails if the two differ; rewrite with\n"
      << "`NIMBUS_WRITE_SYSCALLS_DOC=1 ./build/syscall_doc_test`).\n\n"
      << "- **done**: implemented with Linux semantics;\n"
      << "- **partial**: implemented, with the limits named in the last column;\n"
      << "- **missing**: returns `-ENOSYS` (named once on the console with `--verbose`).\n\n"
      << "Totals: " << done << " done, " << partial << " partial, " << missing << " missing, of "
      << list.size() << ".\n\n"
      << "| number | name | status | what is missing |\n| ---: | --- | --- | --- |\n";
  for (const Entry& e : list)
    out << "| " << e.number << " | `" << e.name << "` | " << e.status << " | " << e.missing << " |\n";
  return out.str();
}

TEST(SyscallDoc, MatchesTheSyscallList) {
  std::string path = std::string(NIMBUS_SOURCE_DIR) + "/docs/syscalls.md";
  std::string expected = render();
  if (std::getenv("NIMBUS_WRITE_SYSCALLS_DOC")) {
    std::ofstream(path) << expected;
  }
  std::ifstream file(path);
  ASSERT_TRUE(file) << path << " is missing";
  std::stringstream text;
  text << file.rdbuf();
  EXPECT_EQ(text.str(), expected) << "docs/syscalls.md is out of date; regenerate it (see its header)";
}

TEST(SyscallDoc, ListCoversEveryNumberOnceInOrder) {
  auto list = entries();
  ASSERT_FALSE(list.empty());
  for (size_t i = 1; i < list.size(); i++) EXPECT_LT(list[i - 1].number, list[i].number) << list[i].name;
  for (const Entry& e : list) {
    EXPECT_TRUE(e.status == "done" || e.status == "partial" || e.status == "missing") << e.name;
    if (e.status == "partial") EXPECT_FALSE(e.missing.empty()) << e.name << ": say what is missing";
  }
}

}  // namespace
