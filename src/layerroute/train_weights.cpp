#include "layerroute/train_weights.h"

#include <string>

#include "core/error.h"
#include "layerroute/rng.h"

namespace lr {

namespace {

void check_cfg(const ModelConfig& c) {
  LR_CHECK(c.hidden > 0 && c.n_layers > 0 && c.n_heads > 0 && c.n_kv_heads > 0 && c.head_dim > 0 &&
               c.intermediate > 0 && c.vocab > 0,
           "model config: every dimension must be positive");
  LR_CHECK(c.n_heads % c.n_kv_heads == 0, "model config: n_heads ", c.n_heads,
           " is not a multiple of n_kv_heads ", c.n_kv_heads);
  LR_CHECK(c.head_dim % 2 == 0, "model config: head_dim ", c.head_dim, " must be even (RoPE)");
}

// Visits every tensor in the canonical order with its name and shape.
template <typename W, typename F>
void for_each_tensor(W& w, F&& f) {
  const ModelConfig& c = w.cfg;
  const int64_t H = c.hidden, Q = c.q_dim(), K = c.kv_dim(), I = c.intermediate, V = c.vocab;
  f("model.embed_tokens.weight", std::vector<int64_t>{V, H}, w.embed);
  for (int l = 0; l < c.n_layers; ++l) {
    auto& b = w.blocks[size_t(l)];
    const std::string p = "model.layers." + std::to_string(l) + ".";
    f(p + "input_layernorm.weight", std::vector<int64_t>{H}, b.in_norm);
    f(p + "self_attn.q_proj.weight", std::vector<int64_t>{Q, H}, b.wq);
    if (c.qkv_bias) f(p + "self_attn.q_proj.bias", std::vector<int64_t>{Q}, b.bq);
    f(p + "self_attn.k_proj.weight", std::vector<int64_t>{K, H}, b.wk);
    if (c.qkv_bias) f(p + "self_attn.k_proj.bias", std::vector<int64_t>{K}, b.bk);
    f(p + "self_attn.v_proj.weight", std::vector<int64_t>{K, H}, b.wv);
    if (c.qkv_bias) f(p + "self_attn.v_proj.bias", std::vector<int64_t>{K}, b.bv);
    f(p + "self_attn.o_proj.weight", std::vector<int64_t>{H, Q}, b.wo);
    f(p + "post_attention_layernorm.weight", std::vector<int64_t>{H}, b.post_norm);
    f(p + "mlp.gate_proj.weight", std::vector<int64_t>{I, H}, b.wgate);
    f(p + "mlp.up_proj.weight", std::vector<int64_t>{I, H}, b.wup);
    f(p + "mlp.down_proj.weight", std::vector<int64_t>{H, I}, b.wdown);
  }
  f("model.norm.weight", std::vector<int64_t>{H}, w.final_norm);
  if (!c.tie_embeddings) f("lm_head.weight", std::vector<int64_t>{V, H}, w.lm_head);
}

bool is_norm(const std::string& name) {
  return name.find("norm") != std::string::npos;
}
bool is_bias(const std::string& name) {
  return name.ends_with(".bias");
}

}  // namespace

TrainWeights TrainWeights::zeros(const ModelConfig& cfg) {
  check_cfg(cfg);
  TrainWeights w;
  w.cfg = cfg;
  w.blocks.resize(size_t(cfg.n_layers));
  for_each_tensor(w, [](const std::string&, const std::vector<int64_t>& shape,
                        std::vector<float>& t) { t.assign(numel_of(shape), 0.f); });
  return w;
}

TrainWeights TrainWeights::random(const ModelConfig& cfg, uint64_t seed) {
  TrainWeights w = zeros(cfg);
  uint64_t index = 0;
  for_each_tensor(w,
                  [&](const std::string& name, const std::vector<int64_t>&, std::vector<float>& t) {
                    // One stream per tensor: adding a tensor does not shift the others' values.
                    Rng rng(mix_key(seed, index++));
                    if (is_norm(name)) {
                      for (float& x : t) x = 1.f;
                    } else if (!is_bias(name)) {
                      for (float& x : t) x = float(0.02 * rng.normal());
                    }
                  });
  return w;
}

std::vector<TensorSlot> TrainWeights::tensors() {
  std::vector<TensorSlot> out;
  for_each_tensor(*this, [&](const std::string& name, const std::vector<int64_t>& shape,
                             std::vector<float>& t) {
    out.push_back(TensorSlot{name, shape, t.data(), t.size()});
  });
  return out;
}

size_t TrainWeights::num_params() const {
  size_t n = embed.size() + final_norm.size() + lm_head.size();
  for (const auto& b : blocks)
    n += b.in_norm.size() + b.wq.size() + b.bq.size() + b.wk.size() + b.bk.size() + b.wv.size() +
         b.bv.size() + b.wo.size() + b.post_norm.size() + b.wgate.size() + b.wup.size() +
         b.wdown.size();
  return n;
}

}  // namespace lr
