#pragma once
#include <cstddef>

namespace lr {
// Peak resident set size of this process in bytes (VmHWM), 0 when unknown.
size_t peak_rss_bytes();
}  // namespace lr
