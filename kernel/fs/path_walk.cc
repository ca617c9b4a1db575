// PathWalk: the component loop, with an explicit stack of symlink targets being walked.
#include "kernel/fs/path_walk.h"

namespace nimbus::fs {

using namespace linux_abi;

namespace {

// string_view's find() and substr() would need memchr and the exception hooks, which the
// freestanding kernel does not have; these loops need neither.
std::string_view skip_slashes(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && text[i] == '/') i++;
  text.remove_prefix(i);
  return text;
}

size_t component_length(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && text[i] != '/') i++;
  return i;
}

LastKind kind_of(std::string_view name) {
  if (name == ".") return LastKind::dot;
  if (name == "..") return LastKind::dotdot;
  return LastKind::normal;
}

}  // namespace

Result<> PathWalk::count_link() {
  if (++m_links > maxsymlinks) return error(Errno::eloop);
  return {};
}

Result<RefPtr<Vnode>> PathWalk::step_into(const RefPtr<Vnode>& directory, std::string_view name) {
  RefPtr<Vnode> child = TRY(directory->lookup(name));
  while (RefPtr<Vnode> mounted = m_mounts.mounted_on(child.get())) child = std::move(mounted);
  return child;
}

Result<RefPtr<Vnode>> PathWalk::step_up(const RefPtr<Vnode>& directory) {
  RefPtr<Vnode> current = directory;
  while (current != m_root) {
    RefPtr<Vnode> covered = m_mounts.covered_by(current.get());
    if (!covered) break;
    current = std::move(covered);
  }
  if (current == m_root) return current;
  RefPtr<Vnode> parent = TRY(current->lookup(".."));
  while (RefPtr<Vnode> mounted = m_mounts.mounted_on(parent.get())) parent = std::move(mounted);
  return parent;
}

Result<PathWalk::Outcome> PathWalk::walk(const RefPtr<Vnode>& start, std::string_view path,
                                         bool stop_before_last, Follow follow) {
  if (path.empty()) return error(Errno::enoent);
  if (path.size() >= path_max) return error(Errno::enametoolong);

  // Frame 0 is the path; each further frame a symlink target whose walk interrupted the
  // frame below, which still has components left. A link that is the last component of
  // its frame replaces the frame instead, so the depth stays within the link count.
  struct Frame {
    std::string_view rest;
    RefPtr<Vnode> owner;  // the symlink `rest` points into
  };
  Frame frames[maxsymlinks + 1];
  int depth = 0;
  frames[0].rest = path;
  RefPtr<Vnode> current = path[0] == '/' ? m_root : start;
  bool trailing_slash = false;

  while (true) {
    Frame& frame = frames[depth];
    frame.rest = skip_slashes(frame.rest);
    if (frame.rest.empty()) {
      if (depth > 0) {
        frames[depth--] = Frame{};
        continue;
      }
      // Only slashes were left: the path was "/" (or a link to it).
      if (stop_before_last) {
        return Outcome{nullptr, ParentResult{current, {}, LastKind::root, false}};
      }
      break;
    }
    size_t length = component_length(frame.rest);
    std::string_view name(frame.rest.data(), length);
    std::string_view after = frame.rest;
    after.remove_prefix(length);
    bool last_in_frame = skip_slashes(after).empty();
    bool final = last_in_frame && depth == 0;
    if (name.size() > name_max) return error(Errno::enametoolong);
    frame.rest = after;
    if (final && !after.empty()) trailing_slash = true;

    if (!current->is_directory()) return error(Errno::enotdir);
    if (final && stop_before_last) {
      return Outcome{nullptr, ParentResult{current, name, kind_of(name), trailing_slash}};
    }
    if (name == ".") {
      if (final) m_found_in = nullptr;
    } else if (name == "..") {
      current = TRY(step_up(current));
      if (final) m_found_in = nullptr;
    } else {
      RefPtr<Vnode> child = TRY(step_into(current, name));
      if (child->is_symlink() && (!final || follow == Follow::yes || trailing_slash)) {
        TRY(count_link());
        if (RefPtr<Vnode> object = child->magic_link_target()) {
          current = std::move(object);
          if (final) break;
          continue;
        }
        std::string_view target = TRY(child->link_target());
        if (target.empty()) return error(Errno::enoent);
        if (target[0] == '/') current = m_root;
        if (last_in_frame) {
          frames[depth] = Frame{target, std::move(child)};
        } else {
          frames[++depth] = Frame{target, std::move(child)};
        }
        continue;
      }
      m_found_in = std::move(current);
      current = std::move(child);
    }
    if (final) break;
  }
  if (trailing_slash && !current->is_directory()) return error(Errno::enotdir);
  return Outcome{std::move(current), {}};
}

Result<RefPtr<Vnode>> PathWalk::resolve(const RefPtr<Vnode>& start, std::string_view path, Follow follow) {
  Outcome outcome = TRY(walk(start, path, false, follow));
  return std::move(outcome.node);
}

Result<ParentResult> PathWalk::resolve_parent(const RefPtr<Vnode>& start, std::string_view path) {
  Outcome outcome = TRY(walk(start, path, true, Follow::no));
  return std::move(outcome.parent);
}

}  // namespace nimbus::fs
