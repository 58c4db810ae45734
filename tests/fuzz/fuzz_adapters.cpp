// libFuzzer target: the adapter directory reader for a tiny 2-block Qwen2 model. The input
// holds adapter_config.json, adapter_model.safetensors, router.safetensors and
// layerroute_config.json, separated by kSep; an empty part means the file is absent.
#include "core/error.h"
#include "fuzz_util.h"
#include "layerroute/adapters.h"

namespace {

lr::ModelConfig tiny_config() {
  lr::ModelConfig c;
  c.model_type = "qwen2";
  c.hidden = 8;
  c.n_layers = 2;
  c.n_heads = 2;
  c.n_kv_heads = 1;
  c.head_dim = 4;
  c.intermediate = 16;
  c.vocab = 32;
  c.max_position = 64;
  c.qkv_bias = true;
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const char* const kFiles[] = {"adapter_config.json", "adapter_model.safetensors",
                                       "router.safetensors", "layerroute_config.json"};
  static const lr::ModelConfig cfg = tiny_config();
  const auto& s = lr::fuzz::scratch();
  const auto parts = lr::fuzz::split_parts(lr::fuzz::as_view(data, size), 4);
  for (size_t i = 0; i < 4; ++i) {
    if (parts[i].empty())
      s.remove(kFiles[i]);
    else
      s.write(kFiles[i], parts[i]);
  }
  try {
    const lr::Adapters a = lr::Adapters::load(s.dir(), cfg);
    (void)a.lora_scale();
    (void)a.deltas();
  } catch (const lr::Error&) {
  }
  return 0;
}
