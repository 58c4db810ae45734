#include "eval/adapter_reader.h"

#include <filesystem>

#include "core/error.h"
#include "io/json.h"
#include "io/safetensors.h"

namespace lr::eval {

namespace fs = std::filesystem;

namespace {

void fill(std::vector<TensorSlot> slots, const Checkpoint& ck) {
  for (TensorSlot& s : slots) {
    const std::vector<float> v = ck.load_f32(s.name, s.shape);
    std::copy(v.begin(), v.end(), s.data);
  }
}

LoraConfig read_peft_config(const std::string& path) {
  const Json j = read_json_file(path);
  LoraConfig c;
  LR_CHECK(j.contains("r") && j.contains("lora_alpha") && j.contains("target_modules"), path,
           ": needs r, lora_alpha and target_modules");
  c.rank = j["r"].get<int>();
  c.alpha = j["lora_alpha"].get<float>();
  c.dropout = j.value("lora_dropout", 0.f);
  c.targets.clear();
  for (const Json& t : j["target_modules"]) {
    LoraTarget lt;
    LR_CHECK(t.is_string() && parse_lora_target(t.get<std::string>(), &lt), path,
             ": unknown target module ", t.dump());
    c.targets.push_back(lt);
  }
  LR_CHECK(c.rank > 0, path, ": r must be positive");
  return c;
}

}  // namespace

EvalAdapters read_eval_adapters(const std::string& dir, const ModelConfig& model) {
  LR_CHECK(fs::is_directory(dir), dir, ": not a directory");
  EvalAdapters a;
  const std::string peft = dir + "/adapter_config.json", lw = dir + "/adapter_model.safetensors",
                    rw = dir + "/router.safetensors", lc = dir + "/layerroute_config.json";
  if (fs::exists(peft) || fs::exists(lw)) {
    LR_CHECK(fs::exists(peft) && fs::exists(lw), dir,
             ": adapter_config.json and adapter_model.safetensors go together");
    a.lora = LoraWeights::zeros(model, read_peft_config(peft));
    fill(a.lora->tensors(), Checkpoint::open_file(lw));
  }
  if (fs::exists(rw)) {
    a.routers = RouterWeights::zeros(model);
    fill(a.routers->tensors(), Checkpoint::open_file(rw));
  }
  LR_CHECK(a.lora || a.routers, dir, ": no adapter_model.safetensors and no router.safetensors");
  if (fs::exists(lc)) {
    const Json j = read_json_file(lc);
    a.threshold = j.value("router_threshold", 0.5f);
    const std::string p = j.value("router_pooling", std::string("masked-mean"));
    LR_CHECK(p == "masked-mean" || p == "mean-all", lc, ": unknown router_pooling '", p, "'");
    a.pooling = p == "masked-mean" ? RouterPooling::MaskedMean : RouterPooling::MeanAll;
  }
  return a;
}

}  // namespace lr::eval
