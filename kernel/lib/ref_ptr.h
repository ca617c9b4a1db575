// Intrusive reference counting: RefCounted<T> (the count lives in the object) and RefPtr<T>.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

#include "kernel/lib/result.h"

namespace nimbus {

// `new (kNoThrow) T`: std::nothrow is an object defined in libsupc++, which the kernel does not
// link, so fallible allocations name this constant instead.
inline constexpr std::nothrow_t kNoThrow{};

// A new object starts with one reference, which adopt_ref() hands to its first RefPtr (as in
// SerenityOS), so an object is never seen with a count of zero before it dies. Objects are
// deleted through `delete static_cast<T*>(this)`: a polymorphic T needs a virtual destructor.
template <typename T>
class RefCounted {
 public:
  RefCounted() = default;
  RefCounted(const RefCounted&) = delete;
  RefCounted& operator=(const RefCounted&) = delete;

  void ref() const { m_ref_count.fetch_add(1, std::memory_order_relaxed); }
  void unref() const {
    // Release so this thread's writes happen before the destructor; acquire on the last one.
    if (m_ref_count.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      delete static_cast<const T*>(this);
    }
  }
  uint32_t ref_count() const { return m_ref_count.load(std::memory_order_relaxed); }
  // Takes a reference unless the object is already dying (its count reached zero): for
  // tables that point at objects without owning them.
  bool try_ref() const {
    uint32_t count = m_ref_count.load(std::memory_order_relaxed);
    while (count != 0)
      if (m_ref_count.compare_exchange_weak(count, count + 1, std::memory_order_acquire, std::memory_order_relaxed))
        return true;
    return false;
  }

 protected:
  ~RefCounted() = default;

 private:
  mutable std::atomic<uint32_t> m_ref_count{1};
};

template <typename T>
class RefPtr;
template <typename T>
RefPtr<T> adopt_ref(T* object);

// A counted pointer; null by default. Copying takes a reference, moving steals one.
template <typename T>
class RefPtr {
 public:
  RefPtr() = default;
  RefPtr(std::nullptr_t) {}
  // Takes a new reference to an object that is already owned elsewhere.
  explicit RefPtr(T* object) : m_object(object) {
    if (m_object) m_object->ref();
  }
  explicit RefPtr(T& object) : RefPtr(&object) {}
  RefPtr(const RefPtr& other) : RefPtr(other.m_object) {}
  RefPtr(RefPtr&& other) : m_object(std::exchange(other.m_object, nullptr)) {}
  template <typename U>
    requires std::is_convertible_v<U*, T*>
  RefPtr(const RefPtr<U>& other) : RefPtr(static_cast<T*>(other.get())) {}
  template <typename U>
    requires std::is_convertible_v<U*, T*>
  RefPtr(RefPtr<U>&& other) : m_object(other.leak_ref()) {}
  ~RefPtr() { clear(); }

  RefPtr& operator=(const RefPtr& other) {
    RefPtr copy(other);
    swap(copy);
    return *this;
  }
  RefPtr& operator=(RefPtr&& other) {
    RefPtr moved(std::move(other));
    swap(moved);
    return *this;
  }
  RefPtr& operator=(std::nullptr_t) {
    clear();
    return *this;
  }

  void clear() {
    if (T* object = std::exchange(m_object, nullptr)) object->unref();
  }
  void swap(RefPtr& other) { std::swap(m_object, other.m_object); }

  T* get() const { return m_object; }
  T* operator->() const { return m_object; }
  T& operator*() const { return *m_object; }
  explicit operator bool() const { return m_object != nullptr; }
  bool operator==(const RefPtr& other) const { return m_object == other.m_object; }
  bool operator==(const T* other) const { return m_object == other; }
  bool operator==(std::nullptr_t) const { return m_object == nullptr; }

  // Gives up the reference without dropping it.
  [[nodiscard]] T* leak_ref() { return std::exchange(m_object, nullptr); }

 private:
  friend RefPtr adopt_ref<T>(T*);
  struct AdoptTag {};
  RefPtr(T* object, AdoptTag) : m_object(object) {}

  T* m_object = nullptr;
};

// Wraps a freshly created object (count 1) without taking another reference.
template <typename T>
RefPtr<T> adopt_ref(T* object) {
  return RefPtr<T>(object, typename RefPtr<T>::AdoptTag{});
}

// Allocates a T without panicking when memory runs out: Errno::enomem instead.
template <typename T, typename... Args>
Result<RefPtr<T>> try_make_ref(Args&&... args) {
  T* object = new (kNoThrow) T(std::forward<Args>(args)...);
  if (!object) return error(Errno::enomem);
  return adopt_ref(object);
}

}  // namespace nimbus
