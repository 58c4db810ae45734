#include "core/logger.h"

namespace lr {
namespace {
LogLevel g_level = LogLevel::Info;
}
void set_log_level(LogLevel l) { g_level = l; }
LogLevel log_level() { return g_level; }
}  // namespace lr
