// The training loop end to end: `layerroute train` on a tiny model (H 32, 2 blocks, the
// tiny golden tokenizer) with small datasets in their real formats; adapter files, logs,
// resume after SIGKILL, CLI errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <tuple>

#include "cli_util.h"
#include "core/error.h"
#include "io/atomic_file.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "layerroute/adapters.h"
#include "layerroute/train_weights.h"
#include "temp_path.h"
#include "train/adapter_io.h"
#include "train/train_data.h"
#include "train/trainer_state.h"

namespace lr::test {
namespace {

namespace fs = std::filesystem;

ModelConfig tiny_model_config() {
  ModelConfig c;
  c.model_type = "qwen2";
  c.hidden = 32;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 8;
  c.intermediate = 64;
  c.vocab = 2048;  // the tiny golden tokenizer's
  c.max_position = 4096;
  c.rope_theta = 10000.f;
  c.tie_embeddings = true;
  c.qkv_bias = true;
  c.bos_id = 0;
  c.eos_ids = {0};
  return c;
}

// One temp tree per test process: model/, gsm8k.jsonl (+1 malformed row), chat.jsonl
// (messages with tool calls).
struct Fixture {
  fs::path root, model, gsm8k, chat;
  TrainWeights weights;
  Fixture() : weights(TrainWeights::random(tiny_model_config(), 7)) {
    root = fs::path(::testing::TempDir()) / ("lr_trainer_" + std::to_string(::getpid()));
    model = root / "model";
    fs::create_directories(model);
    std::ofstream(model / "config.json") << tiny_model_config().to_json().dump(2);
    write_safetensors((model / "model.safetensors").string(), f32_tensors(weights.tensors()));
    const std::string tiny = shared_dir() + "/fixtures/golden/qwen2-tiny";
    fs::copy_file(tiny + "/tokenizer.json", model / "tokenizer.json");
    Json tc;
    tc["chat_template"] = slurp(shared_dir() + "/fixtures/chat-template/qwen2.5-instruct.jinja");
    std::ofstream(model / "tokenizer_config.json") << tc.dump(2);

    gsm8k = root / "gsm8k.jsonl";
    std::ofstream g(gsm8k);
    for (int i = 0; i < 10; ++i) {
      Json r;
      r["question"] = "Tom has " + std::to_string(i + 3) + " apples and buys 2 more. How many?";
      r["answer"] = "He has " + std::to_string(i + 3) + " + 2 = <<" + std::to_string(i + 3) +
                    "+2=" + std::to_string(i + 5) + ">>" + std::to_string(i + 5) + ".\n#### " +
                    std::to_string(i + 5);
      g << r.dump() << "\n";
      if (i == 4) g << "{\"question\": \"no answer here\"}\n";  // malformed: counted
    }
    g.close();

    chat = root / "chat.jsonl";
    std::ofstream c(chat);
    const Json tools = Json::parse(
        R"([{"type":"function","function":{"name":"get_weather","description":"Weather",
        "parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}])");
    for (int i = 0; i < 10; ++i) {
      const std::string city = i % 2 ? "Paris" : "Oslo";
      Json r;
      r["tools"] = tools;
      r["messages"] = Json::array(
          {{{"role", "user"}, {"content", "Weather in " + city + "?"}},
           {{"role", "assistant"},
            {"content", ""},
            {"tool_calls",
             Json::array(
                 {{{"type", "function"},
                   {"function", {{"name", "get_weather"}, {"arguments", {{"city", city}}}}}}})}},
           {{"role", "tool"}, {"content", "{\"temp\": " + std::to_string(10 + i) + "}"}},
           {{"role", "assistant"}, {"content", "It is " + std::to_string(10 + i) + " C."}}});
      c << r.dump() << "\n";
    }
  }
  ~Fixture() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

// Small, quick runs: 2 x 2 samples per step, 48 tokens, one thread (deterministic and
// polite on a shared machine).
std::string train_args(const fs::path& out, const std::string& extra = "", int steps = 6) {
  const Fixture& f = fixture();
  return "train --model " + f.model.string() + " --data gsm8k:" + f.gsm8k.string() +
         " --data messages:" + f.chat.string() + " --out " + out.string() + " --max-steps " +
         std::to_string(steps) +
         " --batch-size 2 --grad-accum 2 --max-seq-len 48 --eval-every 4"
         " --eval-batches 2 --threads 1 --lr 1e-2 --warmup-steps 1 --val-fraction 0.2 " +
         extra;
}

std::vector<std::string> lines_of(const std::string& path) {
  std::istringstream in(slurp(path));
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// Every row without its last column (elapsed_s, which is wall time).
std::vector<std::string> without_time(const std::vector<std::string>& rows) {
  std::vector<std::string> out;
  for (const std::string& r : rows) out.push_back(r.substr(0, r.rfind(',')));
  return out;
}

TEST(CliTrain, WritesPeftAdapterLogsAndSummary) {
  if (!shared_present()) GTEST_SKIP() << "shared/ not present beside the repository";
  const fs::path out = fixture().root / "run_basic";
  const CliResult r = run_cli(train_args(out));
  ASSERT_EQ(r.rc, 0) << r.err;
  // 2 blocks x (q 2x(8x32) + k,v (8x32 + 16x8) + o 2x(8x32)) = 2 x 1792; routers 2 x 33.
  EXPECT_NE(r.out.find("trainable: LoRA 3,584 + routers 66 = 3,650 ("), std::string::npos) << r.out;

  const ModelConfig mc = tiny_model_config();
  for (const char* d : {"final", "best"}) {
    const fs::path dir = out / d;
    const Json ac = read_json_file((dir / "adapter_config.json").string());
    EXPECT_EQ(ac["peft_type"], "LORA");
    EXPECT_EQ(ac["r"], 8);
    EXPECT_EQ(ac["lora_alpha"], 16.0);
    EXPECT_EQ(ac["target_modules"], Json::parse(R"(["q_proj","k_proj","v_proj","o_proj"])"));
    EXPECT_EQ(ac["task_type"], "CAUSAL_LM");
    EXPECT_EQ(ac["bias"], "none");
    const SafetensorsFile st((dir / "adapter_model.safetensors").string());
    EXPECT_EQ(st.tensors().size(), 16u);
    const std::string p = "base_model.model.model.layers.1.self_attn.";
    ASSERT_NE(st.find(p + "k_proj.lora_A.weight"), nullptr);
    EXPECT_EQ(st.find(p + "k_proj.lora_A.weight")->shape, (std::vector<int64_t>{8, 32}));
    EXPECT_EQ(st.find(p + "k_proj.lora_B.weight")->shape, (std::vector<int64_t>{16, 8}));
    EXPECT_EQ(st.find(p + "o_proj.lora_B.weight")->shape, (std::vector<int64_t>{32, 8}));
    const SafetensorsFile rt((dir / "router.safetensors").string());
    EXPECT_EQ(rt.find("model.layers.1.router.weight")->shape, (std::vector<int64_t>{1, 32}));
    const Json lc = read_json_file((dir / "layerroute_config.json").string());
    EXPECT_EQ(lc["router_threshold"], 0.5);
    EXPECT_EQ(lc["router_pooling"], "masked-mean");
    EXPECT_EQ(lc["train_config"]["router_loss"], "gate-reg");
    const LoadedAdapter a = load_adapter_dir(dir.string(), mc);
    ASSERT_TRUE(a.lora && a.routers);
    EXPECT_EQ(a.lora->num_params(), 3584u);
  }
  EXPECT_TRUE(fs::exists(out / "final" / "trainer_state.safetensors"));
  EXPECT_FALSE(fs::exists(out / "best" / "trainer_state.json"));

  const auto tl = lines_of((out / "training_log.csv").string());
  ASSERT_EQ(tl.size(), 7u);
  EXPECT_EQ(tl[0], "step,loss,ppl,layers_run,skip_pct,gate_reg,lr,elapsed_s");
  EXPECT_EQ(tl[6].substr(0, 2), "6,");
  const auto el = lines_of((out / "eval_log.csv").string());
  EXPECT_EQ(el[0], "step,val_loss,val_ppl,val_layers_run,val_skip_pct");
  ASSERT_EQ(el.size(), 4u);  // micro-steps 4, 8, 12 -> optimizer steps 2, 4, 6
  EXPECT_EQ(el[1].substr(0, 2), "2,");
  const auto gl = lines_of((out / "gate_log.csv").string());
  EXPECT_EQ(gl[0], "step,gate_0,gate_1");
  EXPECT_EQ(gl.size(), 7u);

  const Json s = read_json_file((out / "run_summary.json").string());
  EXPECT_EQ(s["params"]["trainable"], 3650);
  EXPECT_EQ(s["steps"]["optimizer"], 6);
  ASSERT_EQ(s["data"]["files"].size(), 2u);
  EXPECT_EQ(s["data"]["files"][0]["malformed"], 1);
  EXPECT_EQ(s["data"]["files"][0]["loaded"], 10);
  EXPECT_EQ(s["data"]["files"][1]["tool_call"], 10);
  EXPECT_EQ(s["data"]["val_samples"], 4);
  EXPECT_TRUE(s["best"]["val_loss"].is_number());
  EXPECT_GT(s["tokens"]["per_second_this_session"].get<double>(), 0.0);
}

TEST(CliTrain, ResumeAfterSigkillIsBitIdentical) {
  if (!shared_present()) GTEST_SKIP() << "shared/ not present beside the repository";
  const fs::path a = fixture().root / "run_a", b = fixture().root / "run_b";
  const CliResult ra = run_cli(train_args(a));
  ASSERT_EQ(ra.rc, 0) << ra.err;
  // Killed (SIGKILL) right after its checkpoint at step 3, mid-epoch and mid-schedule.
  const CliResult rb = run_cli(train_args(b, "--save-every 1 --stop-after-steps 3"));
  ASSERT_NE(rb.rc, 0);
  ASSERT_TRUE(has_trainer_state((b / "checkpoint").string()));
  EXPECT_FALSE(fs::exists(b / "final"));
  EXPECT_EQ(read_json_file((b / "checkpoint" / "trainer_state.json").string())["step"], 3);
  const CliResult rc = run_cli(train_args(b, "--resume " + b.string()));
  ASSERT_EQ(rc.rc, 0) << rc.err;
  EXPECT_NE(rc.out.find("resuming from"), std::string::npos) << rc.out;

  for (const char* f : {"adapter_model.safetensors", "router.safetensors"}) {
    const std::string x = slurp((a / "final" / f).string()), y = slurp((b / "final" / f).string());
    ASSERT_FALSE(x.empty());
    EXPECT_TRUE(x == y) << f << " differs after resume";
  }
  EXPECT_TRUE(slurp((a / "final/trainer_state.safetensors").string()) ==
              slurp((b / "final/trainer_state.safetensors").string()));
  EXPECT_EQ(without_time(lines_of((a / "training_log.csv").string())),
            without_time(lines_of((b / "training_log.csv").string())));
  EXPECT_EQ(lines_of((a / "eval_log.csv").string()), lines_of((b / "eval_log.csv").string()));
  EXPECT_EQ(lines_of((a / "gate_log.csv").string()), lines_of((b / "gate_log.csv").string()));

  // A resume with different data-affecting settings is refused.
  const CliResult bad = run_cli(train_args(b, "--resume " + b.string() + " --seed 5"));
  EXPECT_EQ(bad.rc, 1);
  EXPECT_NE(bad.err.find("seed"), std::string::npos) << bad.err;
}

TEST(CliTrain, FullModeWritesLoadableModelDir) {
  if (!shared_present()) GTEST_SKIP() << "shared/ not present beside the repository";
  const fs::path out = fixture().root / "run_full";
  const CliResult r = run_cli(train_args(out, "--full --preset reference", 2));
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("trainable: model "), std::string::npos) << r.out;
  const fs::path d = out / "final";
  EXPECT_TRUE(fs::exists(d / "tokenizer.json"));
  EXPECT_TRUE(fs::exists(d / "tokenizer_config.json"));
  EXPECT_FALSE(fs::exists(d / "adapter_model.safetensors"));
  const ModelConfig mc = ModelConfig::load(d.string());
  const TrainWeights w = TrainWeights::load(mc, Checkpoint::open_dir(d.string()));
  EXPECT_NE(w.embed, fixture().weights.embed);  // trained
  const Json st = read_json_file((d / "trainer_state.json").string());
  EXPECT_EQ(st["lr_schedule"]["kind"], "reference");
  EXPECT_EQ(st["lr_schedule"]["t_max"], 3000);
  EXPECT_EQ(st["lr_schedule"]["total"], 2);  // --max-steps wins over the preset's 750
}

TEST(CliTrain, NoRoutersAndRoutersOnly) {
  if (!shared_present()) GTEST_SKIP() << "shared/ not present beside the repository";
  const fs::path a = fixture().root / "run_norouters", b = fixture().root / "run_routersonly";
  const CliResult ra = run_cli(train_args(a, "--no-routers", 2));
  ASSERT_EQ(ra.rc, 0) << ra.err;
  EXPECT_TRUE(fs::exists(a / "final" / "adapter_model.safetensors"));
  EXPECT_FALSE(fs::exists(a / "final" / "router.safetensors"));
  EXPECT_EQ(lines_of((a / "training_log.csv").string())[1].substr(0, 2), "1,");
  const Json s = read_json_file((a / "run_summary.json").string());
  EXPECT_EQ(s["final_train"]["skip_pct"], 0.0);
  EXPECT_EQ(s["params"]["routers"], 0);
  const CliResult rb = run_cli(train_args(b, "--lora-rank 0 --router-loss bce-corrected", 2));
  ASSERT_EQ(rb.rc, 0) << rb.err;
  EXPECT_NE(rb.out.find("trainable: routers 66 = 66 ("), std::string::npos) << rb.out;
  EXPECT_FALSE(fs::exists(b / "final" / "adapter_model.safetensors"));
  EXPECT_TRUE(load_adapter_dir((b / "final").string(), tiny_model_config()).routers.has_value());
}

TEST(CliTrain, BadInputsFailWithOneLineAndNoOutputDir) {
  if (!shared_present()) GTEST_SKIP() << "shared/ not present beside the repository";
  const Fixture& f = fixture();
  const std::string model = " --model " + f.model.string();
  struct Case {
    std::function<std::string(const fs::path&)> args;
    std::string needle;
  } cases[] = {
      {[&](const fs::path& o) {
         return "train" + model + " --data gsm8k:/nonexistent/x.jsonl --out " + o.string();
       },
       "x.jsonl"},
      {[&](const fs::path& o) {
         return "train" + model + " --data csv:" + f.gsm8k.string() + " --out " + o.string();
       },
       "csv"},
      {[&](const fs::path& o) { return train_args(o, "--router-loss bce"); }, "--router-loss"},
      {[&](const fs::path& o) { return train_args(o, "--lora-targets q,zz"); }, "zz"},
      {[&](const fs::path& o) {
         return "train --model /nonexistent/model --data gsm8k:" + f.gsm8k.string() + " --out " +
                o.string();
       },
       "/nonexistent/model"},
  };
  int i = 0;
  for (const Case& c : cases) {
    const fs::path out = f.root / ("bad_" + std::to_string(i++));
    const std::string args = c.args(out);
    const CliResult r = run_cli(args);
    EXPECT_EQ(r.rc, 1) << args;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(out)) << args;
  }
}

TEST(Checkpoint, AdapterFilesRoundTrip) {
  const ModelConfig mc = tiny_model_config();
  LoraConfig lc;
  lc.targets = {LoraTarget::Q, LoraTarget::V, LoraTarget::Down};
  LoraWeights lora = LoraWeights::init(mc, lc, 3);
  for (auto& a : lora.adapters)
    for (size_t i = 0; i < a.B.size(); ++i) a.B[i] = 0.001f * float(i);
  RouterWeights rw = RouterWeights::init(mc);
  rw.w[5] = 0.25f;
  const fs::path dir = temp_path("lr_adapter_rt");
  fs::remove_all(dir);
  AdapterToSave s;
  s.model = &mc;
  s.base_model = "Qwen/Qwen2.5-0.5B-Instruct";
  s.lora = &lora;
  s.routers = &rw;
  s.routing.threshold = 0.4f;
  publish_dir(dir.string(), [&](const std::string& d) { save_adapter_files(d, s); });
  const LoadedAdapter a = load_adapter_dir(dir.string(), mc);
  ASSERT_TRUE(a.lora && a.routers);
  EXPECT_EQ(a.lora->cfg.targets, lc.targets);
  for (size_t i = 0; i < lora.adapters.size(); ++i) {
    EXPECT_EQ(a.lora->adapters[i].A, lora.adapters[i].A);
    EXPECT_EQ(a.lora->adapters[i].B, lora.adapters[i].B);
  }
  EXPECT_EQ(a.routers->w, rw.w);
  EXPECT_EQ(a.routers->b, rw.b);
  EXPECT_FLOAT_EQ(a.routing.threshold, 0.4f);
  const SafetensorsFile st((dir / "adapter_model.safetensors").string());
  EXPECT_NE(st.find("base_model.model.model.layers.0.mlp.down_proj.lora_A.weight"), nullptr);
  // Publishing again replaces the directory whole.
  rw.w[5] = 0.5f;
  publish_dir(dir.string(), [&](const std::string& d) { save_adapter_files(d, s); });
  EXPECT_EQ(load_adapter_dir(dir.string(), mc).routers->w[5], 0.5f);
  for (const auto& e : fs::directory_iterator(dir.parent_path()))
    EXPECT_EQ(e.path().filename().string().find("lr_adapter_rt.tmp"), std::string::npos);
  // A wrong model is named in the error.
  ModelConfig other = mc;
  other.hidden = 64;
  EXPECT_THROW(load_adapter_dir(dir.string(), other), Error);
}

// Training and evaluation read adapters with the inference reader, then refuse the PEFT
// options their graph does not implement (inference applies them).
TEST(Checkpoint, TrainingRefusesPeftOptionsOnlyInferenceImplements) {
  const ModelConfig mc = tiny_model_config();
  LoraWeights lora = LoraWeights::init(mc, LoraConfig{}, 5);
  const fs::path dir = temp_path("lr_adapter_peft_opts");
  fs::remove_all(dir);
  AdapterToSave s;
  s.model = &mc;
  s.lora = &lora;
  publish_dir(dir.string(), [&](const std::string& d) { save_adapter_files(d, s); });
  const std::string cfg_path = (dir / "adapter_config.json").string();
  const Json base = read_json_file(cfg_path);
  EXPECT_TRUE(load_adapter_dir(dir.string(), mc).lora.has_value());
  for (const auto& [key, value, word] :
       {std::tuple{"use_rslora", Json(true), "use_rslora"},
        std::tuple{"layers_to_transform", Json::array({0}), "layers_to_transform"}}) {
    Json j = base;
    j[key] = value;
    write_file_atomic(cfg_path, j.dump());
    if (std::string(key) == "layers_to_transform") {  // the file then holds block 0 only
      const std::string st = (dir / "adapter_model.safetensors").string();
      std::vector<std::vector<float>> keep;
      std::vector<TensorToWrite> out;
      {
        const Checkpoint ck = Checkpoint::open_file(st);
        keep.reserve(ck.names().size());  // out points into keep: no reallocation
        for (const std::string& n : ck.names())
          if (n.find(".layers.0.") != std::string::npos) {
            const TensorInfo& info = *ck.get(n).info;
            keep.push_back(ck.load_f32(n, info.shape));
            out.push_back({n, DType::F32, info.shape, keep.back().data()});
          }
      }
      write_safetensors(st, out);
    }
    EXPECT_NO_THROW(Adapters::load(dir.string(), mc)) << key;
    try {
      load_adapter_dir(dir.string(), mc);
      ADD_FAILURE() << key << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(word), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("adapter_config.json"), std::string::npos) << e.what();
    }
  }
  fs::remove_all(dir);
}

TEST(Trainer, EpochOrderIsSeededPermutation) {
  const auto a = epoch_order(50, 1, 0), b = epoch_order(50, 1, 0), c = epoch_order(50, 1, 1);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  auto s = c;
  std::sort(s.begin(), s.end());
  for (uint32_t i = 0; i < 50; ++i) EXPECT_EQ(s[i], i);
}

}  // namespace
}  // namespace lr::test
