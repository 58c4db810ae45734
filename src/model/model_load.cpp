// Loading from a Hugging Face checkpoint: kept apart from weights.cpp so code that only
// builds weights in memory does not pull in the safetensors reader.
#include "core/error.h"
#include "model/forward.h"
#include "model/weights.h"

namespace lr {

namespace {

Linear load_linear(const Checkpoint& ck, const std::string& name, int rows, int cols, bool bias,
                   WeightsDType dtype) {
  Linear L;
  L.rows = rows;
  L.cols = cols;
  L.w = ck.load_f32(name + ".weight", {rows, cols});
  if (bias) L.bias = ck.load_f32(name + ".bias", {rows});
  // bf16 checkpoints round-trip exactly through f32, so this loses nothing for them.
  L.convert(dtype);
  L.pack_decode_panels();  // inference loads: the decode layout (no-op for f32)
  return L;
}

}  // namespace

ModelWeights ModelWeights::load(const Checkpoint& ck, const ModelConfig& c, WeightsDType dtype) {
  ModelWeights w;
  const int H = c.hidden;
  w.embed = load_linear(ck, "model.embed_tokens", c.vocab, H, false, dtype);
  w.layers.resize(c.n_layers);
  for (int i = 0; i < c.n_layers; ++i) {
    BlockWeights& b = w.layers[i];
    const std::string p = "model.layers." + std::to_string(i) + ".";
    b.ln_in = ck.load_f32(p + "input_layernorm.weight", {H});
    b.q = load_linear(ck, p + "self_attn.q_proj", c.q_dim(), H, c.qkv_bias, dtype);
    b.k = load_linear(ck, p + "self_attn.k_proj", c.kv_dim(), H, c.qkv_bias, dtype);
    b.v = load_linear(ck, p + "self_attn.v_proj", c.kv_dim(), H, c.qkv_bias, dtype);
    b.o = load_linear(ck, p + "self_attn.o_proj", H, c.q_dim(), false, dtype);
    b.ln_post = ck.load_f32(p + "post_attention_layernorm.weight", {H});
    b.gate = load_linear(ck, p + "mlp.gate_proj", c.intermediate, H, false, dtype);
    b.up = load_linear(ck, p + "mlp.up_proj", c.intermediate, H, false, dtype);
    b.down = load_linear(ck, p + "mlp.down_proj", H, c.intermediate, false, dtype);
  }
  w.norm = ck.load_f32("model.norm.weight", {H});
  if (!c.tie_embeddings) w.lm_head = load_linear(ck, "lm_head", c.vocab, H, false, dtype);
  return w;
}

Model Model::load(const std::string& dir, WeightsDType dtype) {
  Model m;
  m.config = ModelConfig::load(dir);
  m.weights = ModelWeights::load(Checkpoint::open_dir(dir), m.config, dtype);
  return m;
}

}  // namespace lr
