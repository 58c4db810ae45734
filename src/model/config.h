#pragma once
// Model hyper-parameters read from a Hugging Face config.json (qwen2, llama).
#include <string>
#include <vector>

#include "core/dtype.h"
#include "io/json.h"

namespace lr {

struct ModelConfig {
  std::string model_type;  // "qwen2" or "llama"
  int hidden = 0;
  int n_layers = 0;
  int n_heads = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  int intermediate = 0;
  int vocab = 0;
  int max_position = 0;
  float rope_theta = 10000.f;
  float rms_eps = 1e-6f;
  bool tie_embeddings = false;
  bool qkv_bias = false;  // qwen2: true
  int bos_id = -1;
  std::vector<int> eos_ids;
  DType torch_dtype = DType::F32;

  // Throws lr::Error naming `where` for missing/invalid fields and unsupported features
  // (other model types, rope_scaling, sliding window in use, ...).
  static ModelConfig from_json(const Json& j, const std::string& where);
  static ModelConfig load(const std::string& dir);  // DIR/config.json
  Json to_json() const;                             // HF layout, round-trips from_json
  int q_dim() const { return n_heads * head_dim; }
  int kv_dim() const { return n_kv_heads * head_dim; }
};

}  // namespace lr
