#pragma once
#include <cstddef>

namespace lr {
// Peak resident set size of this process in bytes (VmHWM), 0 when unknown.
size_t peak_rss_bytes();
// Resident set size now (VmRSS), 0 when unknown.
size_t current_rss_bytes();
// Restarts the peak at the current RSS (Linux: "5" to /proc/self/clear_refs), so a later
// peak_rss_bytes() covers only what follows; false where the kernel does not allow it.
bool reset_peak_rss();
}  // namespace lr
