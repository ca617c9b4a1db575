// GrowableArray<T>: a vector whose growth can fail (Errno::enomem) instead of panicking.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

#include "kernel/lib/ref_ptr.h"
#include "kernel/lib/result.h"

namespace nimbus::fs {

template <typename T>
class GrowableArray {
 public:
  GrowableArray() = default;
  GrowableArray(const GrowableArray&) = delete;
  GrowableArray& operator=(const GrowableArray&) = delete;
  ~GrowableArray() {
    clear();
    ::operator delete(m_data);
  }

  size_t size() const { return m_size; }
  size_t capacity() const { return m_capacity; }
  bool empty() const { return m_size == 0; }
  T& operator[](size_t i) { return m_data[i]; }
  const T& operator[](size_t i) const { return m_data[i]; }
  T* begin() { return m_data; }
  T* end() { return m_data + m_size; }
  const T* begin() const { return m_data; }
  const T* end() const { return m_data + m_size; }

  Result<> reserve(size_t capacity) {
    if (capacity <= m_capacity) return {};
    if (capacity > SIZE_MAX / sizeof(T)) return error(Errno::enomem);
    auto* data = static_cast<T*>(::operator new(capacity * sizeof(T), kNoThrow));
    if (!data) return error(Errno::enomem);
    for (size_t i = 0; i < m_size; i++) {
      new (&data[i]) T(std::move(m_data[i]));
      m_data[i].~T();
    }
    ::operator delete(m_data);
    m_data = data;
    m_capacity = capacity;
    return {};
  }
  // Makes room for one more element, doubling the capacity.
  Result<> reserve_one_more() {
    if (m_size < m_capacity) return {};
    return reserve(m_capacity ? m_capacity * 2 : 8);
  }
  Result<> push_back(T value) {
    TRY(reserve_one_more());
    new (&m_data[m_size]) T(std::move(value));
    m_size++;
    return {};
  }
  // For callers that reserved first: never fails.
  void push_back_reserved(T value) {
    new (&m_data[m_size]) T(std::move(value));
    m_size++;
  }
  void truncate(size_t size) {
    while (m_size > size) m_data[--m_size].~T();
  }
  void clear() { truncate(0); }

 private:
  T* m_data = nullptr;
  size_t m_size = 0;
  size_t m_capacity = 0;
};

}  // namespace nimbus::fs
