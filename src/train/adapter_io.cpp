#include "train/adapter_io.h"

#include <filesystem>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"

namespace lr {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFormatVersion = "1";
constexpr const char* kLayerrouteVersion = "0.1.0";

std::vector<TensorToWrite> to_write(const std::vector<TensorSlot>& slots) {
  std::vector<TensorToWrite> out;
  for (const TensorSlot& s : slots) out.push_back({s.name, DType::F32, s.shape, s.data});
  return out;
}

void write_json(const std::string& path, const Json& j) {
  write_file_atomic(path, j.dump(2) + "\n");
}

// Fills every slot from `file`, which must hold exactly these names and shapes.
void read_slots(const std::string& file, std::vector<TensorSlot> slots) {
  const Checkpoint ck = Checkpoint::open_file(file);
  for (TensorSlot& s : slots) {
    const std::vector<float> v = ck.load_f32(s.name, s.shape);
    std::copy(v.begin(), v.end(), s.data);
  }
  LR_CHECK(ck.names().size() == slots.size(), file, ": holds ", ck.names().size(),
           " tensors, expected ", slots.size());
}

}  // namespace

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

void save_adapter_files(const std::string& dir, const AdapterToSave& a) {
  LR_CHECK(a.model != nullptr, "save_adapter_files: no model config");
  const std::map<std::string, std::string> meta{{"format", "pt"}};
  if (a.lora) {
    write_json(dir + "/adapter_config.json", peft_adapter_config(a.lora->cfg, a.base_model));
    write_safetensors(dir + "/adapter_model.safetensors", to_write(a.lora->tensors()), meta);
  }
  if (a.routers)
    write_safetensors(dir + "/router.safetensors", to_write(a.routers->tensors()), meta);
  if (a.full) {
    write_json(dir + "/config.json", a.model->to_json());
    write_safetensors(dir + "/model.safetensors", to_write(a.full->tensors()), meta);
    for (const char* f : {"tokenizer.json", "tokenizer_config.json", "generation_config.json",
                          "chat_template.jinja"}) {
      const fs::path src = fs::path(a.tokenizer_from) / f;
      if (fs::exists(src)) write_file_atomic(dir + "/" + f, read_file(src.string()));
    }
  }
  Json j;
  j["format_version"] = kFormatVersion;
  j["layerroute_version"] = kLayerrouteVersion;
  j["routers"] = a.routers != nullptr;
  j["router_threshold"] = a.routing.threshold;
  j["router_pooling"] = a.routing.pooling == RouterPooling::MaskedMean ? "masked-mean" : "mean-all";
  const auto band = router_middle_band(a.model->n_layers);
  j["router_init_band"] = {band.first, band.second};
  j["n_layers"] = a.model->n_layers;
  j["hidden_size"] = a.model->hidden;
  j["lora"] = a.lora != nullptr;
  j["full_model"] = a.full != nullptr;
  j["train_config"] = a.train_config;
  write_json(dir + "/layerroute_config.json", j);
}

LoadedAdapter load_adapter_dir(const std::string& dir, const ModelConfig& model) {
  LR_CHECK(fs::is_directory(dir), dir, ": not an adapter directory");
  LoadedAdapter out;
  const std::string acfg = dir + "/adapter_config.json";
  if (fs::exists(acfg)) {
    const Json j = read_json_file(acfg);
    auto need = [&](const char* k) -> const Json& {
      LR_CHECK(j.contains(k), acfg, ": missing \"", k, "\"");
      return j[k];
    };
    LR_CHECK(need("peft_type") == "LORA", acfg, ": peft_type is not LORA");
    LoraConfig c;
    try {
      c.rank = need("r").get<int>();
      c.alpha = need("lora_alpha").get<float>();
      c.dropout = j.value("lora_dropout", 0.f);
      c.targets.clear();
      for (const Json& t : need("target_modules")) {
        LoraTarget x;
        LR_CHECK(parse_lora_target(t.get<std::string>(), &x), acfg, ": unsupported target ",
                 t.dump());
        c.targets.push_back(x);
      }
    } catch (const Json::exception& e) {
      fail(acfg, ": ", e.what());
    }
    LR_CHECK(c.rank > 0, acfg, ": r must be > 0");
    LR_CHECK(!j.value("fan_in_fan_out", false), acfg, ": fan_in_fan_out is not supported");
    out.lora = LoraWeights::zeros(model, c);
    read_slots(dir + "/adapter_model.safetensors", out.lora->tensors());
  }
  const std::string rfile = dir + "/router.safetensors";
  if (fs::exists(rfile)) {
    out.routers = RouterWeights::zeros(model);
    read_slots(rfile, out.routers->tensors());
  }
  const std::string lcfg = dir + "/layerroute_config.json";
  if (fs::exists(lcfg)) {
    out.settings = read_json_file(lcfg);
    out.routing.threshold = out.settings.value("router_threshold", 0.5f);
    const std::string p = out.settings.value("router_pooling", std::string("masked-mean"));
    LR_CHECK(p == "masked-mean" || p == "mean-all", lcfg, ": unknown router_pooling '", p, "'");
    out.routing.pooling = p == "masked-mean" ? RouterPooling::MaskedMean : RouterPooling::MeanAll;
    if (out.settings.contains("n_layers"))
      LR_CHECK(out.settings["n_layers"] == model.n_layers, lcfg, ": made for ",
               out.settings["n_layers"].dump(), " layers, the model has ", model.n_layers);
  }
  LR_CHECK(out.lora || out.routers, dir, ": no adapter_model.safetensors or router.safetensors");
  return out;
}

}  // namespace lr
