// LoRA at inference (the model-level low-rank hook) against merged weights W + s B A, and
// adapter directories: round trip, PEFT forms, and errors naming the file and tensor.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "layerroute/adapters.h"
#include "layerroute/routed_session.h"
#include "routed_ref.h"
#include "temp_path.h"

namespace lr {
namespace {

using namespace routed_test;
namespace fs = std::filesystem;

LoraWeights random_lora(const ModelConfig& c, const std::vector<LoraTarget>& targets) {
  LoraConfig lc;
  lc.rank = 4;
  lc.alpha = 6.f;
  lc.targets = targets;
  LoraWeights w = LoraWeights::init(c, lc, 11);
  float x = 0.1f;
  for (auto& a : w.adapters)
    for (float& b : a.B) b = (x = std::fmod(x * 7.3f + 0.37f, 1.f)) - 0.5f;  // B = 0 at init
  return w;
}

// W + s B A for every adapted projection.
ModelWeights merged(const Model& m, const LoraWeights& lw) {
  ModelWeights w = m.weights;
  for (int l = 0; l < m.config.n_layers; ++l) {
    BlockWeights& b = w.layers[size_t(l)];
    Linear* Ls[kNumProj] = {&b.q, &b.k, &b.v, &b.o, &b.gate, &b.up, &b.down};
    for (int t = 0; t < kNumLoraTargets; ++t) {
      const LoraAdapter& a = lw.at(l, LoraTarget(t));
      if (a.empty()) continue;
      for (int o = 0; o < a.out; ++o)
        for (int i = 0; i < a.in; ++i) {
          double s = 0;
          for (int k = 0; k < a.rank; ++k)
            s += double(a.B[size_t(o * a.rank + k)]) * a.A[size_t(k * a.in + i)];
          Ls[t]->w[size_t(o * a.in + i)] += float(lw.cfg.scale() * s);
        }
    }
  }
  return w;
}

std::string temp_dir(const std::string& name) {
  const fs::path d = test::temp_path("lr_adapters_" + name);
  fs::remove_all(d);
  return d.string();
}

const std::vector<LoraTarget> kAll = {LoraTarget::Q,   LoraTarget::K,    LoraTarget::V,
                                      LoraTarget::O,   LoraTarget::Gate, LoraTarget::Up,
                                      LoraTarget::Down};

// (f) logits with an adapter equal the merged-weights reference, plain and routed.
TEST(AdapterLora, LogitsEqualMergedWeightsReference) {
  const Model m = tiny_model(3);
  const int V = m.config.vocab;
  const LoraWeights lw = random_lora(m.config, kAll);
  const std::string dir = temp_dir("merged");
  save_adapters(dir, &lw, nullptr);
  const Adapters ad = Adapters::load(dir, m.config);
  ASSERT_TRUE(ad.has_lora);
  ASSERT_FALSE(ad.has_router);
  const LowRankDeltas deltas = ad.deltas();
  const ModelWeights mw = merged(m, lw);
  const auto ids = some_ids(11, V);

  // The model-level hook on the plain session (GEMV rows and sgemm rows).
  InferenceSession s(m, 32);
  s.set_low_rank_deltas(&deltas);
  std::vector<float> got;
  auto pl = s.prefill(std::span<const int>(ids.data(), 9), true);
  got.assign(pl.begin(), pl.end());
  for (int t = 9; t < 11; ++t) {
    auto d = s.decode(ids[size_t(t)]);
    got.insert(got.end(), d.begin(), d.end());
  }
  const RefOut ref = ref_gated(m.config, mw, ids, std::vector<std::string>(ids.size(), "111"));
  EXPECT_LE(worst_rel(got, ref.logits, V), 1e-4);
  const RefOut base =
      ref_gated(m.config, m.weights, ids, std::vector<std::string>(ids.size(), "111"));
  EXPECT_GT(worst_rel(got, base.logits, V), 1e-2) << "the adapter should change the logits";

  // Routed with a mask, LoRA on.
  RoutedSession r(m, nullptr, {GateSpec::mask("101"), {}}, 32);
  r.set_lora(&deltas);
  auto rl = r.prefill(ids, true);
  const RefOut rref = ref_gated(m.config, mw, ids, std::vector<std::string>(ids.size(), "101"));
  EXPECT_LE(worst_rel(std::vector<float>(rl.begin(), rl.end()), rref.logits, V), 1e-4);

  // --no-lora (no table), scale 0 and nullptr all give the base model exactly.
  InferenceSession plain(m, 32);
  auto want = plain.prefill(ids, true);
  const std::vector<float> base_l(want.begin(), want.end());
  const LowRankDeltas off = ad.deltas(0.f);
  for (const LowRankDeltas* d : {static_cast<const LowRankDeltas*>(nullptr), &off}) {
    InferenceSession t(m, 32);
    t.set_low_rank_deltas(d);
    auto l = t.prefill(ids, true);
    EXPECT_EQ(std::vector<float>(l.begin(), l.end()), base_l);
  }
}

TEST(AdapterLoad, RoundTripWithRoutersAndSettings) {
  const Model m = tiny_model(3);
  const LoraWeights lw = random_lora(m.config, {LoraTarget::Q, LoraTarget::V});
  RouterWeights rw = RouterWeights::init(m.config);
  rw.w[5] = 0.25f;
  const std::string dir = temp_dir("roundtrip");
  save_adapters(dir, &lw, &rw, RouteSettings{0.7f, RoutePool::NewTokens});
  const Adapters a = Adapters::load(dir, m.config);
  EXPECT_TRUE(a.has_lora && a.has_router);
  EXPECT_EQ(a.router.w, rw.w);
  EXPECT_EQ(a.router.b, rw.b);
  EXPECT_FLOAT_EQ(a.settings.threshold, 0.7f);
  EXPECT_EQ(a.settings.pool, RoutePool::NewTokens);
  EXPECT_EQ(a.lora.cfg.rank, 4);
  EXPECT_FLOAT_EQ(a.lora_scale(), 1.5f);
  EXPECT_TRUE(a.lora.at(1, LoraTarget::Q).A == lw.at(1, LoraTarget::Q).A);
  EXPECT_TRUE(a.lora.at(2, LoraTarget::V).B == lw.at(2, LoraTarget::V).B);
  EXPECT_TRUE(a.lora.at(0, LoraTarget::K).empty());

  // Routers alone (no PEFT files) load as routing-only; LoRA alone as LoRA-only.
  const std::string rdir = temp_dir("routers_only");
  save_adapters(rdir, nullptr, &rw);
  const Adapters ro = Adapters::load(rdir, m.config);
  EXPECT_FALSE(ro.has_lora);
  EXPECT_TRUE(ro.has_router);
  EXPECT_FALSE(ro.deltas().any_active());
  const std::string ldir = temp_dir("lora_only");
  save_adapters(ldir, &lw, nullptr);
  fs::remove(ldir + "/layerroute_config.json");  // a plain PEFT directory
  const Adapters lo = Adapters::load(ldir, m.config);
  EXPECT_TRUE(lo.has_lora);
  EXPECT_FALSE(lo.has_router);
  EXPECT_FLOAT_EQ(lo.settings.threshold, 0.5f);

  // The trainer's settings file (router_threshold, router_pooling "mean-all") is honoured:
  // inference must decide with the threshold the routers were trained with.
  write_file_atomic(rdir + "/layerroute_config.json",
                    R"({"router_threshold": 0.8, "router_pooling": "mean-all", "routers": true})");
  const Adapters tr = Adapters::load(rdir, m.config);
  EXPECT_FLOAT_EQ(tr.settings.threshold, 0.8f);
  EXPECT_EQ(tr.settings.pool, RoutePool::Sequence);
}

void write_text(const std::string& path, const std::string& s) {
  std::ofstream(path) << s;
}

TEST(AdapterLoad, PeftConfigForms) {
  const Model m = tiny_model(3);
  const LoraWeights lw = random_lora(m.config, {LoraTarget::Q, LoraTarget::O});
  const std::string dir = temp_dir("forms");
  save_adapters(dir, &lw, nullptr);
  // Long module names, as PEFT also accepts them.
  write_text(
      dir + "/adapter_config.json",
      R"({"peft_type":"LORA","r":4,"lora_alpha":8,"target_modules":["self_attn.q_proj","model.layers.0.self_attn.o_proj"],"use_rslora":true})");
  const Adapters a = Adapters::load(dir, m.config);
  EXPECT_TRUE(a.lora.cfg.has(LoraTarget::Q) && a.lora.cfg.has(LoraTarget::O));
  EXPECT_FLOAT_EQ(a.lora_scale(), 4.f);  // rsLoRA: alpha / sqrt(r)
  // layers_to_transform restricts which layers must carry tensors.
  LoraWeights one = random_lora(m.config, {LoraTarget::Q});
  for (int l : {0, 2}) one.at(l, LoraTarget::Q) = LoraAdapter{};
  const std::string d1 = temp_dir("layers");
  save_adapters(d1, &one, nullptr);
  write_text(d1 + "/adapter_config.json",
             R"({"r":4,"lora_alpha":8,"target_modules":["q_proj"],"layers_to_transform":[1]})");
  const Adapters b = Adapters::load(d1, m.config);
  EXPECT_FALSE(b.lora.at(1, LoraTarget::Q).empty());
  EXPECT_TRUE(b.lora.at(0, LoraTarget::Q).empty());
}

// The message of the Error thrown by f, or "" when none is.
template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// (g) loading errors name the file and the tensor.
TEST(AdapterLoad, Errors) {
  const Model m = tiny_model(3);
  const LoraWeights lw = random_lora(m.config, {LoraTarget::Q, LoraTarget::K});
  auto load = [&](const std::string& d) { return error_of([&] { Adapters::load(d, m.config); }); };

  EXPECT_NE(load("/nonexistent/adapters").find("/nonexistent/adapters"), std::string::npos);
  const std::string empty = temp_dir("empty");
  fs::create_directories(empty);
  EXPECT_NE(load(empty).find("neither adapter_model.safetensors"), std::string::npos);

  const std::string noconf = temp_dir("noconf");
  save_adapters(noconf, &lw, nullptr);
  fs::remove(noconf + "/adapter_config.json");
  EXPECT_NE(load(noconf).find("adapter_config.json: missing"), std::string::npos) << load(noconf);

  // Adapters trained for a wider model: the shape error names the file and the tensor.
  ModelConfig wide = m.config;
  wide.hidden = 40;
  const LoraWeights wl = random_lora(wide, {LoraTarget::Q, LoraTarget::K});
  const std::string shape = temp_dir("shape");
  save_adapters(shape, &wl, nullptr);
  const std::string e = load(shape);
  EXPECT_NE(e.find("adapter_model.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("[4, 40]"), std::string::npos) << e;

  const std::string badt = temp_dir("badtarget");
  save_adapters(badt, &lw, nullptr);
  write_text(badt + "/adapter_config.json",
             R"({"r":4,"lora_alpha":8,"target_modules":["qq_proj"]})");
  EXPECT_NE(load(badt).find("unknown target module 'qq_proj'"), std::string::npos) << load(badt);
  // A target the config lists but the file lacks: missing tensor, named.
  write_text(badt + "/adapter_config.json",
             R"({"r":4,"lora_alpha":8,"target_modules":["q_proj","k_proj","v_proj"]})");
  EXPECT_NE(load(badt).find("v_proj.lora_A.weight missing"), std::string::npos) << load(badt);
  // Tensors the config does not cover are not silently dropped.
  write_text(badt + "/adapter_config.json",
             R"({"r":4,"lora_alpha":8,"target_modules":["q_proj"]})");
  EXPECT_NE(load(badt).find("k_proj.lora_A.weight is not covered"), std::string::npos)
      << load(badt);
  write_text(badt + "/adapter_config.json",
             R"({"r":4,"lora_alpha":8,"target_modules":["q_proj","k_proj"],"use_dora":true})");
  EXPECT_NE(load(badt).find("DoRA"), std::string::npos);

  // Routers for another depth.
  const std::string rdir = temp_dir("router_shape");
  RouterWeights rw = RouterWeights::init(wide);
  save_adapters(rdir, nullptr, &rw);
  const std::string re = load(rdir);
  EXPECT_NE(re.find("router.safetensors"), std::string::npos) << re;
  EXPECT_NE(re.find("model.layers.0.router.weight"), std::string::npos) << re;

  const std::string pool = temp_dir("pool");
  RouterWeights fits = RouterWeights::init(m.config);
  save_adapters(pool, nullptr, &fits);
  write_text(pool + "/layerroute_config.json", R"({"threshold":0.5,"pooling":"max"})");
  EXPECT_NE(load(pool).find("unknown pooling 'max'"), std::string::npos) << load(pool);

  // Gate specs: malformed and wrong length.
  EXPECT_NE(error_of([] { GateSpec::parse("sometimes"); }).find("'sometimes'"), std::string::npos);
  EXPECT_NE(error_of([] { GateSpec::parse("mask:10x"); }).find("0/1"), std::string::npos);
  EXPECT_NE(error_of([] { GateSpec::parse("mask:"); }).find("0/1"), std::string::npos);
  EXPECT_NE(error_of([] { GateSpec::mask("1010").check(3); }).find("4 bits, the model has 3"),
            std::string::npos);
}

}  // namespace
}  // namespace lr
