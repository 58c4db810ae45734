#include "cli/commands.h"

#include <cstdlib>

namespace lr::cli {

// Each command file provides one of these.
// One command per line so parallel branches merge cleanly.
#define LR_COMMANDS(X) \
  X(version)           \
  X(tokenize)          \
  X(render)            \
  X(generate)          \
  X(logits)            \
  X(init_random)       \
  X(bench)             \
  X(train)             \
  X(bench_train)       \
  X(demo)              \
  X(eval)              \
  X(sweep)             \
  X(chat)              \
  X(serve)             \
  X(score)
#define LR_DECLARE(name) void register_##name(CLI::App& app);
LR_COMMANDS(LR_DECLARE)
#undef LR_DECLARE

std::vector<Command>& registry() {
  static std::vector<Command> r;
  return r;
}

void register_all(CLI::App& app) {
#define LR_REGISTER(name) register_##name(app);
  LR_COMMANDS(LR_REGISTER)
#undef LR_REGISTER
}

int run_selected(CLI::App& app) {
  (void)app;
  for (auto& c : registry())
    if (c.app->parsed()) return c.run();
  return 1;
}

Json threading_env() {
  Json j = Json::object();
  for (const EnvDefault& e : kThreadingEnv) {
    const char* v = std::getenv(e.name);
    j[e.name] = v ? v : "";
  }
  return j;
}

}  // namespace lr::cli
