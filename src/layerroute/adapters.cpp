#include "layerroute/adapters.h"

#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <type_traits>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/json.h"
#include "io/safetensors.h"

namespace lr {

static_assert(int(LoraTarget::Q) == int(Proj::Q) && int(LoraTarget::Down) == int(Proj::Down) &&
                  kNumLoraTargets == kNumProj,
              "LoraTarget and Proj index the same tables");

namespace fs = std::filesystem;

const char* route_pool_name(RoutePool p) {
  return p == RoutePool::Sequence ? "masked-mean" : "new-tokens";
}

RoutePool parse_route_pool(const std::string& s, const std::string& where) {
  // "mean-all" is the training ablation that also averages padding; inference has no
  // padding, so it pools the same positions as masked-mean.
  if (s == "masked-mean" || s == "mean-all" || s == "sequence") return RoutePool::Sequence;
  if (s == "new-tokens") return RoutePool::NewTokens;
  fail(where, ": unknown pooling '", s, "' (masked-mean, new-tokens)");
}

namespace {

// "q_proj", "self_attn.q_proj", "model.layers.0.self_attn.q_proj" (PEFT accepts module-name
// suffixes) -> the projection; anything else is an error naming the file.
LoraTarget parse_target_name(const std::string& s, const std::string& where) {
  const size_t dot = s.rfind('.');
  const std::string last = dot == std::string::npos ? s : s.substr(dot + 1);
  LoraTarget t;
  LR_CHECK(parse_lora_target(last, &t), where, ": unknown target module '", s,
           "' (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)");
  if (dot != std::string::npos) {
    const bool attn = int(t) <= int(LoraTarget::O);
    const std::string prefix = s.substr(0, dot);
    LR_CHECK(prefix.find(attn ? "mlp" : "self_attn") == std::string::npos, where,
             ": target module '", s, "' names the wrong sub-module");
  }
  return t;
}

template <typename T>
T get_or(const Json& j, const char* key, T dflt, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return dflt;
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    // nlohmann would cast a float such as 1e300 to int, which is undefined behaviour.
    LR_CHECK(it->is_number_integer() &&
                 !(it->is_number_unsigned() &&
                   it->template get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max())) &&
                 it->template get<int64_t>() >= int64_t(std::numeric_limits<T>::min()) &&
                 it->template get<int64_t>() <= int64_t(std::numeric_limits<T>::max()),
             where, ": field '", key, "' must be an integer in range");
  }
  try {
    return it->get<T>();
  } catch (const std::exception&) {
    fail(where, ": field '", key, "' has the wrong type");
  }
}

void load_lora(Adapters& a, const ModelConfig& cfg) {
  const std::string cfg_path = a.dir + "/adapter_config.json";
  const std::string st_path = a.dir + "/adapter_model.safetensors";
  LR_CHECK(fs::exists(cfg_path), cfg_path, ": missing (", st_path, " needs its PEFT config)");
  const Json j = read_json_file(cfg_path);
  LR_CHECK(j.is_object(), cfg_path, ": not a JSON object");
  const std::string peft_type = get_or<std::string>(j, "peft_type", "LORA", cfg_path);
  LR_CHECK(peft_type == "LORA", cfg_path, ": peft_type '", peft_type, "' is not LORA");
  LR_CHECK(!get_or<bool>(j, "use_dora", false, cfg_path), cfg_path, ": DoRA is not supported");
  LR_CHECK(!get_or<bool>(j, "fan_in_fan_out", false, cfg_path), cfg_path,
           ": fan_in_fan_out adapters are not supported");
  for (const char* k : {"rank_pattern", "alpha_pattern"}) {
    auto it = j.find(k);
    LR_CHECK(it == j.end() || it->is_null() || it->empty(), cfg_path, ": ", k, " is not supported");
  }
  LoraConfig lc;
  lc.rank = get_or<int>(j, "r", 8, cfg_path);
  lc.alpha = get_or<float>(j, "lora_alpha", float(lc.rank), cfg_path);
  lc.dropout = get_or<float>(j, "lora_dropout", 0.f, cfg_path);
  LR_CHECK(lc.rank > 0, cfg_path, ": r must be positive, got ", lc.rank);
  // The adapters are allocated from r before the tensors are read: bound it first. A rank
  // above the hidden size cannot add anything (every projection has hidden on one side).
  LR_CHECK(lc.rank <= cfg.hidden, cfg_path, ": r ", lc.rank, " is larger than hidden_size ",
           cfg.hidden);
  a.rslora = get_or<bool>(j, "use_rslora", false, cfg_path);

  lc.targets.clear();
  auto tm = j.find("target_modules");
  LR_CHECK(tm != j.end() && !tm->is_null(), cfg_path, ": missing target_modules");
  if (tm->is_string()) {
    const std::string s = tm->get<std::string>();
    if (s == "all-linear") {
      for (int t = 0; t < kNumLoraTargets; ++t) lc.targets.push_back(LoraTarget(t));
    } else {
      lc.targets.push_back(parse_target_name(s, cfg_path));  // regexes are not supported
    }
  } else {
    LR_CHECK(tm->is_array(), cfg_path, ": target_modules must be a list or a string");
    for (const auto& e : *tm) {
      LR_CHECK(e.is_string(), cfg_path, ": target_modules must hold strings");
      const LoraTarget t = parse_target_name(e.get<std::string>(), cfg_path);
      if (!lc.has(t)) lc.targets.push_back(t);
    }
  }
  LR_CHECK(!lc.targets.empty(), cfg_path, ": target_modules is empty");

  // PEFT's layers_to_transform: only these layers carry adapters.
  std::set<int> layers;
  auto lt = j.find("layers_to_transform");
  if (lt != j.end() && !lt->is_null()) {
    if (lt->is_number_integer()) {
      layers.insert(lt->get<int>());
    } else {
      LR_CHECK(lt->is_array(), cfg_path, ": layers_to_transform must be an int or a list");
      for (const auto& e : *lt) {
        LR_CHECK(e.is_number_integer(), cfg_path, ": layers_to_transform must hold integers");
        layers.insert(e.get<int>());
      }
    }
    for (int l : layers)
      LR_CHECK(l >= 0 && l < cfg.n_layers, cfg_path, ": layers_to_transform has layer ", l,
               ", the model has ", cfg.n_layers);
  }

  a.lora = LoraWeights::zeros(cfg, lc);
  if (!layers.empty())
    for (int l = 0; l < cfg.n_layers; ++l)
      if (!layers.count(l))
        for (int t = 0; t < kNumLoraTargets; ++t) a.lora.at(l, LoraTarget(t)) = LoraAdapter{};
  const Checkpoint ck = Checkpoint::open_file(st_path);
  std::set<std::string> expected;
  for (TensorSlot& s : a.lora.tensors()) {
    std::vector<float> v = ck.load_f32(s.name, s.shape);  // names file + tensor on error
    std::copy(v.begin(), v.end(), s.data);
    expected.insert(s.name);
  }
  for (const std::string& n : ck.names())
    LR_CHECK(n.find(".lora_") == std::string::npos || expected.count(n), st_path, ": tensor ", n,
             " is not covered by target_modules/layers_to_transform in adapter_config.json");
  a.has_lora = true;
}

void load_router(Adapters& a, const ModelConfig& cfg) {
  const Checkpoint ck = Checkpoint::open_file(a.dir + "/router.safetensors");
  a.router = RouterWeights::zeros(cfg);
  for (TensorSlot& s : a.router.tensors()) {
    std::vector<float> v = ck.load_f32(s.name, s.shape);
    std::copy(v.begin(), v.end(), s.data);
  }
  a.has_router = true;
}

void load_settings(Adapters& a) {
  const std::string path = a.dir + "/layerroute_config.json";
  if (!fs::exists(path)) return;
  const Json j = read_json_file(path);
  LR_CHECK(j.is_object(), path, ": not a JSON object");
  // The trainer writes router_threshold / router_pooling; plain names are accepted too.
  const char* tkey = j.contains("router_threshold") ? "router_threshold" : "threshold";
  const char* pkey = j.contains("router_pooling") ? "router_pooling" : "pooling";
  a.settings.threshold = get_or<float>(j, tkey, 0.5f, path);
  LR_CHECK(a.settings.threshold >= 0.f && a.settings.threshold <= 1.f, path,
           ": threshold must be in [0, 1], got ", a.settings.threshold);
  a.settings.pool = parse_route_pool(get_or<std::string>(j, pkey, "masked-mean", path), path);
}

}  // namespace

Adapters Adapters::load(const std::string& dir, const ModelConfig& cfg) {
  LR_CHECK(fs::is_directory(dir), dir, ": not an adapter directory");
  Adapters a;
  a.dir = dir;
  const bool lora = fs::exists(dir + "/adapter_model.safetensors");
  const bool router = fs::exists(dir + "/router.safetensors");
  LR_CHECK(lora || router, dir,
           ": neither adapter_model.safetensors nor router.safetensors is there");
  if (lora) load_lora(a, cfg);
  if (router) load_router(a, cfg);
  load_settings(a);
  return a;
}

float Adapters::lora_scale() const {
  return rslora ? lora.cfg.alpha / std::sqrt(float(lora.cfg.rank)) : lora.cfg.scale();
}

LowRankDeltas Adapters::deltas(float scale_mult) const {
  LowRankDeltas d(has_lora ? lora.n_layers : 0);
  if (!has_lora) return d;
  for (int l = 0; l < lora.n_layers; ++l)
    for (int t = 0; t < kNumLoraTargets; ++t) {
      const LoraAdapter& ad = lora.at(l, LoraTarget(t));
      if (ad.empty()) continue;
      d.at(l, Proj(t)) =
          LowRankDelta{ad.rank, ad.in, ad.out, lora_scale() * scale_mult, ad.A.data(), ad.B.data()};
    }
  return d;
}

Json peft_adapter_config(const LoraConfig& cfg, const std::string& base_model) {
  Json j;
  j["peft_type"] = "LORA";
  j["task_type"] = "CAUSAL_LM";
  j["base_model_name_or_path"] = base_model;
  j["r"] = cfg.rank;
  j["lora_alpha"] = cfg.alpha;
  j["lora_dropout"] = cfg.dropout;
  Json t = Json::array();
  for (LoraTarget x : cfg.targets) t.push_back(lora_target_name(x));
  j["target_modules"] = t;
  j["bias"] = "none";
  j["fan_in_fan_out"] = false;
  j["inference_mode"] = true;
  j["modules_to_save"] = nullptr;
  j["use_rslora"] = false;
  j["use_dora"] = false;
  return j;
}

namespace {

const std::map<std::string, std::string> kSafetensorsMeta{{"format", "pt"}};

}  // namespace

void write_lora_files(const std::string& dir, const LoraWeights& lora,
                      const std::string& base_model) {
  write_file_atomic(dir + "/adapter_config.json",
                    peft_adapter_config(lora.cfg, base_model).dump(2) + "\n");
  // tensors() hands out mutable slots; writing only reads them.
  write_safetensors(dir + "/adapter_model.safetensors",
                    f32_tensors(const_cast<LoraWeights&>(lora).tensors()), kSafetensorsMeta);
}

void write_router_file(const std::string& dir, const RouterWeights& router) {
  write_safetensors(dir + "/router.safetensors",
                    f32_tensors(const_cast<RouterWeights&>(router).tensors()), kSafetensorsMeta);
}

void save_adapters(const std::string& dir, const LoraWeights* lora, const RouterWeights* router,
                   const RouteSettings& settings) {
  fs::create_directories(dir);
  if (lora) write_lora_files(dir, *lora, "");
  if (router) write_router_file(dir, *router);
  Json s{{"router_threshold", settings.threshold},
         {"router_pooling", route_pool_name(settings.pool)}};
  write_file_atomic(dir + "/layerroute_config.json", s.dump(2) + "\n");
}

}  // namespace lr
