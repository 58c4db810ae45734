#include "model/weights.h"

#include <cmath>
#include <random>

#include "core/error.h"

namespace lr {

namespace {

// Box-Muller over mt19937_64 bits: unlike std::normal_distribution, the sequence is the
// same with every standard library, so random models are reproducible everywhere.
class Normal {
 public:
  explicit Normal(uint64_t seed) : rng_(seed) {}
  float operator()(float stddev) {
    if (has_spare_) {
      has_spare_ = false;
      return float(spare_ * stddev);
    }
    const double u1 = (double((rng_() >> 11) + 1)) * 0x1.0p-53;  // (0, 1]
    const double u2 = double(rng_() >> 11) * 0x1.0p-53;
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2.0 * M_PI * u2);
    has_spare_ = true;
    return float(r * std::cos(2.0 * M_PI * u2) * stddev);
  }

 private:
  std::mt19937_64 rng_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

Linear random_linear(Normal& rnd, int rows, int cols, bool bias, float stddev) {
  Linear L;
  L.rows = rows;
  L.cols = cols;
  L.w.resize(size_t(rows) * cols);
  for (auto& x : L.w) x = rnd(stddev);
  if (bias) {
    L.bias.resize(rows);
    for (auto& x : L.bias) x = rnd(stddev);
  }
  return L;
}

std::vector<float> random_norm(Normal& rnd, int n, float stddev) {
  std::vector<float> v(n);
  for (auto& x : v) x = 1.f + rnd(stddev);
  return v;
}

}  // namespace

ModelWeights ModelWeights::random(const ModelConfig& c, uint64_t seed, float stddev,
                                  WeightsDType dtype) {
  Normal rnd(seed);
  ModelWeights w;
  w.embed = random_linear(rnd, c.vocab, c.hidden, false, stddev);
  w.layers.resize(c.n_layers);
  for (auto& b : w.layers) {
    b.ln_in = random_norm(rnd, c.hidden, stddev);
    b.q = random_linear(rnd, c.q_dim(), c.hidden, c.qkv_bias, stddev);
    b.k = random_linear(rnd, c.kv_dim(), c.hidden, c.qkv_bias, stddev);
    b.v = random_linear(rnd, c.kv_dim(), c.hidden, c.qkv_bias, stddev);
    b.o = random_linear(rnd, c.hidden, c.q_dim(), false, stddev);
    b.ln_post = random_norm(rnd, c.hidden, stddev);
    b.gate = random_linear(rnd, c.intermediate, c.hidden, false, stddev);
    b.up = random_linear(rnd, c.intermediate, c.hidden, false, stddev);
    b.down = random_linear(rnd, c.hidden, c.intermediate, false, stddev);
  }
  w.norm = random_norm(rnd, c.hidden, stddev);
  if (!c.tie_embeddings) w.lm_head = random_linear(rnd, c.vocab, c.hidden, false, stddev);
  w.convert(dtype);
  return w;
}

void ModelWeights::convert(WeightsDType to) {
  for_each_matrix([to](Linear& L) { L.convert(to); });
}

void ModelWeights::pack_decode_panels() {
  for_each_matrix([](Linear& L) { L.pack_decode_panels(); });
}

std::vector<TensorToWrite> ModelWeights::to_tensors() const {
  std::vector<TensorToWrite> out;
  auto vec = [&](const std::string& name, const std::vector<float>& v) {
    out.push_back({name, DType::F32, {int64_t(v.size())}, v.data()});
  };
  auto lin = [&](const std::string& name, const Linear& L) {
    LR_CHECK(L.dtype != WeightsDType::Q8, name, ": q8 weights have no safetensors form; convert ",
             "to f32 or bf16 first");
    LR_CHECK(!L.bf16_panels(), name, ": bf16 weights in decode panels have no safetensors form; ",
             "load them without packing");
    const bool bf = L.dtype == WeightsDType::BF16;
    out.push_back({name + ".weight",
                   bf ? DType::BF16 : DType::F32,
                   {L.rows, L.cols},
                   bf ? static_cast<const void*>(L.w_bf16.data()) : L.w.data()});
    if (!L.bias.empty()) vec(name + ".bias", L.bias);
  };
  lin("model.embed_tokens", embed);
  for (size_t i = 0; i < layers.size(); ++i) {
    const BlockWeights& b = layers[i];
    const std::string p = "model.layers." + std::to_string(i) + ".";
    vec(p + "input_layernorm.weight", b.ln_in);
    lin(p + "self_attn.q_proj", b.q);
    lin(p + "self_attn.k_proj", b.k);
    lin(p + "self_attn.v_proj", b.v);
    lin(p + "self_attn.o_proj", b.o);
    vec(p + "post_attention_layernorm.weight", b.ln_post);
    lin(p + "mlp.gate_proj", b.gate);
    lin(p + "mlp.up_proj", b.up);
    lin(p + "mlp.down_proj", b.down);
  }
  vec("model.norm.weight", norm);
  if (!lm_head.empty()) lin("lm_head", lm_head);
  return out;
}

}  // namespace lr
