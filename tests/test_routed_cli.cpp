// --adapters, --gates and --no-lora on generate, logits and bench, through the binary, on a
// tiny random model written to a temp directory (token-id prompts: no tokenizer needed).
#include <gtest/gtest.h>

#include <filesystem>

#include "cli_util.h"
#include "io/atomic_file.h"
#include "io/json.h"
#include "io/npy.h"
#include "layerroute/adapters.h"
#include "layerroute/routed_session.h"
#include "routed_ref.h"
#include "temp_path.h"

namespace lr::test {
namespace {

namespace fs = std::filesystem;
using namespace lr::routed_test;

struct TinyDirs {
  Model m = tiny_model(4);
  std::string model_dir, adapter_dir;
  LoraWeights lora;
  RouterWeights router;
  TinyDirs() {
    const fs::path root = temp_path("lr_cli_routed");
    fs::remove_all(root);
    model_dir = (root / "model").string();
    adapter_dir = (root / "adapters").string();
    fs::create_directories(model_dir);
    write_file_atomic(model_dir + "/config.json", m.config.to_json().dump(2));
    write_safetensors(model_dir + "/model.safetensors", m.weights.to_tensors());
    LoraConfig lc;
    lc.rank = 2;
    lora = LoraWeights::init(m.config, lc, 3);
    for (auto& a : lora.adapters)
      for (size_t i = 0; i < a.B.size(); ++i) a.B[i] = 0.05f * float(int(i % 7) - 3);
    router = RouterWeights::init(m.config);  // blocks in the middle band start closed
    save_adapters(adapter_dir, &lora, &router);
  }
};

const TinyDirs& dirs() {
  static TinyDirs d;
  return d;
}

std::vector<float> logits_cli(const std::string& flags, const std::string& ids, bool* ok) {
  const std::string out = temp_path("lr_cli_routed_logits.npy").string();
  fs::remove(out);
  auto r = run_cli("logits --model " + dirs().model_dir + " --ids " + ids +
                   " --all-positions --out " + out + " " + flags);
  *ok = r.rc == 0;
  EXPECT_EQ(r.rc, 0) << r.err;
  return *ok ? read_npy_f32(out).data : std::vector<float>{};
}

TEST(CliRouted, GenerateWithAdaptersAndMask) {
  const auto& d = dirs();
  auto r = run_cli("generate --model " + d.model_dir + " --ids 1,2,3,4 -n 5 --adapters " +
                   d.adapter_dir + " --gates mask:1011");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("blocks run: 3/4 [1011]"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("tok/s routed"), std::string::npos) << r.err;
  // Greedy output equals the library's routed session with the same adapters.
  const Adapters ad = Adapters::load(d.adapter_dir, d.m.config);
  const LowRankDeltas deltas = ad.deltas();
  RoutedSession s(d.m, &ad.router, {GateSpec::mask("1011"), ad.settings}, 16);
  s.set_lora(&deltas);
  const std::vector<int> ids = {1, 2, 3, 4};
  auto l = s.prefill(ids);
  std::string want;
  for (int i = 0; i < 5; ++i) {
    const int next = int(std::max_element(l.begin(), l.end()) - l.begin());
    want += (i ? "," : "") + std::to_string(next);
    if (i < 4) l = s.decode(next);
  }
  EXPECT_EQ(r.out, want + "\n");

  // The routers' own decision (init: the middle band closed).
  auto rr =
      run_cli("generate --model " + d.model_dir + " --ids 1,2,3 -n 2 --adapters " + d.adapter_dir);
  ASSERT_EQ(rr.rc, 0) << rr.err;
  const auto [lo, hi] = router_middle_band(4);
  std::string bits;
  for (int b = 0; b < 4; ++b) bits += (b >= lo && b <= hi) ? '0' : '1';
  EXPECT_NE(rr.err.find("[" + bits + "]"), std::string::npos) << rr.err;
}

TEST(CliRouted, LogitsFlags) {
  const auto& d = dirs();
  bool ok = false;
  const std::string ids = "3,1,4,1,5,9";
  const auto base = logits_cli("", ids, &ok);
  ASSERT_TRUE(ok);
  EXPECT_EQ(logits_cli("--gates open", ids, &ok), base);
  EXPECT_EQ(logits_cli("--adapters " + d.adapter_dir + " --no-lora --gates open", ids, &ok), base);
  const auto lora = logits_cli("--adapters " + d.adapter_dir + " --gates open", ids, &ok);
  ASSERT_EQ(lora.size(), base.size());
  EXPECT_NE(lora, base);
  // A mask matches the library's routed session.
  const auto masked = logits_cli("--gates mask:0110", ids, &ok);
  RoutedSession s(d.m, nullptr, {GateSpec::mask("0110"), {}}, 8);
  auto l = s.prefill(std::vector<int>{3, 1, 4, 1, 5, 9}, true);
  ASSERT_EQ(masked.size(), l.size());
  for (size_t i = 0; i < l.size(); ++i) ASSERT_NEAR(masked[i], l[i], 1e-5f);
}

TEST(CliRouted, BadFlagsAreOneLineErrors) {
  const auto& d = dirs();
  for (const std::string& flags :
       {std::string("--gates mask:101"), std::string("--gates sometimes"),
        std::string("--gates mask:10x1"), std::string("--adapters /nonexistent/adir")}) {
    auto r = run_cli("generate --model " + d.model_dir + " --ids 1,2 -n 2 " + flags);
    EXPECT_EQ(r.rc, 1) << flags;
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  auto r = run_cli("generate --model " + d.model_dir + " --ids 1,2 -n 2 --gates mask:101");
  EXPECT_NE(r.err.find("3 bits, the model has 4"), std::string::npos) << r.err;
}

TEST(CliRouted, BenchRouted) {
  const auto& d = dirs();
  const std::string json = temp_path("lr_cli_routed_bench.json").string();
  auto r = run_cli("bench --model " + d.model_dir +
                   " --reps 1 --decode-tokens 4 --decode-prompt 8 "
                   "--adapters " +
                   d.adapter_dir + " --gates mask:1001 --no-train --json " + json);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("blocks run 2/4 per step"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("routed vs all blocks open"), std::string::npos) << r.out;
  const Json j = Json::parse(slurp(json));
  EXPECT_EQ(j["decode_blocks_run"].get<double>(), 2.0);
  EXPECT_EQ(j["decode_gates"], "1001");
  // Two of four equal blocks closed: the decode prediction is their share of the weight bytes
  // (the LM head is read either way), the prefill one their share of the FLOPs.
  const Json& cmp = j["routed_vs_open"];
  for (const char* k : {"prefill_128", "prefill_512", "decode_per_token"}) {
    ASSERT_TRUE(cmp.contains(k)) << k;
    const double p = cmp[k]["saving_predicted"].get<double>();
    EXPECT_GT(p, 0.0) << k;
    EXPECT_LT(p, 0.5) << k;
    EXPECT_GT(cmp[k]["open_s"].get<double>(), 0.0) << k;
  }
  EXPECT_FALSE(j.contains("training"));
  // The limits measured beside the figures: an sgemm before each prefill, the bandwidth
  // before every 8 decoded tokens; the decode ceiling is that bandwidth over the bytes a
  // token read (constant here: the same 2 blocks every step).
  for (const char* k : {"prefill_128_sgemm_beside_gflop_s", "prefill_512_share_of_sgemm_beside",
                        "decode_bandwidth_beside_gb_s", "decode_share_of_bandwidth_beside"})
    EXPECT_GT(j[k].get<double>(), 0.0) << k;
  EXPECT_NEAR(j["decode_ceiling_beside_tok_s"].get<double>() *
                  j["decode_weight_bytes_per_token"].get<double>(),
              j["decode_bandwidth_beside_gb_s"].get<double>() * 1e9,
              1e-6 * j["decode_bandwidth_beside_gb_s"].get<double>() * 1e9);
  EXPECT_NE(r.out.find("of the bandwidth measured before every 8 tokens"), std::string::npos)
      << r.out;

  auto open = run_cli("bench --model " + d.model_dir +
                      " --reps 1 --decode-tokens 2 --decode-prompt 4 --gates open --no-train");
  ASSERT_EQ(open.rc, 0) << open.err;
  EXPECT_NE(open.out.find("routing closed no block"), std::string::npos) << open.out;
}

}  // namespace
}  // namespace lr::test
