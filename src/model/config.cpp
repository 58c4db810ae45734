#include "model/config.h"

#include <charconv>
#include <limits>

#include "core/error.h"

namespace lr {

namespace {

// Field accessors: each names `where` and the field in its error.
struct Reader {
  const Json& j;
  const std::string& where;

  const Json* get(const char* key) const {
    auto it = j.find(key);
    return it == j.end() || it->is_null() ? nullptr : &*it;
  }
  int integer(const char* key, const int* def = nullptr) const {
    const Json* v = get(key);
    if (!v) {
      LR_CHECK(def, where, ": missing required field ", key);
      return *def;
    }
    LR_CHECK(v->is_number_integer(), where, ": field ", key, " must be an integer, got ",
             v->dump());
    if (v->is_number_unsigned())
      LR_CHECK(v->get<uint64_t>() <= uint64_t(std::numeric_limits<int>::max()), where, ": field ",
               key, " is too large");
    else
      LR_CHECK(v->get<int64_t>() >= std::numeric_limits<int>::min() &&
                   v->get<int64_t>() <= std::numeric_limits<int>::max(),
               where, ": field ", key, " is out of range");
    return int(v->get<int64_t>());
  }
  int positive(const char* key, const int* def = nullptr) const {
    const int v = integer(key, def);
    LR_CHECK(v > 0, where, ": field ", key, " must be positive, got ", v);
    return v;
  }
  // positive() no larger than `max`: sizes that buffers are allocated from.
  int size(const char* key, int max, const int* def = nullptr) const {
    const int v = positive(key, def);
    LR_CHECK(v <= max, where, ": field ", key, " is ", v, ", more than the ", max,
             " any supported model has");
    return v;
  }
  double number(const char* key, double def) const {
    const Json* v = get(key);
    if (!v) return def;
    LR_CHECK(v->is_number(), where, ": field ", key, " must be a number, got ", v->dump());
    return v->get<double>();
  }
  bool boolean(const char* key, bool def) const {
    const Json* v = get(key);
    if (!v) return def;
    LR_CHECK(v->is_boolean(), where, ": field ", key, " must be true or false, got ", v->dump());
    return v->get<bool>();
  }
  std::string string(const char* key, const std::string& def) const {
    const Json* v = get(key);
    if (!v) return def;
    LR_CHECK(v->is_string(), where, ": field ", key, " must be a string, got ", v->dump());
    return v->get<std::string>();
  }
};

constexpr int kMaxHidden = 1 << 16;
constexpr int kMaxLayers = 1 << 10;
constexpr int kMaxHeads = 1 << 10;
constexpr int kMaxHeadDim = 1 << 10;
constexpr int kMaxIntermediate = 1 << 20;
constexpr int kMaxVocab = 1 << 24;
constexpr int kMaxPositions = 1 << 24;

// Shortest decimal that reads back as the same float, so 1e-6f is written "1e-06", not
// 9.999999974752427e-07.
double float_for_json(float f) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, f);
  double d = 0;
  std::from_chars(buf, r.ptr, d);
  return d;
}

}  // namespace

ModelConfig ModelConfig::from_json(const Json& j, const std::string& where) {
  LR_CHECK(j.is_object(), where, ": config is not a JSON object");
  const Reader r{j, where};
  ModelConfig c;
  c.model_type = r.string("model_type", "");
  LR_CHECK(c.model_type == "qwen2" || c.model_type == "llama", where, ": model_type \"",
           c.model_type, "\" is not supported (supported: qwen2, llama)");
  const bool qwen = c.model_type == "qwen2";

  // Upper bounds far above any real checkpoint (Qwen2.5-72B: hidden 8192, 80 layers, 64
  // heads, intermediate 29568, vocab 152064), so that a hostile config cannot size
  // buffers before the weights are checked against it.
  c.hidden = r.size("hidden_size", kMaxHidden);
  c.n_layers = r.size("num_hidden_layers", kMaxLayers);
  c.n_heads = r.size("num_attention_heads", kMaxHeads);
  c.n_kv_heads = r.size("num_key_value_heads", kMaxHeads, &c.n_heads);
  if (!r.get("head_dim"))
    LR_CHECK(c.hidden % c.n_heads == 0, where, ": num_attention_heads ", c.n_heads,
             " does not divide hidden_size ", c.hidden, " (and no head_dim is given)");
  const int def_head_dim = c.hidden / c.n_heads;
  c.head_dim = r.size("head_dim", kMaxHeadDim, &def_head_dim);
  LR_CHECK(c.n_heads % c.n_kv_heads == 0, where, ": num_key_value_heads ", c.n_kv_heads,
           " does not divide num_attention_heads ", c.n_heads);
  c.intermediate = r.size("intermediate_size", kMaxIntermediate);
  c.vocab = r.size("vocab_size", kMaxVocab);
  // HF defaults when the field is absent.
  const int def_pos = qwen ? 32768 : 2048;
  c.max_position = r.size("max_position_embeddings", kMaxPositions, &def_pos);

  // Newer transformers moves rope_theta into rope_parameters; only plain RoPE is supported.
  double theta = r.number("rope_theta", 10000.0);
  if (const Json* rp = r.get("rope_parameters")) {
    LR_CHECK(rp->is_object(), where, ": rope_parameters must be an object");
    const Reader rr{*rp, where};
    const std::string type = rr.string("rope_type", "default");
    LR_CHECK(type == "default", where, ": rope_parameters.rope_type \"", type,
             "\" is not supported (only default RoPE)");
    theta = rr.number("rope_theta", theta);
  }
  LR_CHECK(!r.get("rope_scaling"), where, ": rope_scaling ", j["rope_scaling"].dump(),
           " is not supported (only plain RoPE)");
  LR_CHECK(theta > 0, where, ": rope_theta must be positive");
  c.rope_theta = float(theta);
  const double eps = r.number("rms_norm_eps", 1e-6);
  LR_CHECK(eps > 0, where, ": rms_norm_eps must be positive");
  c.rms_eps = float(eps);
  c.tie_embeddings = r.boolean("tie_word_embeddings", false);

  const std::string act = r.string("hidden_act", "silu");
  LR_CHECK(act == "silu", where, ": hidden_act \"", act, "\" is not supported (only silu)");
  LR_CHECK(!r.boolean("mlp_bias", false), where, ": mlp_bias true is not supported");
  if (qwen) {
    // Qwen2 always has q/k/v biases; a sliding window in use changes attention.
    c.qkv_bias = true;
    LR_CHECK(!r.boolean("use_sliding_window", false), where,
             ": use_sliding_window true is not supported");
  } else {
    // In HF Llama attention_bias also adds an o_proj bias, which our block does not have;
    // accepting it would silently drop that bias.
    LR_CHECK(!r.boolean("attention_bias", false), where,
             ": attention_bias true is not supported (it adds an o_proj bias)");
    c.qkv_bias = false;
  }

  const int none = -1;
  c.bos_id = r.integer("bos_token_id", &none);
  if (const Json* e = r.get("eos_token_id")) {
    if (e->is_array()) {
      for (size_t i = 0; i < e->size(); ++i) {
        const Json one = {{"eos_token_id", (*e)[i]}};
        c.eos_ids.push_back(Reader{one, where}.integer("eos_token_id"));
      }
    } else {
      c.eos_ids.push_back(r.integer("eos_token_id"));
    }
  }
  // transformers >= 4.56 writes "dtype"; older versions "torch_dtype".
  std::string dt = r.string("torch_dtype", r.string("dtype", "float32"));
  if (dt == "float32")
    c.torch_dtype = DType::F32;
  else if (dt == "bfloat16")
    c.torch_dtype = DType::BF16;
  else if (dt == "float16")
    c.torch_dtype = DType::F16;
  else
    fail(where, ": torch_dtype \"", dt, "\" is not supported (float32, bfloat16, float16)");
  return c;
}

ModelConfig ModelConfig::load(const std::string& dir) {
  const std::string path = dir + "/config.json";
  return from_json(read_json_file(path), path);
}

Json ModelConfig::to_json() const {
  const bool qwen = model_type == "qwen2";
  Json j;
  j["architectures"] = {qwen ? "Qwen2ForCausalLM" : "LlamaForCausalLM"};
  j["model_type"] = model_type;
  j["hidden_size"] = hidden;
  j["intermediate_size"] = intermediate;
  j["num_hidden_layers"] = n_layers;
  j["num_attention_heads"] = n_heads;
  j["num_key_value_heads"] = n_kv_heads;
  j["head_dim"] = head_dim;
  j["vocab_size"] = vocab;
  j["max_position_embeddings"] = max_position;
  j["rms_norm_eps"] = float_for_json(rms_eps);
  j["rope_theta"] = float_for_json(rope_theta);
  j["tie_word_embeddings"] = tie_embeddings;
  j["hidden_act"] = "silu";
  if (!qwen) j["attention_bias"] = qkv_bias;
  j["bos_token_id"] = bos_id >= 0 ? Json(bos_id) : Json(nullptr);
  if (eos_ids.empty())
    j["eos_token_id"] = nullptr;
  else if (eos_ids.size() == 1)
    j["eos_token_id"] = eos_ids[0];
  else
    j["eos_token_id"] = eos_ids;
  j["torch_dtype"] = torch_dtype == DType::BF16  ? "bfloat16"
                     : torch_dtype == DType::F16 ? "float16"
                                                 : "float32";
  return j;
}

}  // namespace lr
