#pragma once
// Tiny models, samples and adapter directories for the evaluation tests.
#include <filesystem>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "io/atomic_file.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "layerroute/lora.h"
#include "layerroute/rng.h"
#include "layerroute/router.h"
#include "layerroute/train_weights.h"
#include "temp_path.h"
#include "text/dataset.h"
#include "train/adapter_io.h"

namespace lr::evaltest {

// An empty directory private to this test process (see temp_path.h).
inline std::string fresh_dir(const std::string& name) {
  const std::filesystem::path p = test::temp_path(name);
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

inline ModelConfig tiny_cfg(int layers = 4, int vocab = 40) {
  ModelConfig c;
  c.model_type = "qwen2";
  c.hidden = 16;
  c.n_layers = layers;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 4;
  c.intermediate = 24;
  c.vocab = vocab;
  c.max_position = 512;
  c.rope_theta = 10000.f;
  c.rms_eps = 1e-6f;
  c.tie_embeddings = true;
  c.qkv_bias = true;
  c.torch_dtype = DType::F32;
  return c;
}

// A step of `len` tokens; every token after the first is a target. Token ids come from
// `pick(t)`.
template <typename F>
TokenizedSample make_sample(int len, StepLabel label, F pick) {
  TokenizedSample s;
  s.label = label;
  for (int t = 0; t < len; ++t) {
    s.ids.push_back(pick(t));
    s.loss_mask.push_back(t > 0 ? 1 : 0);
  }
  return s;
}

// Alternating tool_call / planning samples of varied lengths with random ids.
inline std::vector<TokenizedSample> random_samples(int n, int vocab, uint64_t seed) {
  Rng rng(seed);
  std::vector<TokenizedSample> out;
  for (int i = 0; i < n; ++i) {
    const int len = 3 + int(rng.uniform() * 9);
    out.push_back(make_sample(len, i % 2 == 0 ? StepLabel::ToolCall : StepLabel::Planning,
                              [&](int) { return int32_t(rng.uniform() * vocab) % vocab; }));
  }
  return out;
}

inline void randomize(std::vector<float>& v, uint64_t seed, float scale) {
  Rng rng(seed);
  for (float& x : v) x = float((rng.uniform() * 2 - 1) * scale);
}

inline void write_tensors(const std::string& path, std::vector<TensorSlot> slots) {
  write_safetensors(path, f32_tensors(slots));
}

// The adapter directory of DESIGN §6, written by the trainer's writer.
inline void write_adapter_dir(const std::string& dir, const ModelConfig& cfg, LoraWeights* lora,
                              RouterWeights* routers) {
  std::filesystem::create_directories(dir);
  AdapterToSave a;
  a.model = &cfg;
  a.base_model = "tiny";
  a.lora = lora;
  a.routers = routers;
  save_adapter_files(dir, a);
}

// A loadable model directory: config.json, model.safetensors, the qwen2-tiny tokenizer and
// our native chat template key.
inline void write_model_dir(const std::string& dir, const ModelConfig& cfg, uint64_t seed,
                            const std::string& tokenizer_json) {
  std::filesystem::create_directories(dir);
  TrainWeights w = TrainWeights::random(cfg, seed);
  write_tensors(dir + "/model.safetensors", w.tensors());
  write_file_atomic(dir + "/config.json", cfg.to_json().dump(2));
  std::filesystem::copy_file(tokenizer_json, dir + "/tokenizer.json",
                             std::filesystem::copy_options::overwrite_existing);
  write_file_atomic(dir + "/tokenizer_config.json", R"({"layerroute_chat_template": "qwen2.5"})");
}

// Minimal XML well-formedness: balanced, properly nested tags; quoted attributes; no stray
// '<' or unescaped '&' in text; one root element. Returns "" or what is wrong.
inline std::string xml_problem(const std::string& s) {
  std::vector<std::string> stack;
  size_t i = 0;
  int roots = 0;
  const auto bad_amp = [&](size_t a, size_t b) {
    for (size_t k = a; k < b; ++k)
      if (s[k] == '&') {
        const size_t semi = s.find(';', k);
        if (semi == std::string::npos || semi > b || semi - k > 6) return true;
      }
    return false;
  };
  while (i < s.size()) {
    const size_t lt = s.find('<', i);
    if (lt == std::string::npos) {
      if (bad_amp(i, s.size())) return "bad & in text";
      break;
    }
    if (bad_amp(i, lt)) return "bad & in text";
    if (s.compare(lt, 4, "<!--") == 0 || s.compare(lt, 2, "<?") == 0) {
      const size_t e = s.find(s[lt + 1] == '?' ? "?>" : "-->", lt);
      if (e == std::string::npos) return "unterminated comment";
      i = e + 2;
      continue;
    }
    const size_t gt = s.find('>', lt);
    if (gt == std::string::npos) return "unterminated tag";
    std::string tag = s.substr(lt + 1, gt - lt - 1);
    if (tag.find('<') != std::string::npos) return "'<' inside a tag";
    if (!tag.empty() && tag[0] == '/') {
      const std::string name = tag.substr(1);
      if (stack.empty() || stack.back() != name) return "mismatched </" + name + ">";
      stack.pop_back();
    } else {
      const bool self = !tag.empty() && tag.back() == '/';
      if (self) tag.pop_back();
      const std::string name = tag.substr(0, tag.find_first_of(" \t\n"));
      if (name.empty()) return "empty tag name";
      // Attributes: name="value" pairs.
      size_t q = 0;
      for (char c : tag) q += c == '"' ? 1 : 0;
      if (q % 2) return "unbalanced quotes in <" + name + ">";
      if (stack.empty()) ++roots;
      if (!self) stack.push_back(name);
    }
    i = gt + 1;
  }
  if (!stack.empty()) return "unclosed <" + stack.back() + ">";
  if (roots != 1) return "expected one root element, got " + std::to_string(roots);
  return "";
}

}  // namespace lr::evaltest
