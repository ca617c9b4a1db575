// UserPtr<T>: an address in the program's memory, as a system call receives it. It cannot be
// dereferenced, only handed to kernel/linux/user_memory.h, whose copies check the range and
// survive a page that is unmapped, read-only or gone meanwhile (-EFAULT, never a kernel fault).
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace nimbus::linux {

template <typename T>
class UserPtr {
 public:
  using Element = T;

  constexpr UserPtr() = default;
  constexpr UserPtr(std::nullptr_t) {}
  // From a raw pointer that came from the program (code not yet converted to UserPtr): the
  // conversion is harmless, since a UserPtr only reaches memory through the checked copies.
  UserPtr(T* pointer) : m_address(reinterpret_cast<uintptr_t>(pointer)) {}
  // UserPtr<T> to UserPtr<const T>, UserPtr<void> or UserPtr<const void>.
  template <typename U>
    requires(!std::is_same_v<U, T> && std::is_convertible_v<U*, T*>)
  constexpr UserPtr(UserPtr<U> other) : m_address(other.address()) {}

  static constexpr UserPtr from_address(uintptr_t address) {
    UserPtr p;
    p.m_address = address;
    return p;
  }

  constexpr uintptr_t address() const { return m_address; }
  constexpr bool is_null() const { return m_address == 0; }
  constexpr explicit operator bool() const { return m_address != 0; }

  // The element `index` places further on (bytes for void).
  constexpr UserPtr at(size_t index) const {
    if constexpr (std::is_void_v<T>) return from_address(m_address + index);
    else return from_address(m_address + index * sizeof(T));
  }
  template <typename U>
  constexpr UserPtr<U> cast() const {
    return UserPtr<U>::from_address(m_address);
  }

 private:
  uintptr_t m_address = 0;
};

template <typename T>
struct IsUserPtr : std::false_type {};
template <typename T>
struct IsUserPtr<UserPtr<T>> : std::true_type {};
template <typename T>
constexpr bool kIsUserPtr = IsUserPtr<T>::value;

}  // namespace nimbus::linux
