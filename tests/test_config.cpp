// ModelConfig from the golden HF configs, round trips, and each unsupported feature.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "model/config.h"

namespace lr {
namespace {

std::string golden(const std::string& m) {
  return std::string(LR_SHARED_DIR) + "/fixtures/golden/" + m;
}

#define SKIP_WITHOUT_SHARED() \
  if (!std::filesystem::exists(golden(""))) GTEST_SKIP() << "shared dir absent: " << golden("")

// The Qwen2.5-0.5B-Instruct config.json (as published on the Hub).
Json qwen25_05b() {
  return Json::parse(R"({
    "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
    "eos_token_id": 151645, "hidden_act": "silu", "hidden_size": 896,
    "initializer_range": 0.02, "intermediate_size": 4864, "max_position_embeddings": 32768,
    "max_window_layers": 21, "model_type": "qwen2", "num_attention_heads": 14,
    "num_hidden_layers": 24, "num_key_value_heads": 2, "rms_norm_eps": 1e-06,
    "rope_theta": 1000000.0, "sliding_window": 32768, "tie_word_embeddings": true,
    "torch_dtype": "bfloat16", "transformers_version": "4.43.1", "use_cache": true,
    "use_sliding_window": false, "vocab_size": 151936})");
}

void expect_error(const Json& j, const std::string& needle) {
  try {
    ModelConfig::from_json(j, "cfg.json");
    ADD_FAILURE() << "no error; expected " << needle;
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.rfind("cfg.json: ", 0), 0u) << m;
    EXPECT_NE(m.find(needle), std::string::npos) << m;
  }
}

TEST(Config, GoldenQwen2Tiny) {
  SKIP_WITHOUT_SHARED();
  const ModelConfig c = ModelConfig::load(golden("qwen2-tiny"));
  EXPECT_EQ(c.model_type, "qwen2");
  EXPECT_EQ(c.hidden, 64);
  EXPECT_EQ(c.n_layers, 3);
  EXPECT_EQ(c.n_heads, 4);
  EXPECT_EQ(c.n_kv_heads, 2);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.intermediate, 160);
  EXPECT_EQ(c.vocab, 2048);
  EXPECT_EQ(c.max_position, 4096);
  EXPECT_EQ(c.rope_theta, 1e6f);
  EXPECT_EQ(c.rms_eps, 1e-6f);
  EXPECT_TRUE(c.tie_embeddings);
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_EQ(c.bos_id, 0);
  EXPECT_EQ(c.eos_ids, std::vector<int>{0});
  EXPECT_EQ(c.torch_dtype, DType::F32);
  EXPECT_EQ(c.q_dim(), 64);
  EXPECT_EQ(c.kv_dim(), 32);
  EXPECT_EQ(ModelConfig::load(golden("qwen2-tiny-bf16")).torch_dtype, DType::BF16);
}

TEST(Config, GoldenLlama) {
  SKIP_WITHOUT_SHARED();
  const ModelConfig l = ModelConfig::load(golden("llama-tiny"));
  EXPECT_EQ(l.model_type, "llama");
  EXPECT_EQ(l.head_dim, 8);
  EXPECT_EQ(l.n_kv_heads, 4);
  EXPECT_EQ(l.rms_eps, 1e-5f);
  EXPECT_EQ(l.rope_theta, 1e4f);
  EXPECT_FALSE(l.tie_embeddings);
  EXPECT_FALSE(l.qkv_bias);
  const ModelConfig s = ModelConfig::load(golden("stories260K"));
  EXPECT_EQ(s.n_layers, 5);
  EXPECT_EQ(s.intermediate, 172);
  EXPECT_EQ(s.vocab, 512);
  EXPECT_TRUE(s.tie_embeddings);
  EXPECT_EQ(s.bos_id, 1);
  EXPECT_EQ(s.eos_ids, std::vector<int>{2});
}

TEST(Config, Qwen25AndDefaults) {
  const ModelConfig c = ModelConfig::from_json(qwen25_05b(), "q");
  EXPECT_EQ(c.hidden, 896);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.kv_dim(), 128);
  EXPECT_TRUE(c.tie_embeddings);
  EXPECT_EQ(c.torch_dtype, DType::BF16);
  EXPECT_EQ(c.eos_ids, std::vector<int>{151645});

  Json j = {{"model_type", "llama"},    {"hidden_size", 32},       {"num_hidden_layers", 1},
            {"num_attention_heads", 4}, {"intermediate_size", 8},  {"vocab_size", 10},
            {"eos_token_id", {1, 7}},   {"rope_scaling", nullptr}, {"head_dim", 16}};
  const ModelConfig d = ModelConfig::from_json(j, "d");
  EXPECT_EQ(d.n_kv_heads, 4);  // defaults to the q heads
  EXPECT_EQ(d.head_dim, 16);   // explicit head_dim wins over hidden / heads
  EXPECT_EQ(d.rope_theta, 10000.f);
  EXPECT_FALSE(d.tie_embeddings);
  EXPECT_EQ(d.bos_id, -1);
  EXPECT_EQ(d.eos_ids, (std::vector<int>{1, 7}));
  EXPECT_EQ(d.torch_dtype, DType::F32);
}

TEST(Config, RoundTripsThroughJson) {
  std::vector<Json> sources = {qwen25_05b()};
  if (std::filesystem::exists(golden("")))
    for (std::string m : {"qwen2-tiny", "llama-tiny", "stories260K", "llama-tiny-bf16"})
      sources.push_back(read_json_file(golden(m + "/config.json")));
  for (const Json& src : sources) {
    const ModelConfig a = ModelConfig::from_json(src, "a");
    const Json out = a.to_json();
    const ModelConfig b = ModelConfig::from_json(out, "b");
    EXPECT_EQ(out, b.to_json());
    EXPECT_EQ(a.rms_eps, b.rms_eps);
    EXPECT_EQ(a.rope_theta, b.rope_theta);
    EXPECT_EQ(a.eos_ids, b.eos_ids);
    EXPECT_EQ(a.tie_embeddings, b.tie_embeddings);
    EXPECT_EQ(a.qkv_bias, b.qkv_bias);
    EXPECT_EQ(a.head_dim, b.head_dim);
    EXPECT_EQ(out["rms_norm_eps"].get<double>(), src["rms_norm_eps"].get<double>());
    EXPECT_EQ(out["rope_theta"].get<double>(), src["rope_theta"].get<double>());
  }
}

TEST(Config, Errors) {
  const Json base = qwen25_05b();
  auto with = [&](const char* k, const Json& v) {
    Json j = base;
    j[k] = v;
    return j;
  };
  auto without = [&](const char* k) {
    Json j = base;
    j.erase(k);
    return j;
  };
  expect_error(with("model_type", "mistral"), "model_type \"mistral\" is not supported");
  expect_error(without("model_type"), "model_type");
  expect_error(without("hidden_size"), "missing required field hidden_size");
  expect_error(without("vocab_size"), "missing required field vocab_size");
  expect_error(with("num_hidden_layers", 0), "num_hidden_layers must be positive");
  expect_error(with("intermediate_size", -4), "intermediate_size must be positive");
  expect_error(with("hidden_size", "896"), "hidden_size must be an integer");
  expect_error(with("num_attention_heads", 13), "does not divide hidden_size");
  expect_error(with("num_key_value_heads", 4), "num_key_value_heads 4 does not divide");
  expect_error(with("rope_scaling", {{"type", "yarn"}, {"factor", 4.0}}),
               "rope_scaling {\"type\":\"yarn\",\"factor\":4.0} is not supported");
  expect_error(with("use_sliding_window", true), "use_sliding_window true is not supported");
  expect_error(with("hidden_act", "gelu"), "hidden_act \"gelu\" is not supported");
  expect_error(with("mlp_bias", true), "mlp_bias true is not supported");
  expect_error(with("torch_dtype", "float64"), "torch_dtype \"float64\" is not supported");
  expect_error(with("eos_token_id", {1, "x"}), "eos_token_id must be an integer");
  expect_error(with("rms_norm_eps", 0), "rms_norm_eps must be positive");
  expect_error(with("rope_parameters", {{"rope_type", "llama3"}}), "rope_type \"llama3\"");
  Json llama = with("model_type", "llama");
  llama["attention_bias"] = true;
  expect_error(llama, "attention_bias true is not supported");
  expect_error(Json::array(), "not a JSON object");
  try {
    ModelConfig::load("/nonexistent/dir");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/config.json"), std::string::npos);
  }
}

}  // namespace
}  // namespace lr
