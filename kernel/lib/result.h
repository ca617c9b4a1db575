// Result<T>: the kernel's error-returning type, and TRY to propagate errors.
#pragma once

#include <expected>

#include "errno.h"

template <typename T = void>
using Result = std::expected<T, Errno>;

inline constexpr std::unexpected<Errno> error(Errno e) { return std::unexpected<Errno>(e); }

// Evaluates a Result-returning expression; returns its error from the enclosing function,
// otherwise yields the value (a GNU statement expression, as in SerenityOS's TRY).
#define TRY(expr)                                                      \
  ({                                                                   \
    auto _try_result = (expr);                                         \
    if (!_try_result) return std::unexpected(_try_result.error());     \
    *std::move(_try_result);                                           \
  })
