#include "model/presets.h"

#include "core/error.h"

namespace lr {

namespace {

ModelConfig qwen25_05b() {
  ModelConfig c;
  c.model_type = "qwen2";
  c.hidden = 896;
  c.n_layers = 24;
  c.n_heads = 14;
  c.n_kv_heads = 2;
  c.head_dim = 64;
  c.intermediate = 4864;
  c.vocab = 151936;
  c.max_position = 32768;
  c.rope_theta = 1000000.f;
  c.rms_eps = 1e-6f;
  c.tie_embeddings = true;
  c.qkv_bias = true;
  c.bos_id = 151643;
  c.eos_ids = {151645};
  c.torch_dtype = DType::BF16;
  return c;
}

// The Qwen2.5 vocabulary and tokenizer on a tiny body: for tests of the whole toolchain.
ModelConfig qwen2_tiny() {
  ModelConfig c = qwen25_05b();
  c.hidden = 64;
  c.n_layers = 4;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 16;
  c.intermediate = 128;
  return c;
}

// The Qwen2 architecture at a size 2 CPU cores can train from scratch in minutes (the demo);
// the vocabulary is set by the cut-down tokenizer it is paired with.
ModelConfig demo_small() {
  ModelConfig c = qwen25_05b();
  c.hidden = 256;
  c.n_layers = 8;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 64;
  c.intermediate = 768;
  c.max_position = 2048;
  return c;
}

}  // namespace

std::vector<std::string> preset_names() { return {"qwen2.5-0.5b", "qwen2.5-tiny", "demo-small"}; }

ModelConfig preset_config(const std::string& name) {
  if (name == "qwen2.5-0.5b") return qwen25_05b();
  if (name == "qwen2.5-tiny") return qwen2_tiny();
  if (name == "demo-small") return demo_small();
  std::string known;
  for (const auto& n : preset_names()) known += (known.empty() ? "" : ", ") + n;
  fail("unknown preset '", name, "' (known: ", known, ")");
}

}  // namespace lr
