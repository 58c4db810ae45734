#include "train/adapter_io.h"

#include <filesystem>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "layerroute/adapters.h"

namespace lr {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFormatVersion = "1";
constexpr const char* kLayerrouteVersion = "0.1.0";

void write_json(const std::string& path, const Json& j) {
  write_file_atomic(path, j.dump(2) + "\n");
}

}  // namespace

void save_adapter_files(const std::string& dir, const AdapterToSave& a) {
  LR_CHECK(a.model != nullptr, "save_adapter_files: no model config");
  const std::map<std::string, std::string> meta{{"format", "pt"}};
  if (a.lora) write_lora_files(dir, *a.lora, a.base_model);
  if (a.routers) write_router_file(dir, *a.routers);
  if (a.full) {
    write_json(dir + "/config.json", a.model->to_json());
    write_safetensors(dir + "/model.safetensors", f32_tensors(a.full->tensors()), meta);
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
  // One reader of the format: inference's, which also checks PEFT's options; training and
  // evaluation then refuse what their graph does not implement.
  Adapters ad = Adapters::load(dir, model);
  LoadedAdapter out;
  if (ad.has_lora) {
    LR_CHECK(!ad.rslora, dir,
             "/adapter_config.json: use_rslora is supported for inference, not for training or "
             "evaluation");
    for (int l = 0; l < model.n_layers; ++l)
      for (LoraTarget t : ad.lora.cfg.targets)
        LR_CHECK(!ad.lora.at(l, t).empty(), dir,
                 "/adapter_config.json: layers_to_transform (LoRA on some blocks only) is "
                 "supported for inference, not for training or evaluation");
    out.lora = std::move(ad.lora);
  }
  if (ad.has_router) out.routers = std::move(ad.router);
  out.routing.threshold = ad.settings.threshold;
  const std::string lcfg = dir + "/layerroute_config.json";
  if (fs::exists(lcfg)) {
    out.settings = read_json_file(lcfg);
    // Training's pooling ablation (inference pools whole sequences either way).
    const std::string p = out.settings.value("router_pooling", std::string("masked-mean"));
    LR_CHECK(p == "masked-mean" || p == "mean-all", lcfg, ": unknown router_pooling '", p, "'");
    out.routing.pooling = p == "masked-mean" ? RouterPooling::MaskedMean : RouterPooling::MeanAll;
    if (out.settings.contains("n_layers"))
      LR_CHECK(out.settings["n_layers"] == model.n_layers, lcfg, ": made for ",
               out.settings["n_layers"].dump(), " layers, the model has ", model.n_layers);
  }
  return out;
}

}  // namespace lr
