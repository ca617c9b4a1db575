// execve and execveat: a new program (an ELF, or a #! script's interpreter) in a fresh
// address space of the same process; a failed exec leaves the caller as it was.
#include <cstring>
#include <new>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/fpu.h"
#include "kernel/arch/x86_64/tlb.h"
#include "kernel/fs/fs.h"
#include "kernel/fs/fs_context.h"
#include "kernel/linux/elf.h"
#include "kernel/linux/file_syscalls.h"
#include "kernel/linux/credentials.h"
#include "kernel/linux/process.h"
#include "kernel/linux/program_boot.h"
#include "kernel/linux/signals.h"
#include "kernel/linux/syscalls.h"
#include "kernel/linux/user_memory.h"
#include "kernel/linux/vnode_mapping.h"
#include "kernel/mm/heap.h"
#include "kernel/sched/cpu.h"
#include "kernel/sched/scheduler.h"
#include "kernel/sched/thread.h"

extern "C" [[noreturn]] void enter_application(uint64_t entry, uint64_t stack);

namespace nimbus::linux {
namespace {

constexpr size_t kPathMax = 4096;
// ARG_MAX as Linux computes it for the default 8 MiB stack: a quarter of it.
constexpr size_t kArgMax = 2u << 20;
constexpr size_t kMaxStrings = 1u << 17;
// #! lines longer than this are cut (Linux: BINPRM_BUF_SIZE).
constexpr size_t kShebangMax = 256;
constexpr int kMaxInterpreterDepth = 4;

// A program's strings as one heap block: the ProgramStrings header, the argv and envp
// pointer arrays, then the path and the strings themselves.
struct StringBlock {
  ProgramStrings header;
  const char* path;        // as the program was executed by (AT_EXECFN, its name in comm)
  const char* executable;  // the file's own path, symbolic links resolved (/proc/PID/exe)
  const char** argv;
  const char** envp;
};

// Collects NUL-terminated strings into a growing buffer, then lays them out in a block.
class StringCollector {
 public:
  StringCollector() = default;
  StringCollector(const StringCollector&) = delete;
  StringCollector& operator=(const StringCollector&) = delete;
  ~StringCollector() {
    heap::free(m_data);
    heap::free(m_offsets);
  }

  void swap(StringCollector& other) {
    auto exchange = [](auto& a, auto& b) {
      auto t = a;
      a = b;
      b = t;
    };
    exchange(m_data, other.m_data);
    exchange(m_size, other.m_size);
    exchange(m_capacity, other.m_capacity);
    exchange(m_offsets, other.m_offsets);
    exchange(m_count, other.m_count);
    exchange(m_offsets_capacity, other.m_offsets_capacity);
  }

  Result<> add(const char* text, size_t length) {
    if (m_count == kMaxStrings) return error(Errno::e2big);
    if (m_size + length + 1 > kArgMax) return error(Errno::e2big);
    TRY(reserve(m_size + length + 1, m_count + 1));
    memcpy(m_data + m_size, text, length);
    m_data[m_size + length] = '\0';
    m_offsets[m_count++] = m_size;
    m_size += length + 1;
    return {};
  }

  // Copies the application's string at `user`.
  Result<> add_user(const char* user) {
    size_t room = 4096;
    for (;;) {
      if (m_size + room > kArgMax + 1) room = kArgMax + 1 - m_size;
      if (room == 0) return error(Errno::e2big);
      TRY(reserve(m_size + room, m_count + 1));
      auto copied = user::copy_string(m_data + m_size, user, room);
      if (copied) {
        m_offsets[m_count++] = m_size;
        m_size += *copied + 1;
        return {};
      }
      if (copied.error() != Errno::enametoolong) return error(copied.error());
      if (m_size + room > kArgMax) return error(Errno::e2big);
      room *= 2;
    }
  }

  // The application's NULL-terminated array of strings (a null array is empty).
  Result<size_t> add_user_array(const char* const* array) {
    size_t n = 0;
    if (!array) return n;
    for (;; n++) {
      if (n == kMaxStrings) return error(Errno::e2big);
      auto pointer = TRY(user::read(array + n));
      if (!pointer) return n;
      TRY(add_user(pointer));
    }
  }

  size_t count() const { return m_count; }
  const char* at(size_t i) const { return m_data + m_offsets[i]; }

 private:
  Result<> reserve(size_t bytes, size_t count) {
    if (bytes > m_capacity) {
      size_t capacity = m_capacity ? m_capacity : 4096;
      while (capacity < bytes) capacity *= 2;
      auto* data = static_cast<char*>(heap::allocate(capacity));
      if (!data) return error(Errno::enomem);
      if (m_data) memcpy(data, m_data, m_size);
      heap::free(m_data);
      m_data = data;
      m_capacity = capacity;
    }
    if (count > m_offsets_capacity) {
      size_t capacity = m_offsets_capacity ? m_offsets_capacity * 2 : 64;
      auto* offsets = static_cast<size_t*>(heap::allocate(capacity * sizeof(size_t)));
      if (!offsets) return error(Errno::enomem);
      if (m_offsets) memcpy(offsets, m_offsets, m_count * sizeof(size_t));
      heap::free(m_offsets);
      m_offsets = offsets;
      m_offsets_capacity = capacity;
    }
    return {};
  }

  char* m_data = nullptr;
  size_t m_size = 0;
  size_t m_capacity = 0;
  size_t* m_offsets = nullptr;
  size_t m_count = 0;
  size_t m_offsets_capacity = 0;
};

// Lays out path, argv (strings [0, argc) of `strings`) and envp (the rest) in one block.
Result<StringBlock*> make_block(const char* path, const char* executable, const StringCollector& strings,
                                size_t argc) {
  size_t envc = strings.count() - argc;
  size_t bytes =
      sizeof(StringBlock) + (argc + 1 + envc + 1) * sizeof(char*) + strlen(path) + 1 + strlen(executable) + 1;
  for (size_t i = 0; i < strings.count(); i++) bytes += strlen(strings.at(i)) + 1;
  auto* block = static_cast<StringBlock*>(heap::allocate(bytes, alignof(StringBlock)));
  if (!block) return error(Errno::enomem);
  new (&block->header) ProgramStrings();
  block->argv = reinterpret_cast<const char**>(block + 1);
  block->envp = block->argv + argc + 1;
  char* text = reinterpret_cast<char*>(block->envp + envc + 1);
  auto put = [&](const char* s) {
    size_t n = strlen(s) + 1;
    memcpy(text, s, n);
    const char* at = text;
    text += n;
    return at;
  };
  block->path = put(path);
  block->executable = put(executable);
  for (size_t i = 0; i < argc; i++) block->argv[i] = put(strings.at(i));
  block->argv[argc] = nullptr;
  for (size_t i = 0; i < envc; i++) block->envp[i] = put(strings.at(argc + i));
  block->envp[envc] = nullptr;
  return block;
}

// The executable at `path`: a regular file with an execute bit.
Result<RefPtr<fs::File>> open_executable(int dirfd, const char* path, uint32_t at_flags) {
  std::string_view name(path);
  if (name.empty() && !(at_flags & fs::linux_abi::at_empty_path)) return error(Errno::enoent);
  RefPtr<fs::File> file;
  if (name.empty()) {
    file = TRY(file_context().fds().get(dirfd));
  } else {
    uint32_t flags = fs::linux_abi::o_rdonly | ((at_flags & fs::linux_abi::at_symlink_nofollow) ? fs::linux_abi::o_nofollow : 0);
    file = TRY(fs::open_file(file_context(), dirfd, name, flags, 0));
  }
  fs::Stat s = file->vnode()->stat();
  if ((s.mode & fs::linux_abi::s_ifmt) != fs::linux_abi::s_ifreg) return error(Errno::eacces);
  if (!(s.mode & 0111)) return error(Errno::eacces);
  return file;
}

// A #! line's interpreter and its one optional argument (binfmt_script's parsing).
struct Shebang {
  char line[kShebangMax + 1];
  const char* interpreter;
  const char* argument;  // nullptr: none
};

bool parse_shebang(const uint8_t* head, size_t length, Shebang& out) {
  if (length < 2 || head[0] != '#' || head[1] != '!') return false;
  size_t n = length - 2 < kShebangMax ? length - 2 : kShebangMax;
  memcpy(out.line, head + 2, n);
  out.line[n] = '\0';
  if (char* newline = strchr(out.line, '\n')) *newline = '\0';
  char* p = out.line;
  while (*p == ' ' || *p == '\t') p++;
  out.interpreter = p;
  while (*p && *p != ' ' && *p != '\t') p++;
  out.argument = nullptr;
  if (*p) {
    *p++ = '\0';
    while (*p == ' ' || *p == '\t') p++;
    char* end = p + strlen(p);
    while (end > p && (end[-1] == ' ' || end[-1] == '\t')) *--end = '\0';
    if (*p) out.argument = p;
  }
  return *out.interpreter != '\0';
}

// Runs the calling thread on `space`'s page tables (the process's space too).
void switch_space(Process& process, AddressSpace* space) {
  Thread* self = current_thread();
  {
    SpinlockGuard guard(process_tree_lock());  // /proc/PID takes its reference under it
    process.space = space;
  }
  bool interrupts = x86::save_and_disable_interrupts();
  self->page_tables = &space->tlb_context();
  tlb::load(self->page_tables);
  x86::restore_interrupts(interrupts);
}

// Ends every other thread of the process and waits until they are gone.
void end_other_threads(Process& process) {
  if (process.live_threads.load() == 1) return;
  // Their SIGKILL must end them, not the process (exit_process looks at exec_thread).
  process.exec_thread.store(&current_linux_thread());
  kill_other_threads(process);
  while (process.live_threads.load() > 1) {
    // An exit_group or fatal signal that came first ends this thread too.
    if (process.exiting.load()) {
      process.exec_thread.store(nullptr);
      exit_thread(process.exit_status);
    }
    scheduler::sleep_for(1'000'000);
  }
  process.exec_thread.store(nullptr);
}

// The new program is loaded: what execve resets in the process and the thread.
void reset_for_new_program(Process& process, LinuxThread& thread) {
  file_context().fds().close_on_exec();
  reset_caught_signal_actions(process);  // the mask stays
  thread.alternate_stack = 0;
  thread.alternate_stack_size = 0;
  thread.alternate_stack_disabled = true;
  thread.clear_child_tid = 0;
  thread.robust_list = 0;
  thread.robust_list_length = 0;
  thread.name[0] = '\0';
  Thread* self = current_thread();
  bool interrupts = x86::save_and_disable_interrupts();
  self->fs_base = 0;
  x86::wrmsr(x86::msr::kFsBase, 0);
  fpu::init_state(self->extended_state);
  fpu::restore(self->extended_state);
  x86::restore_interrupts(interrupts);
}

// execve's large buffers: kernel stacks are small.
struct ExecBuffers {
  char path[kPathMax];
  char program_path[kPathMax];
  uint8_t head[kShebangMax + 2];
  Shebang shebang;
};

struct FreeOnReturn {
  void* memory;
  ~FreeOnReturn() { heap::free(memory); }
};

struct NewProgram {
  uint64_t entry;
  uint64_t stack;
};

// Everything execve does before jumping to the new program, so that every temporary is
// released by the time it jumps.
Result<NewProgram> load_program(int dirfd, const char* user_path, const char* const* user_argv, const char* const* user_envp,
                     int at_flags) {
  if (at_flags & ~(fs::linux_abi::at_empty_path | fs::linux_abi::at_symlink_nofollow)) return error(Errno::einval);
  auto* buffers = static_cast<ExecBuffers*>(heap::allocate(sizeof(ExecBuffers), alignof(ExecBuffers)));
  if (!buffers) return error(Errno::enomem);
  FreeOnReturn free_buffers{buffers};
  char* path = buffers->path;
  char* program_path = buffers->program_path;
  uint8_t* head = buffers->head;
  Shebang& shebang = buffers->shebang;
  TRY(user::copy_string(path, user_path, kPathMax));
  StringCollector strings;
  size_t argc = TRY(strings.add_user_array(user_argv));
  TRY(strings.add_user_array(user_envp));

  // #! scripts: the interpreter runs with the script's path after its own argument.
  RefPtr<fs::File> file = TRY(open_executable(dirfd, path, static_cast<uint32_t>(at_flags)));
  strcpy(program_path, path);
  for (int depth = 0;; depth++) {
    size_t length = TRY(file->pread({reinterpret_cast<std::byte*>(head), kShebangMax + 2}, 0));
    if (!parse_shebang(head, length, shebang)) {
      if (length < 4 || memcmp(head, "\x7f" "ELF", 4) != 0) return error(Errno::enoexec);
      break;
    }
    if (depth == kMaxInterpreterDepth) return error(Errno::eloop);
    StringCollector rewritten;
    TRY(rewritten.add(shebang.interpreter, strlen(shebang.interpreter)));
    if (shebang.argument) TRY(rewritten.add(shebang.argument, strlen(shebang.argument)));
    TRY(rewritten.add(program_path, strlen(program_path)));
    // The script's own argv[0] gives way to its path; the rest and the environment follow.
    for (size_t i = 1; i < argc; i++) TRY(rewritten.add(strings.at(i), strlen(strings.at(i))));
    size_t new_argc = rewritten.count();
    for (size_t i = argc; i < strings.count(); i++) TRY(rewritten.add(strings.at(i), strlen(strings.at(i))));
    argc = new_argc;
    strings.swap(rewritten);
    if (strlen(shebang.interpreter) >= kPathMax) return error(Errno::enametoolong);
    strcpy(program_path, shebang.interpreter);
    file = TRY(open_executable(fs::linux_abi::at_fdcwd, program_path, 0));
  }

  // /proc/PID/exe names the file itself: its path with links resolved (the path as given
  // if the file has none, e.g. opened by descriptor and since unlinked).
  TextBuffer executable;
  if (!file_path(*file, executable) || executable.text().empty()) executable.append(program_path);
  executable.append(std::string_view("", 1));
  // AT_EXECFN and the process's name are the path execve was given (a script's, not its
  // interpreter's); relative to a directory descriptor it reads "/dev/fd/N/path", as on Linux.
  TextBuffer exec_name;
  if (path[0] == '\0') exec_name.format("/dev/fd/%d", dirfd);
  else if (path[0] != '/' && dirfd != fs::linux_abi::at_fdcwd) exec_name.format("/dev/fd/%d/%s", dirfd, path);
  else exec_name.append(path);
  exec_name.append(std::string_view("", 1));
  if (executable.text().empty() || exec_name.text().size() < 2) return error(Errno::enomem);
  StringBlock* block = TRY(make_block(exec_name.text().data(), executable.text().data(), strings, argc));
  fs::Stat file_stat = file->vnode()->stat();
  uint64_t size = file_stat.size;
  auto mapped = map_vnode(file->vnode(), program_path);
  if (!mapped) {
    heap::free(block);
    return error(mapped.error());
  }
  // exec makes a new layout (fork kept the parent's).
  ProgramLayout layout = choose_layout();
  auto fresh = AddressSpace::try_create(layout.mmap_begin);
  if (!fresh) {
    (*mapped)->release();
    heap::free(block);
    return error(fresh.error());
  }

  Process& process = current_process();
  LinuxThread& thread = current_linux_thread();
  // Other threads would run on the old memory meanwhile: they end first (as Linux's
  // de_thread, though before the load rather than after it).
  end_other_threads(process);
  AddressSpace* old = process.space;
  switch_space(process, *fresh);
  auto image = load_elf(**fresh, **mapped, size, open_mapped, layout);
  (*mapped)->release();
  Program program{block->path, block->argv, block->envp};
  ProcessInfo info{block->executable, block->argv, block->envp};
  info.name = block->path;
  Result<uintptr_t> stack = error(Errno::enoexec);
  if (image) {
    (*fresh)->set_break_base(image->break_base);
    stack = prepare_program_stack(**fresh, program, *image, layout, info);
  }
  if (!stack) {
    switch_space(process, old);
    (*fresh)->release();
    heap::free(block);
    return error(image ? stack.error() : image.error().error);
  }

  // No way back from here.
  old->release();
  finish_vfork(process);
  reset_for_new_program(process, thread);
  // Set-user-ID and set-group-ID programs, and the capabilities of the new program's ids.
  apply_exec_credentials(file_stat.mode, file_stat.uid, file_stat.gid);
  // A traced process stops with SIGTRAP once the new program is in place, as on Linux.
  if (process.tracer.load()) (void)send_signal(thread.tid, kSigtrap, kSiUser);
  ProgramStrings* old_strings;
  {
    // /proc/PID copies info and takes a reference to the strings under the tree lock.
    SpinlockGuard guard(process_tree_lock());
    old_strings = process.strings;
    process.strings = &block->header;
    process.info = info;
    process.has_execed = true;
  }
  if (old_strings) old_strings->release();
  return NewProgram{image->entry, *stack};
}

Result<long> execute(int dirfd, const char* path, const char* const* argv, const char* const* envp, int flags) {
  NewProgram program = TRY(load_program(dirfd, path, argv, envp, flags));
  enter_application(program.entry, program.stack);
}

}  // namespace

Result<long> sys_execve(const char* path, const void* argv, const void* envp) {
  return execute(fs::linux_abi::at_fdcwd, path, static_cast<const char* const*>(argv),
                 static_cast<const char* const*>(envp), 0);
}

Result<long> sys_execveat(int dirfd, const char* path, const void* argv, const void* envp, int flags) {
  return execute(dirfd, path, static_cast<const char* const*>(argv), static_cast<const char* const*>(envp), flags);
}

}  // namespace nimbus::linux
